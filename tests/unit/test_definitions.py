"""The code location loads, with every asset, check and partition the contract names."""

import os
import subprocess
import sys
from datetime import UTC, datetime

import dagster as dg

from lake_assets.assets.dbt import run_months
from lake_assets.definitions import build_definitions, defs
from lake_assets.partitions import service_partitions, trip_month_partitions
from lake_assets.settings import load_settings

CONTRACT_ASSETS = {
    *(f"{kind}{s}_tripdata" for s in ("green", "yellow", "fhv", "fhvhv") for kind in ("raw_", "", "ext_")),
    "stg_green_tripdata", "stg_yellow_tripdata", "stg_fhv_tripdata", "taxi_zone_lookup", "dim_zones",
    "fact_trips", "fact_fhv_trips", "dm_monthly_zone_revenue", "dm_monthly_service_revenue",
    "stg_fhvhv_tripdata", "hvfhs_licenses", "fact_fhvhv_trips", "dm_monthly_fhvhv_zone_revenue",
}


def test_definitions_load_with_every_contract_asset():
    defs = build_definitions(load_settings({}))
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.materializable_asset_keys}
    assert CONTRACT_ASSETS <= keys
    # dbt sources resolve to the ext_ assets: staging depends on them, so the external tables are in the graph.
    assert dg.AssetKey("ext_green_tripdata") in graph.get(dg.AssetKey("stg_green_tripdata")).parent_keys
    assert dg.AssetKey("green_tripdata") in graph.get(dg.AssetKey("ext_green_tripdata")).parent_keys
    assert dg.AssetKey("ext_fhvhv_tripdata") in graph.get(dg.AssetKey("stg_fhvhv_tripdata")).parent_keys
    assert dg.AssetKey("fhvhv_tripdata") in graph.get(dg.AssetKey("stg_fhvhv_tripdata")).parent_keys
    fhvhv_models = ("stg_fhvhv_tripdata", "fact_fhvhv_trips", "int_fhvhv_zone_revenue_by_source_month",
                    "dm_monthly_fhvhv_zone_revenue")
    assert all(graph.get(dg.AssetKey(name)).is_partitioned for name in fhvhv_models)  # monthly, like the others
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("green_tripdata", "rows_match_raw") in checks
    assert any(asset == "stg_green_tripdata" and name.startswith("unique_") for asset, name in checks)
    assert any(asset == "stg_green_tripdata" and name.startswith("relationships_") for asset, name in checks)


def test_importing_the_code_location_builds_nothing_and_loading_it_reads_the_settings():
    # A fresh interpreter, with a setting load_settings refuses: the import (test collection, `make run`)
    # must not build or read anything; only the load that Dagster's tools do fails, with the settings' message.
    script = """
import dagster as dg
import lake_assets.definitions as module
assert not [v for v in vars(module).values() if isinstance(v, dg.Definitions)]
try:
    module.defs()
except Exception as exc:
    print(type(exc).__name__, exc)
"""
    result = subprocess.run([sys.executable, "-c", script], env={**os.environ, "LAKEHOUSE_TARGET": "aws"},
                            capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "SettingsError LAKEHOUSE_TARGET='aws' is not one of local, gcp."


def test_the_code_location_dagster_loads_is_built_from_the_environments_settings():
    loaded = defs()
    assert isinstance(loaded, dg.Definitions)
    expected = build_definitions(load_settings()).resolve_asset_graph().get_all_asset_keys()
    assert loaded.resolve_asset_graph().get_all_asset_keys() == expected
    assert CONTRACT_ASSETS <= {k.to_user_string() for k in expected}


def test_partitions_are_monthly_keys_per_service_and_trail_today_by_the_lag():
    parts = service_partitions(publication_lag_months=2)
    assert parts["green"].get_first_partition_key() == "2013-08"
    assert parts["yellow"].get_first_partition_key() == "2011-01"
    assert parts["fhv"].get_first_partition_key() == "2015-01"
    assert parts["fhvhv"].get_first_partition_key() == "2019-02"
    on_nov_24 = parts["green"].get_partition_keys(current_time=datetime(2026, 11, 24, tzinfo=UTC))
    assert on_nov_24[-1] == "2026-09"
    lag_0 = service_partitions(publication_lag_months=0)["green"]
    assert lag_0.get_partition_keys(current_time=datetime(2026, 11, 24, tzinfo=UTC))[-1] == "2026-11"
    assert "2020-10" in parts["green"].get_partition_keys()


def test_run_months_cover_exactly_the_months_asked_for():
    months = trip_month_partitions(2)
    assert run_months(months.time_window_for_partition_key("2020-10")) == ("2020-10-01", "2020-11-01")
    window = dg.TimeWindow(months.time_window_for_partition_key("2020-11").start,
                           months.time_window_for_partition_key("2021-01").end)
    assert run_months(window) == ("2020-11-01", "2021-02-01")


def test_the_automation_interval_is_a_setting_both_evaluating_sensors_take():
    intervals = {s.name: s.minimum_interval_seconds for s in build_definitions(load_settings()).sensors}
    fast = {s.name: s.minimum_interval_seconds
            for s in build_definitions(load_settings({"AUTOMATION_INTERVAL_SECONDS": "5"})).sensors}
    assert intervals["lakehouse_automation"] == 30
    changed = {name for name in fast if fast[name] != intervals[name]}
    assert changed == {"lakehouse_automation", "freshness_checks_sensor"} and {fast[n] for n in changed} == {5}
