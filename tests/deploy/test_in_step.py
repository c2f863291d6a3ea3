"""deploy/docker/docker-compose.yml, the Dockerfiles, the instance and workspace files and the deploy
fixtures (which start the compose file's commands, topology.py) name the same commands, ports and
environment variables."""

import re
import tomllib

import pytest
import yaml

from lake_assets.settings import PROJECT_ROOT
from tests.deploy import topology
from tests.deploy.conftest import tier_values

pytestmark = pytest.mark.deploy

def test_the_fixtures_start_the_compose_commands_with_a_value_for_every_variable_the_compose_file_sets(tmp_path):
    values = tier_values(tmp_path, tmp_path / "mirror", 5432, "not-the-password", 4000, 3000)
    for name in topology.DAGSTER_SERVICES:
        env = topology.process_env(name, values)  # what Deployment.start gives the process (KeyError if one lacks)
        assert set(env) == topology.env_names(name) - set(topology.NOT_SET_AS_PROCESSES), name
    # What the processes here leave unset is set by the compose file (and nothing else is left unset).
    for variable in topology.NOT_SET_AS_PROCESSES:
        assert any(variable in topology.env_names(name) for name in topology.DAGSTER_SERVICES), variable
    assert topology.env_value("webserver", "DAGSTER_WEBSERVER_HOST") == "0.0.0.0"  # inside its container only


def test_the_code_server_command_is_the_code_image_cmd_and_its_port_is_exposed_and_in_the_workspace():
    code = topology.dockerfile("code_server")
    assert topology.command("code_server") == code["CMD"]
    assert topology.command("code_server")[:3] == ["dagster", "api", "grpc"]
    port = int(topology.env_value("code_server", "DAGSTER_GRPC_PORT"))
    assert code["EXPOSE"] == [port]
    for name in ("webserver", "daemon"):
        assert int(topology.env_value(name, "LAKEHOUSE_CODE_SERVER_PORT")) == port
        assert topology.env_value(name, "LAKEHOUSE_CODE_SERVER_HOST") == "code_server"  # the service's name
    assert topology.env_value("code_server", "DAGSTER_CURRENT_IMAGE") == topology.service("code_server")["image"]
    # Both images set DAGSTER_HOME (the fixtures give it to every process) to the same folder.
    assert code["ENV"]["DAGSTER_HOME"] == topology.dockerfile("webserver")["ENV"]["DAGSTER_HOME"]


def test_the_webserver_and_daemon_run_from_dagster_home_with_the_workspace_and_instance_of_the_docker_shape():
    image = topology.dockerfile("webserver")
    assert image["WORKDIR"] == image["ENV"]["DAGSTER_HOME"]
    copied = [c for c in image["COPY"] if c[-1].rstrip("/") == image["ENV"]["DAGSTER_HOME"]]
    assert copied and set(copied[0][:-1]) == {"deploy/docker/dagster.yaml", "deploy/workspace.yaml"}
    assert topology.command("webserver") == ["dagster-webserver", "-w", "workspace.yaml"]
    assert topology.command("daemon") == ["dagster-daemon", "run", "-w", "workspace.yaml"]
    assert topology.service("daemon")["image"] == topology.service("webserver")["image"]  # one image for both
    port = int(topology.env_value("webserver", "DAGSTER_WEBSERVER_PORT"))
    assert image["EXPOSE"] == [port]
    # Published on the host's loopback only.
    assert topology.service("webserver")["ports"] == [f"127.0.0.1:{port}:{port}"]


def test_every_variable_the_instance_and_workspace_files_read_is_set_where_they_are_read():
    instance_vars = topology.instance_env_names(topology.DOCKER_INSTANCE)
    assert instance_vars == topology.instance_env_names(topology.ONE_HOST_INSTANCE)
    workspace_vars = topology.instance_env_names(topology.WORKSPACE)
    for name in topology.DAGSTER_SERVICES:
        assert instance_vars <= topology.env_names(name), name
    for name in ("webserver", "daemon"):
        assert workspace_vars <= topology.env_names(name), name
    # DockerRunLauncher copies these from the daemon's environment into each run container: the run
    # container needs what the code server has (its image is the code server's).
    launcher = yaml.safe_load(topology.DOCKER_INSTANCE.read_text())["run_launcher"]["config"]
    code_settings = topology.env_names("code_server") - {"DAGSTER_GRPC_HOST", "DAGSTER_GRPC_PORT", "DAGSTER_CURRENT_IMAGE"}
    assert set(launcher["env_vars"]) == code_settings
    assert set(launcher["env_vars"]) <= topology.env_names("daemon")
    assert launcher["network"] == topology.compose()["networks"]["lakehouse"]["name"]


def test_no_secret_is_written_in_the_compose_file_or_the_instance_files():
    for name, service in topology.compose()["services"].items():
        for variable, value in (service.get("environment") or {}).items():
            if re.search("PASSWORD|TOKEN|SECRET|KEY", variable):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", str(value)), f"{name}: {variable} must come from the environment"
    for path in (topology.ONE_HOST_INSTANCE, topology.DOCKER_INSTANCE):
        postgres_db = yaml.safe_load(path.read_text())["storage"]["postgres"]["postgres_db"]
        assert postgres_db["password"] == {"env": "DAGSTER_PG_PASSWORD"}
    values = yaml.safe_load(topology.HELM_VALUES.read_text())
    assert values["postgresql"]["postgresqlPassword"] == "" and values["generatePostgresqlPasswordSecret"] is False


def test_the_images_install_the_versions_the_project_pins():
    pins = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    pinned = set(pins["dependencies"]) | set(pins["optional-dependencies"]["deploy"])
    dagster_image = topology.DOCKERFILES["webserver"].read_text()
    for package in ("dagster", "dagster-webserver", "dagster-postgres", "dagster-docker"):
        (pin,) = [p for p in pinned if re.match(rf"{package}==", p)]
        assert f'"{pin}"' in dagster_image, pin
    # The code image: the project with its deploy extra, not editable, at the versions of requirements.lock.
    code_image = topology.dockerfile("code_server")
    assert ["requirements.lock", "./"] in code_image["COPY"]
    assert "pip install --no-cache-dir -c requirements.lock '/tmp/build[deploy]'" in \
        topology.DOCKERFILES["code_server"].read_text()
    assert " -e " not in topology.DOCKERFILES["code_server"].read_text()
    assert code_image["ENV"]["LAKEHOUSE_PROJECT_ROOT"] == code_image["WORKDIR"]
