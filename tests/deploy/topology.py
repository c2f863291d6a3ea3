"""The deployed topology as deploy/docker/docker-compose.yml names it: the command, working folder and
environment variable names of each service. The deploy fixtures start these very commands as
processes, and test_in_step.py checks the compose file, the Dockerfiles and the instance files agree."""

import re
from pathlib import Path

import yaml

from lake_assets.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "docker" / "docker-compose.yml"
DOCKERFILES = {"code_server": DEPLOY / "docker" / "Dockerfile.code",
               "webserver": DEPLOY / "docker" / "Dockerfile.dagster",
               "daemon": DEPLOY / "docker" / "Dockerfile.dagster"}
ONE_HOST_INSTANCE = DEPLOY / "one-host" / "dagster.yaml"
DOCKER_INSTANCE = DEPLOY / "docker" / "dagster.yaml"
WORKSPACE = DEPLOY / "workspace.yaml"
HELM_VALUES = DEPLOY / "kubernetes" / "values.yaml"

# The Dagster services (postgres is started by the fixture from Debian's server, not by a command).
DAGSTER_SERVICES = ("code_server", "webserver", "daemon")

# Variables the compose file sets that the processes here leave unset, and why.
NOT_SET_AS_PROCESSES = {
    "DAGSTER_CURRENT_IMAGE": "no image: runs are processes of the code server (DefaultRunLauncher)",
    "DAGSTER_WEBSERVER_HOST": "left to the webserver's default, 127.0.0.1 (in its container compose binds 0.0.0.0)",
}


def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def service(name: str) -> dict:
    return compose()["services"][name]


def command(name: str) -> list[str]:
    """The service's command: compose's `command`, else the CMD of its Dockerfile."""
    return list(service(name).get("command") or dockerfile(name)["CMD"])


def env_names(name: str) -> set[str]:
    return set(service(name).get("environment") or {})


def env_value(name: str, variable: str) -> str:
    return str(service(name)["environment"][variable])


def dockerfile(name: str) -> dict[str, object]:
    """The instructions of the service's Dockerfile that the processes mirror: CMD (a JSON list),
    WORKDIR, EXPOSE (ports) and ENV (names -> values), with $VAR expanded from earlier ENV lines."""
    found: dict[str, object] = {"EXPOSE": [], "ENV": {}, "COPY": []}
    text = re.sub(r"\\\n", " ", DOCKERFILES[name].read_text())
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        rest = re.sub(r"\$(\w+)", lambda m: found["ENV"].get(m.group(1), m.group(0)), rest.strip())
        if instruction == "CMD":
            found["CMD"] = yaml.safe_load(rest)  # the exec form is a JSON list
        elif instruction == "EXPOSE":
            found["EXPOSE"] += [int(p) for p in rest.split()]
        elif instruction == "ENV":
            key, _, value = rest.partition("=")
            found["ENV"][key] = value
        elif instruction == "WORKDIR":
            found["WORKDIR"] = rest
        elif instruction == "COPY":
            found["COPY"].append(rest.split())
    return found


def instance_env_names(path: Path) -> set[str]:
    """The variables an instance or workspace file reads with `{env: NAME}`."""
    names: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            if set(node) == {"env"}:
                names.add(node["env"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(path.read_text()))
    return names


def process_env(name: str, values: dict[str, str]) -> dict[str, str]:
    """The environment of service `name` run as a process: every variable the compose file names for
    it, with the value the tier gives (a KeyError when the tier has no value for a new variable)."""
    return {var: values[var] for var in sorted(env_names(name)) if var not in NOT_SET_AS_PROCESSES}
