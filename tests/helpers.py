"""Running the real Dagster definitions against the settings in the environment."""

import hashlib
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
import httpx
import polars as pl

from lake_assets.catalog import Month
from lake_assets.conformed_table import month_files, open_table, scan_month
from lake_assets.definitions import build_definitions
from lake_assets.lake import LocalLake
from lake_assets.materialize_all import RunPlan
from lake_assets.settings import load_settings


def load_defs() -> dg.Definitions:
    return build_definitions(load_settings())


def materialize(defs: dg.Definitions, keys: list[str], partition_key: str | None = None, tags=None,
                instance=None, raise_on_error: bool = True, run_config=None) -> dg.ExecuteInProcessResult:
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        asset_selection=[dg.AssetKey(k) for k in keys],
        run_config=run_config,
        partition_key=partition_key,
        tags=tags,
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=raise_on_error,
    )


def monthly_keys(defs: dg.Definitions) -> list[str]:
    """The monthly dbt models (staging, facts, the mart): one month of them is built in one run."""
    return sorted(k.to_user_string() for k in RunPlan.of(defs.resolve_asset_graph()).monthly)


def unpartitioned_keys(defs: dg.Definitions, *, downstream_of_monthly: bool) -> list[str]:
    """The unpartitioned assets built before the monthly models (external tables, zones), or after them."""
    plan = RunPlan.of(defs.resolve_asset_graph())
    return sorted(k.to_user_string() for k in (plan.after if downstream_of_monthly else plan.before))


def query(duckdb_path, sql: str) -> list[tuple]:
    with duckdb.connect(str(duckdb_path), read_only=True) as conn:
        return conn.execute(sql).fetchall()


HOLD_THE_WAREHOUSE = """
import sys
from pathlib import Path
import duckdb
from lake_assets.warehouse_lock import WarehouseLock
path, read_only, project_lock = Path(sys.argv[1]), sys.argv[2] == "read_only", sys.argv[3] == "project_lock"
lock = WarehouseLock(path, timeout_seconds=30, retry_delay_seconds=0.1)
if project_lock:
    held = lock.read_only() if read_only else lock.hold("a test's writer")
else:
    held = duckdb.connect(str(path), read_only=read_only)
with held as conn:
    if project_lock and read_only:
        conn.execute("select count(*) from duckdb_tables()").fetchall()  # a reader that has read
    print("holding", flush=True)
    sys.stdin.read()  # until the test closes stdin
"""


@contextmanager
def holding_the_warehouse(path: Path, read_only: bool = False, project_lock: bool = False):
    """Another process holding the warehouse (to read if read_only, else to write) until the block ends.

    With project_lock, a process of the project: it takes the project's lock (WarehouseLock.read_only,
    with the file open read-only; or WarehouseLock.hold, which keeps the lock, not the file). Without,
    a process outside the project (a notebook, the duckdb CLI): the file open, DuckDB's lock alone."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_WAREHOUSE, str(path),
                               "read_only" if read_only else "read_write",
                               "project_lock" if project_lock else "duckdb_lock"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "holding\n"
        yield holder
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


def conformed_month(lake_dir, service: str, month: str, version: int | None = None) -> pl.DataFrame:
    """The month as the service's conformed table holds it at `version` (default: the current snapshot)."""
    return scan_month(LocalLake(lake_dir), service, Month.parse(month), version).collect()


def conformed_files(lake_dir, service: str = "green") -> dict[str, list[str]]:
    """Month -> the current snapshot's files of it."""
    table = open_table(LocalLake(lake_dir), service)
    return {m.key: files.uris for m, files in month_files(table).items()} if table else {}


def same_rows(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    """The same columns and the same rows, as many times each: a table format does not keep row order
    (delta-rs may write a month's batches in another order)."""
    return a.schema == b.schema and a.sort(a.columns, nulls_last=True).equals(b.sort(b.columns, nulls_last=True))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def step_errors(result: dg.ExecuteInProcessResult) -> str:
    """The errors of a run's failed steps, in one string."""
    return " | ".join(str(e.event_specific_data.error) for e in result.all_events if e.is_step_failure)


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    """The data of a query to the Dagster webserver at `url`; fails on a GraphQL or HTTP error."""
    response = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60)
    if response.status_code >= 500:  # the webserver's reason is in the body, not in its log
        raise httpx.HTTPStatusError(f"HTTP {response.status_code}: {response.text[:2000]}",
                                    request=response.request, response=response)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def wait_for(what: str, predicate: Callable[[], bool], timeout: float, every: float,
             logs: Callable[[], str]) -> None:
    """Polls `predicate` until true; an HTTP error counts as not yet (a server that is (re)starting).
    Fails after `timeout` seconds with `logs()`, the tails of the servers' logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except httpx.HTTPError:
            pass
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{logs()}")
