"""Running the real Dagster definitions against the settings in the environment."""

import dagster as dg
import duckdb

from lake_assets.definitions import build_definitions
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
