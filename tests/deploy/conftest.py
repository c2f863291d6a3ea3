"""The deploy tier: a real PostgreSQL (Debian's server, a throwaway cluster with password auth on
127.0.0.1) and the one-host deployment on it: the code server, the webserver and the daemon, started
with the commands and environment variable names of deploy/docker/docker-compose.yml (topology.py).
One PostgreSQL and one set of processes for the tier (package scope)."""

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pytest

from lake_assets.settings import PROJECT_ROOT
from tests.conftest import SAMPLE_MIRROR, mirror_template
from tests.deploy import topology
from tests.helpers import graphql, wait_for
from tests.processes import answers, free_port, start_server, watch_session

STARTUP_SECONDS = 180
PG_USER = PG_DB = "dagster"
LOCATION = {"repositoryLocationName": "lake_assets", "repositoryName": "__repository__"}


def postgres_bin() -> Path:
    """The newest PostgreSQL server Debian's `postgresql` package installed (make system-deps)."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    if not versions:
        pytest.fail("no PostgreSQL server in /usr/lib/postgresql: run `make system-deps` (apt-get install postgresql)")
    return versions[-1].parent


class Postgres:
    """A cluster in a folder of its own, owned by the `postgres` user when the tests run as root (the
    server refuses to run as root). Password auth (scram-sha-256) with a password made per session."""

    def __init__(self, root: Path):
        self.root, self.data, self.log = root, root / "data", root / "postgres.log"
        self.bin = postgres_bin()
        self.port = free_port()
        self.password = secrets.token_urlsafe(24)
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def pg(self, program: str, *args: str) -> None:
        subprocess.run([*self.as_owner, str(self.bin / program), *args], check=True, capture_output=True,
                       text=True, timeout=120, cwd=self.root)

    def init(self) -> None:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.as_owner:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        try:
            self.pg("initdb", "-D", str(self.data), "-U", PG_USER, "--auth=scram-sha-256", f"--pwfile={pwfile}",
                    "-E", "UTF8", "--no-sync")
        finally:
            pwfile.unlink()
        self.start()
        conn = psycopg2.connect(**self.dsn("postgres"))
        conn.autocommit = True  # CREATE DATABASE runs outside a transaction
        try:
            conn.cursor().execute(f"CREATE DATABASE {PG_DB}")
        finally:
            conn.close()

    def start(self) -> None:
        self.pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1", "start")
        self.watch()

    def restart(self) -> None:
        # -l as at start: without it the server writes to pg_ctl's stdout, which would never close.
        self.pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-m", "fast", "restart")
        self.watch()

    def watch(self) -> None:
        """pg_ctl starts the postmaster in a session of its own and exits: a watchdog ends that
        session if pytest dies before `stop` (postmaster.pid's first line is its PID)."""
        watch_session(int((self.data / "postmaster.pid").read_text().split()[0]))

    def stop(self) -> None:
        self.pg("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-m", "fast", "stop")

    def dsn(self, db: str = PG_DB) -> dict:
        return {"host": "127.0.0.1", "port": self.port, "user": PG_USER, "password": self.password, "dbname": db}

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with psycopg2.connect(**self.dsn()) as conn, conn.cursor() as cur:
            cur.execute(sql, args)
            rows = cur.fetchall()
        conn.close()
        return rows


@pytest.fixture(scope="package")
def postgres():
    # Not under pytest's tmp folder: that is private to root, and the server runs as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="lakehouse-pg-"))
    pg = Postgres(root)
    try:
        pg.init()
        yield pg
    finally:
        try:
            pg.stop()
        except subprocess.SubprocessError:
            pass
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Deployment:
    """The one-host deployment: processes started by name with the compose file's commands."""

    root: Path
    home: Path
    lake: Path
    mirror: Path
    postgres: Postgres
    values: dict[str, str] = field(repr=False)  # holds the password: kept out of failure reports
    web_port: int = 0
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    # Process groups of processes killed alone, whose children (run workers) may still be running.
    left_groups: set[int] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def log(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def env(self, name: str) -> dict[str, str]:
        base = {
            "PATH": os.pathsep.join([str(PROJECT_ROOT / ".venv/bin"), os.environ.get("PATH", "")]),
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "DAGSTER_HOME": str(self.home),  # ENV of both Dockerfiles
        }
        # Settings the tier adds for the sensors (not part of the compose file): a short interval.
        tier_only = ({"TLC_SENSOR_INTERVAL_SECONDS": "5", "AUTOMATION_INTERVAL_SECONDS": "5", "DBT_MONTHS_PER_RUN": str(MONTHS_PER_RUN)}
                     if name == "code_server" else {})
        return {**base, **topology.process_env(name, self.values), **tier_only}

    def run(self, cmd: list[str], name: str) -> None:
        """Runs a one-off command in service `name`'s environment and folder."""
        __tracebackhide__ = True  # its arguments hold the environment, with the password
        result = subprocess.run(cmd, cwd=self.home, env=self.env(name), capture_output=True, text=True,
                                timeout=120, check=False)
        if result.returncode:
            raise AssertionError(f"{' '.join(cmd)} failed:\n{result.stderr[-3000:]}")

    def start(self, name: str) -> None:
        # The Dockerfiles' WORKDIR: the project for the code server, DAGSTER_HOME for the others.
        cwd = PROJECT_ROOT if name == "code_server" else self.home
        self.log(name).parent.mkdir(exist_ok=True)
        with open(self.log(name), "a") as out:
            out.write(f"\n=== start {name}: {' '.join(topology.command(name))}\n")
            out.flush()
            self.processes[name] = start_server(topology.command(name), cwd=cwd, env=self.env(name),
                                                stdout=out, stderr=subprocess.STDOUT)
        if name == "code_server":
            self.wait_for("the code server", self.code_server_serves, timeout=STARTUP_SECONDS)
        elif name == "webserver":
            self.wait_for("the webserver", lambda: answers(f"{self.url}/server_info"), timeout=STARTUP_SECONDS)
            self.wait_for("the code location in the webserver", self.location_loaded, timeout=STARTUP_SECONDS)

    def kill(self, name: str, sig: int = signal.SIGKILL, group: bool = True) -> None:
        process = self.processes.pop(name)
        if group:
            os.killpg(process.pid, sig)
        else:
            os.kill(process.pid, sig)
            self.left_groups.add(process.pid)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)

    def stop_all(self) -> None:
        for name in list(self.processes)[::-1]:
            self.kill(name, signal.SIGTERM)
        for group in self.left_groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)

    def code_server_serves(self) -> bool:
        result = subprocess.run(["dagster", "api", "grpc-health-check", "--host", "127.0.0.1",
                                 "-p", self.values["DAGSTER_GRPC_PORT"]],
                                check=False, env=self.env("webserver"), capture_output=True, timeout=60)
        return result.returncode == 0

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        return graphql(self.url, query, variables)

    def location_loaded(self) -> bool:
        data = self.graphql("{ workspaceOrError { ... on Workspace { locationEntries { loadStatus "
                            "locationOrLoadError { __typename ... on PythonError { message } } } } } }")
        entries = data["workspaceOrError"]["locationEntries"]
        return bool(entries) and all(e["loadStatus"] == "LOADED" and e["locationOrLoadError"]
                                     and e["locationOrLoadError"]["__typename"] == "RepositoryLocation"
                                     for e in entries)

    def set_sensor(self, sensor: str, running: bool) -> None:
        selector = {**LOCATION, "sensorName": sensor}
        data = self.graphql("""query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
                                 ... on Sensor { id sensorState { id status } } } }""", {"s": selector})
        state = data["sensorOrError"]["sensorState"]
        if (state["status"] == "RUNNING") == running:
            return
        if running:
            result = self.graphql("""mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) {
                                       __typename ... on PythonError { message } } }""", {"s": selector})
            assert result["startSensor"]["__typename"] == "Sensor", result
        else:
            result = self.graphql("""mutation($id: String!) { stopSensor(id: $id) {
                                       __typename ... on PythonError { message } } }""", {"id": data["sensorOrError"]["id"]})
            assert result["stopSensor"]["__typename"] == "StopSensorMutationResult", result

    def wait_for(self, what: str, predicate, timeout: float = 300, every: float = 2) -> None:
        wait_for(what, predicate, timeout, every, lambda: "\n".join(
            f"--- {p.name}\n{p.read_text()[-2500:]}" for p in sorted((self.root / "logs").glob("*.log"))))


# The month the sensor finds at the start; the months the schedule and the backfills take come later.
SENSOR_MONTH = "2020-10"
SCHEDULE_MONTH = "2023-12"


@pytest.fixture(scope="package")
def deployment(tmp_path_factory, postgres):
    root = tmp_path_factory.mktemp("deploy")
    # A file:// mirror made from the repo's sample files: the sample green 2020-10 only, at first
    # (the tests add the schedule's month and the backfills' months, copies of sample months, later).
    mirror = root / "mirror"
    (mirror / "green").mkdir(parents=True)
    shutil.copyfile(SAMPLE_MIRROR / f"green/green_tripdata_{SENSOR_MONTH}.csv.gz",
                    mirror / f"green/green_tripdata_{SENSOR_MONTH}.csv.gz")

    # DAGSTER_HOME as Dockerfile.dagster lays it out: the instance file and the workspace file.
    home = root / "dagster_home"
    home.mkdir()
    shutil.copyfile(topology.ONE_HOST_INSTANCE, home / "dagster.yaml")
    shutil.copyfile(topology.WORKSPACE, home / "workspace.yaml")

    web_port = free_port()
    values = tier_values(root, mirror, postgres.port, postgres.password, free_port(), web_port)
    dep = Deployment(root, home, root / "lake", mirror, postgres, values, web_port)
    try:
        # Once per instance, as docs/deploying.md says (it also creates the schema in PostgreSQL).
        dep.run(["dagster", "instance", "concurrency", "set", "tlc_download", "2"], "daemon")
        for name in topology.DAGSTER_SERVICES:
            dep.start(name)
        yield dep
    finally:
        dep.stop_all()


# Months per dbt run in this tier: fewer than the default, so a backfill of six months is two runs.
MONTHS_PER_RUN = 4


def tier_values(root: Path, mirror: Path, pg_port: int, pg_password: str, code_port: int, web_port: int) -> dict:
    """The value of each variable the compose file sets, for the processes here (topology.process_env)."""
    return {
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": str(pg_port),
        "DAGSTER_PG_USER": PG_USER,
        "DAGSTER_PG_PASSWORD": pg_password,
        "DAGSTER_PG_DB": PG_DB,
        "LAKEHOUSE_TARGET": "local",
        "LAKE_URL": str(root / "lake"),
        "DUCKDB_PATH": str(root / "warehouse.duckdb"),
        "TLC_SOURCE_URL": mirror_template(mirror),
        "TLC_PUBLICATION_LAG_MONTHS": str(publication_lag_for(SCHEDULE_MONTH)),
        "TLC_RUN_RETRIES": "2",
        "DAGSTER_GRPC_HOST": "127.0.0.1",
        "DAGSTER_GRPC_PORT": str(code_port),
        "LAKEHOUSE_CODE_SERVER_HOST": "127.0.0.1",
        "LAKEHOUSE_CODE_SERVER_PORT": str(code_port),
        "DAGSTER_WEBSERVER_PORT": str(web_port),
    }


def latest_schedule_tick():
    """The latest tick of the monthly schedules (the 15th, 06:00 America/New_York) before now."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    now = datetime.now(ZoneInfo("America/New_York"))
    tick = now.replace(day=15, hour=6, minute=0, second=0, microsecond=0)
    if tick > now:
        year, month = (tick.year, tick.month - 1) if tick.month > 1 else (tick.year - 1, 12)
        tick = tick.replace(year=year, month=month)
    return tick


def publication_lag_for(month: str) -> int:
    """The lag that makes the latest schedule tick ask for `month`."""
    tick = latest_schedule_tick()
    year, mon = map(int, month.split("-"))
    return (tick.year - year) * 12 + tick.month - mon
