"""The Dagster instance that Dagster's Helm chart renders (templates/configmap-instance.yaml and
helpers/instance/*.tpl) from deploy/kubernetes/values.yaml, for the sections those values set, so that
a test can load it with dagster-k8s. No Helm binary runs here; a key the chart does not know in a
section rendered here is an error, as the chart's values schema makes it one."""

from typing import Any

# The chart's values schema (helm/dagster/schema) for the sections rendered here.
CHART_KEYS = {
    "": {"global", "nameOverride", "fullnameOverride", "rbacEnabled", "imagePullSecrets", "dagsterWebserver",
         "computeLogManager", "pythonLogs", "dagster-user-deployments", "scheduler", "runLauncher", "postgresql",
         "generatePostgresqlPasswordSecret", "generateCeleryConfigSecret", "rabbitmq", "redis", "flower", "ingress",
         "dagsterDaemon", "busybox", "extraManifests", "migrate", "telemetry", "serviceAccount", "retention",
         "additionalInstanceConfig", "concurrency"},
    "dagster-user-deployments": {"enabled", "enableSubchart", "imagePullSecrets", "deployments"},
    "deployment": {"name", "image", "port", "dagsterApiGrpcArgs", "codeServerArgs", "includeConfigInLaunchedRuns",
                   "env", "envConfigMaps", "envSecrets", "annotations", "nodeSelector", "affinity", "tolerations",
                   "podSecurityContext", "securityContext", "resources", "livenessProbe", "readinessProbe",
                   "startupProbe", "labels", "volumeMounts", "volumes", "schedulerName", "service"},
    "k8sRunLauncher": {"image", "imagePullPolicy", "jobNamespace", "loadInclusterConfig", "kubeconfigFile",
                       "envConfigMaps", "envSecrets", "envVars", "volumeMounts", "volumes", "labels",
                       "failPodOnRunFailure", "resources", "schedulerName", "securityContext", "runK8sConfig"},
    "postgresql": {"postgresqlScheme", "image", "enabled", "postgresqlHost", "postgresqlUsername",
                   "postgresqlPassword", "postgresqlDatabase", "postgresqlParams", "service"},
    "queuedRunCoordinator": {"maxConcurrentRuns", "tagConcurrencyLimits", "dequeueIntervalSeconds",
                             "dequeueNumWorkers", "dequeueUseThreads", "blockOpConcurrencyLimitedRuns"},
    "runMonitoring": {"enabled", "startTimeoutSeconds", "cancelTimeoutSeconds", "maxResumeRunAttempts",
                      "pollIntervalSeconds", "freeSlotsAfterRunEndSeconds"},
    "runRetries": {"enabled", "maxRetries"},
}


def _known(section: str, values: dict) -> dict:
    unknown = set(values) - CHART_KEYS[section]
    if unknown:
        raise ValueError(f"deploy/kubernetes/values.yaml: {section or 'top level'}: keys the chart does not know: "
                         f"{sorted(unknown)}")
    return values


def _names(refs: list[dict]) -> list[str]:
    return [ref["name"] for ref in refs or [] if "name" in ref]


def render_instance(values: dict, namespace: str, release: str = "dagster") -> dict[str, Any]:
    _known("", values)
    _known("dagster-user-deployments", values.get("dagster-user-deployments", {}))
    for deployment in values.get("dagster-user-deployments", {}).get("deployments", []):
        _known("deployment", deployment)

    pg = _known("postgresql", values["postgresql"])
    postgres_db = {
        "username": pg["postgresqlUsername"],
        "password": {"env": "DAGSTER_PG_PASSWORD"},  # from global.postgresqlSecretName
        "hostname": pg["postgresqlHost"] if not pg["enabled"] else f"{release}-postgresql",
        "db_name": pg["postgresqlDatabase"],
        "port": pg["service"]["port"],
        "params": pg.get("postgresqlParams") or {},
    }
    if pg.get("postgresqlScheme"):
        postgres_db["scheme"] = pg["postgresqlScheme"]
    storage = {"config": {"postgres_db": postgres_db}}

    launcher_values = values["runLauncher"]
    if launcher_values["type"] != "K8sRunLauncher":
        raise ValueError(f"runLauncher.type is {launcher_values['type']!r}: this deployment uses K8sRunLauncher")
    k8s = _known("k8sRunLauncher", launcher_values["config"]["k8sRunLauncher"])
    launcher = {
        "load_incluster_config": k8s["loadInclusterConfig"],
        "job_namespace": k8s.get("jobNamespace") or namespace,
        "image_pull_policy": k8s["imagePullPolicy"],
        "service_account_name": release,
        "dagster_home": {"env": "DAGSTER_HOME"},
        "instance_config_map": {"env": "DAGSTER_K8S_INSTANCE_CONFIG_MAP"},
        "postgres_password_secret": {"env": "DAGSTER_K8S_PG_PASSWORD_SECRET"},
        "env_config_maps": [{"env": "DAGSTER_K8S_PIPELINE_RUN_ENV_CONFIGMAP"}, *_names(k8s.get("envConfigMaps"))],
    }
    if k8s.get("kubeconfigFile"):
        launcher["kubeconfig_file"] = k8s["kubeconfigFile"]
    for key, name in (("envSecrets", "env_secrets"),):
        if k8s.get(key):
            launcher[name] = _names(k8s[key])
    for key, name in (("envVars", "env_vars"), ("volumeMounts", "volume_mounts"), ("volumes", "volumes"),
                      ("labels", "labels"), ("resources", "resources"), ("runK8sConfig", "run_k8s_config")):
        if k8s.get(key):
            launcher[name] = k8s[key]
    if "failPodOnRunFailure" in k8s:
        launcher["fail_pod_on_run_failure"] = k8s["failPodOnRunFailure"]

    instance: dict[str, Any] = {
        "scheduler": {"module": "dagster._core.scheduler", "class": "DagsterDaemonScheduler"},
        "run_storage": {"module": "dagster_postgres.run_storage", "class": "PostgresRunStorage", **storage},
        "event_log_storage": {"module": "dagster_postgres.event_log", "class": "PostgresEventLogStorage", **storage},
        "schedule_storage": {"module": "dagster_postgres.schedule_storage", "class": "PostgresScheduleStorage",
                             **storage},
        "run_launcher": {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": launcher},
        "telemetry": {"enabled": values.get("telemetry", {}).get("enabled", True)},
    }

    daemon = values.get("dagsterDaemon", {})
    coordinator = daemon.get("runCoordinator", {})
    if coordinator.get("enabled"):
        if coordinator["type"] != "QueuedRunCoordinator":
            raise ValueError(f"dagsterDaemon.runCoordinator.type is {coordinator['type']!r}")
        queued = _known("queuedRunCoordinator", coordinator["config"]["queuedRunCoordinator"])
        config = {}
        for key, name in (("maxConcurrentRuns", "max_concurrent_runs"), ("dequeueIntervalSeconds", "dequeue_interval_seconds"),
                          ("dequeueUseThreads", "dequeue_use_threads"), ("dequeueNumWorkers", "dequeue_num_workers")):
            if queued.get(key) is not None:
                config[name] = queued[key]
        if queued.get("tagConcurrencyLimits"):
            config["tag_concurrency_limits"] = queued["tagConcurrencyLimits"]
        instance["run_coordinator"] = {"module": "dagster._core.run_coordinator", "class": "QueuedRunCoordinator",
                                       **({"config": config} if config else {})}
    monitoring = _known("runMonitoring", daemon.get("runMonitoring", {}))
    if monitoring.get("enabled"):
        instance["run_monitoring"] = {"enabled": True}
        for key, name in (("startTimeoutSeconds", "start_timeout_seconds"), ("cancelTimeoutSeconds", "cancel_timeout_seconds"),
                          ("maxResumeRunAttempts", "max_resume_run_attempts"), ("pollIntervalSeconds", "poll_interval_seconds"),
                          ("freeSlotsAfterRunEndSeconds", "free_slots_after_run_end_seconds")):
            if monitoring.get(key) is not None:
                instance["run_monitoring"][name] = monitoring[key]
    retries = _known("runRetries", daemon.get("runRetries", {}))
    if retries.get("enabled"):
        instance["run_retries"] = {"enabled": True, **({"max_retries": retries["maxRetries"]} if retries.get("maxRetries") else {})}

    instance.update(values.get("additionalInstanceConfig") or {})
    return instance
