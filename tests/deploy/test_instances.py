"""Each shape's instance loads with its extra installed, against the tier's PostgreSQL: a wrong class,
module or key in deploy/ fails here."""

from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster_docker import DockerRunLauncher
from dagster_k8s import K8sRunLauncher
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

from tests.deploy import topology
from tests.deploy.helm import render_instance

pytestmark = pytest.mark.deploy


@pytest.fixture
def postgres_env(postgres, monkeypatch) -> set[str]:
    """The tier's PostgreSQL in the variables the instance files read (their names: the values, the
    password among them, stay out of failure reports)."""
    values = {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(postgres.port), "DAGSTER_PG_USER": "dagster",
              "DAGSTER_PG_PASSWORD": postgres.password, "DAGSTER_PG_DB": "dagster"}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return set(values)


def load(config: dict, tmp_path: Path) -> dg.DagsterInstance:
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    return dg.DagsterInstance.from_config(str(tmp_path))


def test_the_one_host_instance_is_postgres_queued_default_launcher_with_retries_and_pools(postgres, postgres_env, tmp_path):
    with load(yaml.safe_load(topology.ONE_HOST_INSTANCE.read_text()), tmp_path) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert type(instance.run_launcher) is dg.DefaultRunLauncher
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 2
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 0
        assert instance.run_monitoring_enabled
        # It reaches the server, with the password from the environment (the tier's other tests may have run).
        assert instance.get_runs_count() == postgres.query("SELECT count(*) FROM runs")[0][0]


def test_the_docker_instance_launches_runs_in_containers_with_the_settings_they_need(postgres_env, tmp_path):
    with load(yaml.safe_load(topology.DOCKER_INSTANCE.read_text()), tmp_path) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        launcher = instance.run_launcher
        assert isinstance(launcher, DockerRunLauncher)
        assert launcher.networks == [topology.compose()["networks"]["lakehouse"]["name"]]
        volume = launcher.container_kwargs["volumes"][0].split(":")[0]
        assert volume == topology.compose()["volumes"]["data"]["name"]
        assert set(postgres_env) <= set(launcher.env_vars)
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 4
        assert instance.run_retries_enabled


def test_the_helm_values_render_an_instance_with_the_k8s_run_launcher(postgres, postgres_env, tmp_path, monkeypatch):
    values = yaml.safe_load(topology.HELM_VALUES.read_text())
    # An external PostgreSQL, as the values say: here, the tier's.
    values["postgresql"].update(postgresqlHost="127.0.0.1", service={"port": postgres.port})
    config = render_instance(values, namespace="lakehouse")
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    # The chart runs in the cluster; here, the launcher reads a kubeconfig instead (it contacts nothing).
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(KUBECONFIG))
    launcher["config"].update(load_incluster_config=False, kubeconfig_file=str(kubeconfig))
    # What the chart sets in its pods' environment.
    for name, value in {"DAGSTER_HOME": str(tmp_path), "DAGSTER_K8S_INSTANCE_CONFIG_MAP": "dagster-instance",
                        "DAGSTER_K8S_PG_PASSWORD_SECRET": "dagster-postgresql-secret",
                        "DAGSTER_K8S_PIPELINE_RUN_ENV_CONFIGMAP": "dagster-pipeline-env"}.items():
        monkeypatch.setenv(name, value)
    with load(config, tmp_path) as instance:
        assert isinstance(instance.run_launcher, K8sRunLauncher)
        assert instance.run_launcher.job_namespace == "lakehouse"
        assert instance.run_launcher.env_secrets == ["lakehouse-secrets"]
        assert instance.run_launcher.env_config_maps == ["dagster-pipeline-env", "lakehouse-settings"]
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 10
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 4
        assert instance.run_retries_enabled and instance.run_monitoring_enabled
        assert instance.get_runs_count() == postgres.query("SELECT count(*) FROM runs")[0][0]


def test_a_misspelt_key_or_a_wrong_class_fails_to_load(postgres_env, tmp_path):
    config = yaml.safe_load(topology.ONE_HOST_INSTANCE.read_text())
    config["run_retries"]["max_retry"] = config["run_retries"].pop("max_retries")
    with pytest.raises(DagsterInvalidConfigError, match="max_retry"):
        load(config, tmp_path)

    config = yaml.safe_load(topology.DOCKER_INSTANCE.read_text())
    config["run_launcher"]["class"] = "DockerRunLaunchr"
    with pytest.raises(Exception, match="DockerRunLaunchr"):
        load(config, tmp_path).run_launcher  # noqa: B018 (the launcher is built on first use)

    values = yaml.safe_load(topology.HELM_VALUES.read_text())
    values["runLauncher"]["config"]["k8sRunLauncher"]["jobNamespce"] = "lakehouse"
    with pytest.raises(ValueError, match="jobNamespce"):
        render_instance(values, namespace="lakehouse")


KUBECONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": "test",
    "clusters": [{"name": "test", "cluster": {"server": "https://127.0.0.1:1"}}],
    "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}],
    "users": [{"name": "test", "user": {"token": "not-a-token"}}],
}
