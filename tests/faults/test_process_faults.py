"""A worker killed mid-write, and two runs of one partition at once: still one complete copy."""

import gzip
import os
import signal
import subprocess
import time

import polars as pl
import pytest

from lake_assets.settings import PROJECT_ROOT
from tests.conftest import GREEN_2020_10, SAMPLE_MIRROR
from tests.faults.helpers import snapshot, view_rows
from tests.helpers import conformed_files, conformed_month, load_defs, materialize, sha256

pytestmark = pytest.mark.faults

CSV = "green/green_tripdata_2020-10.csv.gz"


def dagster_materialize(env: dict, select: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(PROJECT_ROOT / ".venv/bin/dagster"), "asset", "materialize", "-m", "lake_assets.definitions",
         "--select", select, "--partition", "2020-10"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )


def write_repeated(path, times: int) -> int:
    """The real green 2020-10 rows repeated `times` times, as a gzip CSV; returns the row count."""
    rows = pl.read_csv(GREEN_2020_10, infer_schema=False)
    with gzip.open(path, "wb", compresslevel=1) as f:
        pl.concat([rows] * times).write_csv(f)
    return rows.height * times


def test_a_worker_killed_during_the_conformed_write_leaves_the_old_month_then_reruns(
    lakehouse_env, tmp_path, venv_env
):
    mirror = tmp_path / "mirror"
    (mirror / "green").mkdir(parents=True)
    (mirror / CSV).write_bytes((SAMPLE_MIRROR / CSV).read_bytes())
    lakehouse_env(mirror)
    lake, warehouse = tmp_path / "lake", tmp_path / "warehouse.duckdb"
    defs = load_defs()
    materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key="2020-10")
    materialize(defs, ["ext_green_tripdata"])
    good, view_before = conformed_files(lake), view_rows(warehouse)

    big_rows = write_repeated(mirror / CSV, 8)
    materialize(defs, ["raw_green_tripdata"], partition_key="2020-10")
    worker = dagster_materialize({**venv_env, **{k: os.environ[k] for k in ("LAKE_URL", "DUCKDB_PATH", "TLC_SOURCE_URL")}},
                                 "green_tripdata")
    deadline, killed_while_writing = time.monotonic() + 120, False
    while time.monotonic() < deadline and worker.poll() is None:
        staged = [p for p in (lake / ".tmp").glob("*") if p.stat().st_size > 0] if (lake / ".tmp").exists() else []
        if staged:
            os.killpg(worker.pid, signal.SIGKILL)
            killed_while_writing = True
            break
        time.sleep(0.005)
    worker.wait(timeout=30)
    assert killed_while_writing, worker.stdout.read()[-2000:]
    assert worker.returncode == -signal.SIGKILL
    # The half-written file sits in .tmp/, where no reader looks; the table's month is the old one.
    assert conformed_files(lake) == good
    assert view_rows(warehouse) == view_before

    materialize(defs, ["green_tripdata"], partition_key="2020-10")
    assert view_rows(warehouse) == [(2020, 10, big_rows)]


def test_two_runs_of_one_partition_at_once_leave_one_correct_copy(lakehouse_env, green_mirror, venv_env):
    lakehouse_env(green_mirror)
    lake = lakehouse_env.tmp_path / "lake"
    env = {**venv_env, **{k: os.environ[k] for k in ("LAKE_URL", "DUCKDB_PATH", "TLC_SOURCE_URL")}}
    # Create the instance's storage once, as `make run`/`make dev` do, before two processes share it.
    subprocess.run([str(PROJECT_ROOT / ".venv/bin/dagster"), "instance", "info"], env=env, cwd=PROJECT_ROOT,
                   capture_output=True, check=True, timeout=120)
    runs = [dagster_materialize(env, "raw_green_tripdata,green_tripdata") for _ in range(2)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    files = snapshot(lake)
    assert [k for k in files if k.startswith("raw")] == [
        "raw/green/green_tripdata_2020-10.csv.gz", f"raw_versions/green/2020-10/{sha256(GREEN_2020_10)}.csv.gz"]
    assert files["raw/green/green_tripdata_2020-10.csv.gz"] == sha256(GREEN_2020_10)
    assert conformed_month(lake, "green", "2020-10").height == 95_120  # one copy, not two
