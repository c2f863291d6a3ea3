"""The warehouse shaped for size: monthly models built and tested one month at a time, DuckDB limits."""

import os
import shutil
import subprocess

import dagster as dg
import duckdb
import pytest

from lake_assets.definitions import build_definitions
from lake_assets.settings import PROJECT_ROOT, load_settings
from tests.conftest import SAMPLE_MIRROR
from tests.helpers import load_defs, materialize, monthly_keys, query, unpartitioned_keys
from tests.lakehouses import copy


@pytest.fixture
def two_green_months(sample_green_lakehouse, tmp_path, monkeypatch):
    """A copy of the sample green lakehouse for the test to change."""
    lakehouse = copy(sample_green_lakehouse, tmp_path / "lakehouse", monkeypatch)
    return load_defs(), lakehouse.warehouse


def dbt(args: list[str], db, venv_env) -> subprocess.CompletedProcess:
    env = {**venv_env, "DUCKDB_PATH": str(db)}
    return subprocess.run(["dbt", *args], cwd=PROJECT_ROOT / "dbt_project", env=env, capture_output=True, text=True,
                          check=False, timeout=600)


def test_the_trip_key_and_deduplication_are_stored_once_per_month(two_green_months):
    _, db = two_green_months
    kinds = dict(query(db, "select table_name, table_type from information_schema.tables "
                           "where table_schema in ('staging', 'core')"))
    assert kinds["stg_green_tripdata"] == "BASE TABLE"  # stored, not a view recomputed by every reader
    per_month = dict(query(db, "select strftime(source_month, '%Y-%m'), count(*) - count(distinct trip_id) "
                               "from staging.stg_green_tripdata group by 1"))
    assert per_month == {"2020-10": 0, "2023-12": 0}
    # fact_trips reads the stored key: every fact trip is a staging trip of the same month
    orphans = query(db, "select count(*) from core.fact_trips f left join staging.stg_green_tripdata s "
                        "using (trip_id, source_month) where s.trip_id is null")
    assert orphans == [(0,)]


def test_a_month_run_replaces_exactly_its_month_in_every_monthly_model(two_green_months):
    defs, db = two_green_months
    tables = ("staging.stg_green_tripdata", "core.fact_trips")
    before = {t: query(db, f"select source_month, count(*) from {t} group by 1 order by 1") for t in tables}
    mart_before = query(db, "select revenue_month, service_type, sum(total_monthly_trips) from "
                            "marts.dm_monthly_zone_revenue group by 1, 2 order by 1, 2")
    materialize(defs, monthly_keys(defs), partition_key="2023-12")
    for table in tables:
        assert query(db, f"select source_month, count(*) from {table} group by 1 order by 1") == before[table]
    assert query(db, "select revenue_month, service_type, sum(total_monthly_trips) from "
                     "marts.dm_monthly_zone_revenue group by 1, 2 order by 1, 2") == mart_before
    # the mart counts every fact trip once, by its pickup month
    assert query(db, "select sum(total_monthly_trips) from marts.dm_monthly_zone_revenue") == \
        query(db, "select count(*) from core.fact_trips")


def test_the_full_refresh_run_config_recreates_the_seeds(two_green_months):
    defs, db = two_green_months
    # A seed table that no longer matches its CSV (a column of an older version of the seed): a
    # plain run cannot load the CSV into it, a full refresh recreates it from the CSV.
    with duckdb.connect(str(db)) as conn:
        conn.execute("alter table core.taxi_zone_lookup add column retired_column varchar")

    def columns() -> set[str]:
        return {c for (c,) in query(db, "select column_name from information_schema.columns "
                                        "where table_schema = 'core' and table_name = 'taxi_zone_lookup'")}

    keys = unpartitioned_keys(defs, downstream_of_monthly=False)
    plain = materialize(defs, keys, raise_on_error=False)
    assert not plain.success and "retired_column" in columns()
    materialize(defs, keys, run_config={"ops": {"dbt_models": {"config": {"full_refresh": True}}}})
    assert "retired_column" not in columns() and query(db, "select count(*) from core.taxi_zone_lookup") == [(265,)]


def test_a_month_run_tests_only_its_months_and_a_plain_dbt_test_tests_all(two_green_months, venv_env):
    defs, db = two_green_months
    # A trip of 2023-12 doubled behind dbt's back: only a test that reads 2023-12 can see it.
    with duckdb.connect(str(db)) as conn:
        conn.execute("insert into staging.stg_green_tripdata select * from staging.stg_green_tripdata "
                     "where source_month = date '2023-12-01' limit 1")
    result = materialize(defs, monthly_keys(defs), partition_key="2020-10", raise_on_error=False)
    assert result.success
    # the dbt tests (the freshness check of fact_trips is about the calendar, not these months)
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations() if c.check_name != "freshness_check"}
    assert checks["unique_within_month_stg_green_tripdata_trip_id"] is True  # it ran, on 2020-10 only
    assert all(checks.values()), checks

    plain = dbt(["test", "--select", "stg_green_tripdata"], db, venv_env)
    assert plain.returncode != 0
    assert "FAIL 1 unique_within_month_stg_green_tripdata_trip_id" in plain.stdout


def test_duckdb_limits_reach_the_warehouse_resource_and_dbt(tmp_path, monkeypatch):
    spill = tmp_path / "spill"
    limits = {"DUCKDB_MEMORY_LIMIT": "700MB", "DUCKDB_THREADS": "1", "DUCKDB_TEMP_DIRECTORY": str(spill)}
    for name in (*limits, "DUCKDB_PATH"):
        monkeypatch.delenv(name, raising=False)  # restored after the test
    settings = load_settings({**limits, "DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
                              "LAKE_URL": str(tmp_path / "lake")})
    defs = build_definitions(settings)
    applied = defs.resources["warehouse"].query(
        "select current_setting('memory_limit'), current_setting('threads'), current_setting('temp_directory')")
    assert applied == [("667.5 MiB", 1, str(spill))]
    # Dagster's dbt resource runs dbt with these variables, which dbt's profile maps onto the same
    # DuckDB limits; the process's own environment is left as it was.
    profile_env = defs.resources["dbt"].profile_env
    assert {name: profile_env[name] for name in limits} == limits
    sql = ("select current_setting('memory_limit') as memory_limit, current_setting('threads') as threads, "
           f"current_setting('temp_directory') = '{spill}' as spill")
    # dbt run through the resource itself, as the dbt assets run it
    shown = [event.raw_event["info"]["msg"] for event in defs.resources["dbt"].cli(["show", "--inline", sql])
             .stream_raw_events()]
    assert any("| 667.5 MiB    |       1 |  True |" in msg for msg in shown), shown[-5:]
    assert not {*limits, "DUCKDB_PATH"} & set(os.environ)


def test_automation_builds_the_months_of_a_service_whose_sibling_never_arrived(lakehouse_env, tmp_path):
    """Declarative automation, evaluated for real: only green ever lands, so stg_yellow_tripdata is
    never built; a new green month still goes through staging, fact_trips and the mart, then the
    charts (after the mart, in a later tick)."""
    mirror = tmp_path / "mirror"
    shutil.copytree(SAMPLE_MIRROR / "green", mirror / "green")
    lakehouse_env(mirror)
    defs = load_defs()
    instance = dg.DagsterInstance.ephemeral()
    # a month already in the lake when the daemon starts (its first tick registers the external tables)
    materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key="2020-10", instance=instance)
    cursor, requested = None, []
    for tick in range(5):
        if tick == 1:  # a new month, as the source sensor lands it while the daemon runs
            materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key="2023-12", instance=instance)
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
        cursor = result.cursor
        by_partition: dict[str | None, list[str]] = {}
        for key in {ap.asset_key for ap in result._requested_asset_partitions}:
            for partition in result.get_requested_partitions(key):
                by_partition.setdefault(partition, []).append(key.to_user_string())
        for partition, keys in by_partition.items():
            assert materialize(defs, keys, partition_key=partition, instance=instance).success, keys
            requested += [(key, partition, tick) for key in keys]
    months = {(key, partition) for key, partition, _ in requested}
    assert {("stg_green_tripdata", "2023-12"), ("fact_trips", "2023-12"), ("dm_monthly_zone_revenue", "2023-12")} <= months
    assert not any(key == "stg_yellow_tripdata" for key, _ in months)
    (mart_tick,) = {tick for key, _, tick in requested if key == "dm_monthly_zone_revenue"}
    assert [tick for key, _, tick in requested if key == "mart_charts"] == [mart_tick + 1]
    db = tmp_path / "warehouse.duckdb"
    assert query(db, "select strftime(source_month, '%Y-%m'), count(*) > 0 from core.fact_trips group by 1") == [
        ("2023-12", True)]
