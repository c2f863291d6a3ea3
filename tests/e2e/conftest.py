"""`dagster dev` (webserver, daemon, code server) on 127.0.0.1 over a temp lakehouse, fed by a TLC
mirror served over HTTP on 127.0.0.1. One instance for the tier: it takes ~25 s to start."""

import os
import shutil
import subprocess
import threading
from datetime import datetime
from pathlib import Path

import pytest

from lake_assets.settings import PROJECT_ROOT
from tests.conftest import SAMPLE_MIRROR
from tests.faults.conftest import FaultySource
from tests.helpers import graphql, wait_for
from tests.processes import answers, free_port, start_server, stop

STARTUP_SECONDS = 180


class DagsterDev:
    def __init__(self, url: str, root: Path, mirror: Path, source: FaultySource, log: Path):
        self.url, self.root, self.mirror, self.source, self.log = url, root, mirror, source, log
        self.lake = root / "lake"
        self.duckdb = root / "warehouse.duckdb"

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        return graphql(self.url, query, variables)

    def materialized_partitions(self, asset: str) -> set[str]:
        data = self.graphql(
            """query($key: AssetKeyInput!) { assetOrError(assetKey: $key) {
                 ... on Asset { assetMaterializations(limit: 200) { partition } } } }""",
            {"key": {"path": [asset]}},
        )
        return {m["partition"] for m in data["assetOrError"].get("assetMaterializations", []) if m["partition"]}

    def runs(self, job: str, partition: str) -> list[dict]:
        """The runs of `job` for `partition`, oldest first, with their status and tags."""
        data = self.graphql(
            """query($filter: RunsFilter) { runsOrError(filter: $filter) {
                 ... on Runs { results { runId status tags { key value } } } } }""",
            {"filter": {"pipelineName": job, "tags": [{"key": "dagster/partition", "value": partition}]}},
        )
        return [{"id": r["runId"], "status": r["status"], "tags": {t["key"]: t["value"] for t in r["tags"]}}
                for r in reversed(data["runsOrError"]["results"])]

    def wait_for(self, what: str, predicate, timeout: float = 420) -> None:
        wait_for(what, predicate, timeout, 3, lambda: f"log: {self.log}\n" + self.log.read_text()[-4000:])


# Package scope (tests/e2e has an __init__.py for it): one dagster dev for the e2e tests, stopped after the
# last of them, so its sensors, ticking every 5 s, do not load the machine through the other tiers.
@pytest.fixture(scope="package")
def dagster_dev(tmp_path_factory, shared_tlc):
    root = tmp_path_factory.mktemp("e2e")
    mirror = root / "mirror"
    (mirror / "green").mkdir(parents=True)
    shutil.copyfile(SAMPLE_MIRROR / "green/green_tripdata_2020-10.csv.gz", mirror / "green/green_tripdata_2020-10.csv.gz")
    source = FaultySource(mirror)
    threading.Thread(target=source.serve_forever, daemon=True).start()

    home = root / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    now = datetime.now()
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(PROJECT_ROOT / ".venv/bin"), os.environ.get("PATH", "")]),
        "DAGSTER_HOME": str(home),
        "LAKE_URL": str(root / "lake"),
        "DUCKDB_PATH": str(root / "warehouse.duckdb"),
        "TLC_SOURCE_URL": source.url + "/{service}/{service}_tripdata_{year}-{month}.{ext}",
        # The sensor probes 2020-10 .. 2024-01 every 5 s: the mirror's months, in a short window.
        "TLC_SENSOR_FIRST_MONTH": "2020-10",
        "TLC_PUBLICATION_LAG_MONTHS": str((now.year - 2024) * 12 + now.month - 1),
        "TLC_SENSOR_INTERVAL_SECONDS": "5", "AUTOMATION_INTERVAL_SECONDS": "5",
    }
    subprocess.run(["dagster", "instance", "concurrency", "set", "tlc_download", "2"], env=env, cwd=PROJECT_ROOT,
                   check=True, capture_output=True, timeout=120)
    port = free_port()
    log = root / "dagster_dev.log"
    with open(log, "w") as out:
        process = start_server(["dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                               cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    dev = DagsterDev(f"http://127.0.0.1:{port}", root, mirror, source, log)
    dev.publication_lag_months = int(env["TLC_PUBLICATION_LAG_MONTHS"])
    try:
        dev.wait_for("the webserver", lambda: answers(f"{dev.url}/server_info"), timeout=STARTUP_SECONDS)
        dev.wait_for("the code location", lambda: _location_loaded(dev), timeout=STARTUP_SECONDS)
        yield dev
    finally:
        stop(process, timeout=20)  # dagster dev has been seen not to exit within 15 s of SIGTERM
        source.shutdown()
        source.server_close()


def _location_loaded(dev: DagsterDev) -> bool:
    data = dev.graphql("{ workspaceOrError { ... on Workspace { locationEntries { loadStatus "
                       "locationOrLoadError { __typename ... on PythonError { message } } } } } }")
    entries = data["workspaceOrError"]["locationEntries"]
    errors = [e["locationOrLoadError"] for e in entries if e["locationOrLoadError"]["__typename"] == "PythonError"]
    assert not errors, errors
    return bool(entries) and all(e["loadStatus"] == "LOADED" and e["locationOrLoadError"] for e in entries)
