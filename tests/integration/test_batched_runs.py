"""Months batched: one run of three months builds exactly what three one-month runs build, and a dbt run
pays for its work only (no full parse after the first, no `dbt --version`, column lineage cached).

The data: the first 4,000 trips of each of the three consecutive real green months 2021-01..03 in
../shared (official Parquet, written back unchanged but for the row count), landed and conformed
once; two warehouses over that one lake, one built month by month and one in a single batch.
"""

import os
import stat

import dagster as dg
import polars as pl
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from lake_assets.dbt_metadata import COLUMN_LINEAGE
from lake_assets.resources import WarehouseDbtResource
from lake_assets.settings import DBT_EXECUTABLE
from tests.conftest import mirror_template
from tests.helpers import load_defs, materialize, monthly_keys, query, unpartitioned_keys

MONTHS = ("2021-01", "2021-02", "2021-03")
ROWS_PER_MONTH = 4_000
# What the two warehouses are compared on: every monthly table, whole.
TABLES = {
    "staging.stg_green_tripdata": "sum(total_amount)",
    "core.fact_trips": "sum(total_amount)",
    "core.int_zone_revenue_by_source_month": "sum(revenue_monthly_total_amount)",
    "marts.dm_monthly_zone_revenue": "sum(revenue_monthly_total_amount)",
    "marts.dm_monthly_service_revenue": "sum(revenue_monthly_total_amount)",
}


def _use_warehouse(env: pytest.MonkeyPatch, path) -> dg.Definitions:
    env.setenv("DUCKDB_PATH", str(path))
    return load_defs()


@pytest.fixture(scope="module")
def two_warehouses(tmp_path_factory, shared_tlc):
    tmp = tmp_path_factory.mktemp("batched")
    (tmp / "mirror" / "green").mkdir(parents=True)
    for month in MONTHS:
        name = f"green_tripdata_{month}.parquet"
        pl.read_parquet(shared_tlc / "green" / name).head(ROWS_PER_MONTH).write_parquet(tmp / "mirror" / "green" / name)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LAKEHOUSE_TARGET", "local")
        env.setenv("LAKE_URL", str(tmp / "lake"))
        env.setenv("TLC_SOURCE_URL", mirror_template(tmp / "mirror"))
        env.delenv("DAGSTER_HOME", raising=False)
        by_month = _use_warehouse(env, tmp / "by_month.duckdb")
        for month in MONTHS:
            materialize(by_month, ["raw_green_tripdata", "green_tripdata"], partition_key=month)
        materialize(by_month, unpartitioned_keys(by_month, downstream_of_monthly=False))
        month_runs = [materialize(by_month, monthly_keys(by_month), partition_key=m) for m in MONTHS]

        batched = _use_warehouse(env, tmp / "batched.duckdb")
        materialize(batched, unpartitioned_keys(batched, downstream_of_monthly=False))
        batch_run = materialize(batched, monthly_keys(batched), tags={
            ASSET_PARTITION_RANGE_START_TAG: MONTHS[0], ASSET_PARTITION_RANGE_END_TAG: MONTHS[-1]})
        yield {"by_month": (by_month, tmp / "by_month.duckdb", month_runs),
               "batched": (batched, tmp / "batched.duckdb", [batch_run])}


def _table_facts(db, table: str, total: str) -> dict:
    facts = {"rows_by_month": dict(query(db, f"select strftime(source_month, '%Y-%m'), count(*) from {table} group by 1"))
             if "dm_" not in table else None,
             "rows": query(db, f"select count(*) from {table}")[0][0],
             "total": query(db, f"select round({total}, 2) from {table}")[0][0]}
    if "trip_id" in [row[0] for row in query(db, f"describe {table}")]:
        facts["trip_ids"] = query(db, f"select md5(string_agg(trip_id, ',' order by trip_id)) from {table}")[0][0]
    return facts


def test_a_batch_of_three_months_builds_what_three_month_runs_build(two_warehouses):
    _, by_month_db, _ = two_warehouses["by_month"]
    _, batched_db, [batch_run] = two_warehouses["batched"]
    for table, total in TABLES.items():
        assert _table_facts(batched_db, table, total) == _table_facts(by_month_db, table, total), table
    staged = dict(query(batched_db, "select strftime(source_month, '%Y-%m'), count(*) from staging.stg_green_tripdata "
                                    "group by 1"))
    assert sorted(staged) == list(MONTHS) and all(0 < rows <= ROWS_PER_MONTH for rows in staged.values())
    # The batch's one run recorded a materialization of every month of every monthly model.
    fact_months = {e.partition for e in batch_run.get_asset_materialization_events()
                   if e.asset_key == dg.AssetKey("fact_trips")}
    assert fact_months == set(MONTHS)
    # every dbt test of the batch passed (the freshness check says 2021 is late: it is)
    checks = [c for c in batch_run.get_asset_check_evaluations() if c.check_name != "freshness_check"]
    assert len(checks) > 20 and [c.check_name for c in checks if not c.passed] == []


def _dbt_logs(defs: dg.Definitions, results) -> list[str]:
    """dbt.log of each run's dbt invocation, in the order of the runs."""
    root = defs.resources["dbt"].target_dir
    return [next(root.glob(f"dbt_monthly_models-{r.run_id[:7]}-*/dbt.log")).read_text() for r in results]


def test_month_runs_after_the_first_parse_nothing_again(two_warehouses):
    defs, _, month_runs = two_warehouses["by_month"]
    logs = _dbt_logs(defs, month_runs)
    assert len(logs) == 3
    for log in logs[1:]:  # other months than the first run's: partial parsing holds
        assert "Nothing changed, skipping partial parsing" in log
        assert "Unable to do partial parsing" not in log and "Starting full parse" not in log


def test_every_model_of_every_run_carries_its_column_lineage(two_warehouses):
    first_lineage = {}
    for name in ("by_month", "batched"):
        defs, _, results = two_warehouses[name]
        models = set(monthly_keys(defs))
        for result in results:
            seen = {}
            for event in result.get_asset_materialization_events():
                key = event.asset_key.to_user_string()
                if key in models:
                    seen[key] = event.materialization.metadata.get(COLUMN_LINEAGE)
            assert set(seen) == models
            for key, lineage in seen.items():
                assert lineage is not None and lineage.value.deps_by_column, key
                # derived once, read from the cache after: the same lineage in every run
                assert first_lineage.setdefault(key, lineage.value) == lineage.value, key
    deps = first_lineage["int_zone_revenue_by_source_month"].deps_by_column["revenue_monthly_fare"]
    assert [(d.asset_key, d.column_name) for d in deps] == [(dg.AssetKey("fact_trips"), "fare_amount")]


def test_a_dbt_run_starts_no_dbt_version_process(tmp_path, two_warehouses):
    defs, _, _ = two_warehouses["by_month"]
    calls = tmp_path / "calls.txt"
    wrapper = tmp_path / "dbt"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec {DBT_EXECUTABLE} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    resource: WarehouseDbtResource = defs.resources["dbt"]
    spied = WarehouseDbtResource(project_dir=resource.project_dir, profiles_dir=resource.profiles_dir,
                                 target=resource.target, dbt_executable=str(wrapper),
                                 profile_env=resource.profile_env)
    assert spied.cli(["ls", "--select", "fact_trips"]).is_successful()
    invoked = calls.read_text().splitlines()
    assert len(invoked) == 1 and invoked[0].startswith("ls ")
    assert not any("--version" in line for line in invoked)
    assert os.environ.get("LAKEHOUSE_MIN_MONTH") is None  # the months were set for the call only
