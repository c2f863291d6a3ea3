"""One DuckDB warehouse, several users at once: runs, `make dbt` and queries wait their turn.

Every holder here is a real process: a python process with the file open, a Dagster run started
with the `dagster` CLI, dbt through lake_assets.warehouse_cli (what `make dbt` runs).
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lake_assets.dbt_runs import dbt_lock_failure
from lake_assets.settings import PROJECT_ROOT
from tests.faults.helpers import view_rows
from tests.helpers import (
    conformed_month,
    holding_the_warehouse,
    load_defs,
    materialize,
    monthly_keys,
    query,
    step_errors,
    unpartitioned_keys,
)

pytestmark = pytest.mark.faults

# On PYTHONPATH as sitecustomize: the first `dbt build` waits, before it opens the warehouse, until
# the test has let another process take the file, as if that process had come in just after the
# project's wait for DuckDB's lock and before dbt's own connection.
STALL_FIRST_DBT_BUILD = """
import os, sys, time
from pathlib import Path
signals = Path(os.environ["DBT_STALL_DIR"])
if Path(sys.argv[0]).name == "dbt" and "build" in sys.argv and not (signals / "stalled").exists():
    (signals / "stalled").touch()
    print("dbt build stalled before it connects", flush=True)
    while not (signals / "go").exists():
        time.sleep(0.05)
"""
WAREHOUSE_CLI = [sys.executable, "-m", "lake_assets.warehouse_cli"]
GREEN = ["raw_green_tripdata", "green_tripdata"]


class Watched:
    """A process whose output (stdout and stderr) is read as it comes, so that a test can wait
    for a line while the process goes on."""

    def __init__(self, command: list[str], env: dict):
        self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines: list[str] = []
        self.ended = False
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def wait_for(self, pattern: str) -> str:
        """The first output line matching pattern; fails if the process ends without one."""
        regex = re.compile(pattern)
        with self.changed:
            while True:
                found = next((line for line in self.lines if regex.search(line)), None)
                if found:
                    return found
                if self.ended:
                    pytest.fail(f"no line matching {pattern!r} in:\n{''.join(self.lines)[-4000:]}")
                self.changed.wait()

    def finish(self) -> tuple[int, str]:
        returncode = self.process.wait(timeout=600)
        self.reader.join()
        return returncode, "".join(self.lines)


@pytest.fixture
def watch():
    started: list[Watched] = []

    def start(command: list[str], env: dict) -> Watched:
        started.append(Watched(command, env))
        return started[-1]

    yield start
    for watched in started:  # a failed test leaves nothing running
        if watched.process.poll() is None:
            os.killpg(watched.process.pid, signal.SIGKILL)
            watched.process.wait()


@pytest.fixture
def env(lakehouse_env, venv_env, tmp_path, monkeypatch) -> dict:
    """The settings for the processes a test starts; dbt's artifacts kept out of the repo."""
    monkeypatch.setenv("DUCKDB_LOCK_RETRY_DELAY_SECONDS", "0.2")
    names = ("LAKE_URL", "DUCKDB_PATH", "TLC_SOURCE_URL", "DUCKDB_LOCK_RETRY_DELAY_SECONDS")
    return {**venv_env, **{name: os.environ[name] for name in names},
            "DBT_TARGET_PATH": str(tmp_path / "dbt_target"), "DBT_LOG_PATH": str(tmp_path / "dbt_logs")}


def dagster_materialize(select: str, partition: str | None = None) -> list[str]:
    return [str(PROJECT_ROOT / ".venv/bin/dagster"), "asset", "materialize", "-m", "lake_assets.definitions",
            "--select", select, *(["--partition", partition] if partition else [])]


def conformed_rows(tmp_path: Path, month: str = "2020-10") -> int:
    return conformed_month(tmp_path / "lake", "green", month).height


def fact_trips_by_month(db: Path) -> list[tuple]:
    return query(db, "select source_month, count(*), count(distinct trip_id) from core.fact_trips group by 1 order by 1")


def trips_with_known_zones_by_month(db: Path) -> list[tuple]:
    """What fact_trips holds by its definition: the staged trips whose two zones are known."""
    return query(db, """
        select s.source_month, count(*), count(distinct s.trip_id)
        from (select * from staging.stg_green_tripdata union all select * from staging.stg_yellow_tripdata) s
        join core.dim_zones p on s.pickup_location_id = p.location_id and p.borough != 'Unknown'
        join core.dim_zones d on s.dropoff_location_id = d.location_id and d.borough != 'Unknown'
        group by 1 order by 1""")


def warehouse_state(db: Path) -> dict:
    """Every table with its rows, every view with its SQL."""
    tables = query(db, "select schema_name, table_name from duckdb_tables() order by all")
    return {
        "tables": {(s, t): query(db, f'select count(*) from "{s}"."{t}"')[0][0] for s, t in tables},
        "views": query(db, "select schema_name, view_name, sql from duckdb_views() where not internal order by all"),
        "fact_trips": fact_trips_by_month(db),
    }


def test_a_run_waits_while_another_process_holds_the_warehouse_then_succeeds(env, tmp_path, watch):
    db = tmp_path / "warehouse.duckdb"
    materialize(load_defs(), GREEN, partition_key="2020-10")

    with holding_the_warehouse(db) as holder:
        run = watch(dagster_materialize("ext_green_tripdata"), env)
        run.wait_for(rf"register lake.ext_green_tripdata: the warehouse {db} is locked by PID {holder.pid} ")
        assert run.process.poll() is None  # waiting, not failed
    returncode, output = run.finish()

    assert returncode == 0, output[-4000:]
    assert "RUN_SUCCESS" in output
    assert view_rows(db) == [(2020, 10, conformed_rows(tmp_path))]


def test_make_dbt_waits_for_a_materialization_that_writes_and_the_warehouse_holds_what_finished_last(
    env, tmp_path, watch
):
    db = tmp_path / "warehouse.duckdb"
    defs = load_defs()
    for month in ("2020-10", "2023-12"):
        materialize(defs, GREEN, partition_key=month)
    materialize(defs, unpartitioned_keys(defs, downstream_of_monthly=False))  # ext_*, zones

    # The materialization (the monthly models of 2020-10) takes the project's lock and waits for the
    # gate to let go of the file; `make dbt` (the monthly models, every month) comes while the
    # materialization holds it.
    with holding_the_warehouse(db) as gate:
        run = watch(dagster_materialize(",".join(monthly_keys(defs)), "2020-10"), env)
        run.wait_for(rf"dbt build, Dagster run \w+: the warehouse {db} is locked by PID {gate.pid} ")
        cli = watch([*WAREHOUSE_CLI, "dbt", "build", "--select", "tag:monthly"], env)
        waiting = cli.wait_for(r"dbt build, lake_assets.warehouse_cli: the warehouse .* is locked by PID \d+ ")
        assert re.search(r"locked by PID \d+ \(dbt build, Dagster run \w+, since ", waiting), waiting
        assert "Running with dbt" not in "".join(cli.lines)  # it has not started dbt
    run_returncode, run_output = run.finish()
    cli_returncode, cli_output = cli.finish()

    assert run_returncode == 0, run_output[-4000:]
    assert cli_returncode == 0, cli_output[-4000:]
    assert "Completed successfully" in cli_output
    # `make dbt` finished last and built both months; every row is there once, nothing half-written.
    by_month = fact_trips_by_month(db)
    assert [str(month) for month, _, _ in by_month] == ["2020-10-01", "2023-12-01"]
    assert all(rows == distinct > 0 for _, rows, distinct in by_month)
    assert by_month == trips_with_known_zones_by_month(db)


def test_a_lock_held_past_the_wait_fails_the_runs_with_who_holds_it_and_changes_nothing(
    lakehouse_env, tmp_path, monkeypatch
):
    db = tmp_path / "warehouse.duckdb"
    defs = load_defs()
    materialize(defs, GREEN, partition_key="2020-10")
    materialize(defs, unpartitioned_keys(defs, downstream_of_monthly=False))
    materialize(defs, monthly_keys(defs), partition_key="2020-10")  # what the report reads
    materialize(defs, GREEN, partition_key="2023-12")  # a new month, which the runs below would add
    before = warehouse_state(db)
    monkeypatch.setenv("DUCKDB_LOCK_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("DUCKDB_LOCK_RETRY_DELAY_SECONDS", "0.2")
    defs = load_defs()

    with holding_the_warehouse(db) as holder:
        results = {
            "ext_green_tripdata": materialize(defs, ["ext_green_tripdata"], raise_on_error=False),
            "fact_trips": materialize(defs, monthly_keys(defs), partition_key="2023-12", raise_on_error=False),
            "mart_charts": materialize(defs, ["mart_charts"], raise_on_error=False),
        }

    for asset, result in results.items():
        assert not result.success, asset
        assert not result.get_asset_materialization_events(), asset
        errors = step_errors(result)
        assert f"The DuckDB warehouse {db} is locked by PID {holder.pid} (" in errors, errors
        assert "DUCKDB_LOCK_TIMEOUT_SECONDS=1)" in errors and "nothing was written" in errors
        assert f"kill {holder.pid}" in errors and "raise DUCKDB_LOCK_TIMEOUT_SECONDS" in errors
    assert warehouse_state(db) == before
    assert [str(month) for month, _, _ in before["fact_trips"]] == ["2020-10-01"]


def test_people_query_beside_readers_and_wait_for_writers(env, tmp_path):
    db = tmp_path / "warehouse.duckdb"
    defs = load_defs()
    materialize(defs, GREEN, partition_key="2020-10")
    materialize(defs, ["ext_green_tripdata"])
    env = {**env, "DUCKDB_LOCK_TIMEOUT_SECONDS": "1"}
    count = "select count(*) as trips from lake.ext_green_tripdata"
    rows = conformed_rows(tmp_path)

    def run(command: list[str], cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess:
        return subprocess.run(command, check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)

    # DuckDB lets readers share the file: a query answers while another process reads it ...
    with holding_the_warehouse(db, read_only=True) as reader:
        answer = run([*WAREHOUSE_CLI, "query", count])
        assert (answer.returncode, answer.stdout) == (0, f"trips\n{rows}\n"), answer.stderr
        # ... but no writer gets in: dbt waits for the reader, then gives up, naming it, before dbt starts.
        dbt = run([*WAREHOUSE_CLI, "dbt", "build"])
        assert dbt.returncode == 1, dbt.stdout + dbt.stderr
        assert f"is locked by PID {reader.pid} (" in dbt.stderr and f"kill {reader.pid}" in dbt.stderr
        assert "Running with dbt" not in dbt.stdout

    # A writer keeps readers out too: the query waits, names it, and gives up past the wait.
    with holding_the_warehouse(db) as writer:
        answer = run([*WAREHOUSE_CLI, "query", count])
        assert answer.returncode == 1 and answer.stdout == ""
        assert f"read-only query: the warehouse {db} is locked by PID {writer.pid} " in answer.stderr
        assert "DUCKDB_LOCK_TIMEOUT_SECONDS=1)" in answer.stderr
        # A plain `dbt build` fails at once on DuckDB's lock, before any model: what the project retries.
        plain = run([str(PROJECT_ROOT / ".venv/bin/dbt"), "build"], cwd=PROJECT_ROOT / "dbt_project")
        assert plain.returncode != 0
        holder = dbt_lock_failure(plain.stdout)
        assert holder is not None and holder.pid == writer.pid, plain.stdout[-3000:]

    assert run([*WAREHOUSE_CLI, "query", count]).stdout == f"trips\n{rows}\n"
    assert view_rows(db) == [(2020, 10, rows)]


@pytest.mark.parametrize("started_by", ["dagster", "make dbt"])
def test_a_dbt_build_that_loses_the_file_before_its_first_model_is_run_again(started_by, env, tmp_path, watch):
    db = tmp_path / "warehouse.duckdb"
    defs = load_defs()
    materialize(defs, GREEN, partition_key="2020-10")
    materialize(defs, ["ext_green_tripdata", "ext_yellow_tripdata", "ext_fhv_tripdata"])
    signals = tmp_path / "signals"
    signals.mkdir()
    (signals / "sitecustomize.py").write_text(STALL_FIRST_DBT_BUILD)
    env = {**env, "PYTHONPATH": str(signals), "DBT_STALL_DIR": str(signals)}
    command = (dagster_materialize("stg_green_tripdata", "2020-10") if started_by == "dagster"
               else [*WAREHOUSE_CLI, "dbt", "build", "--select", "stg_green_tripdata"])

    build = watch(command, env)
    # the stall's own marker: Dagster shows dbt's output only once dbt has exited (#15's table metadata)
    deadline = time.monotonic() + 300
    while not (signals / "stalled").exists():
        assert time.monotonic() < deadline and build.process.poll() is None, "dbt did not start"
        time.sleep(0.1)
    with holding_the_warehouse(db) as holder:
        (signals / "go").touch()
        build.wait_for(rf"dbt build, .*: the warehouse {db} is locked by PID {holder.pid} ")
    returncode, output = build.finish()

    assert returncode == 0, output[-4000:]
    assert output.count("dbt build stalled before it connects") == 1  # the second dbt went straight on
    assert "Could not set lock on file" in output  # the first dbt failed on the lock, before any model
    green = query(db, "select count(*), count(distinct trip_id) from staging.stg_green_tripdata")[0]
    assert green[0] == green[1] == conformed_rows(tmp_path)
