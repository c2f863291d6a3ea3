"""Freshness from the publication lag: fact_trips' newest due month is checked, the marts carry a policy."""

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from lake_assets.catalog import Month
from lake_assets.definitions import build_definitions
from lake_assets.freshness import DEADLINE_CRON, FRESH_ASSETS, FRESHNESS_TIMEZONE
from lake_assets.settings import load_settings

FRESHNESS_CHECK = dg.AssetCheckKey(dg.AssetKey("fact_trips"), "freshness_check")


def lag_making_due(month: Month) -> int:
    """The publication lag that makes `month` the newest month due at the last deadline (the 16th, 06:00 NY)."""
    now = datetime.now(ZoneInfo(FRESHNESS_TIMEZONE))
    deadline_month = Month(now.year, now.month)
    if (now.day, now.hour) < (16, 6):
        deadline_month = deadline_month.shift(-1)
    return (deadline_month.year - month.year) * 12 + deadline_month.month - month.month


def run_freshness_check(defs: dg.Definitions, instance: dg.DagsterInstance) -> dg.AssetCheckEvaluation:
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=set(),
                                                                  asset_check_selection={FRESHNESS_CHECK})
    result = job.execute_in_process(instance=instance)
    [evaluation] = result.get_asset_check_evaluations()
    return evaluation


def test_a_month_not_built_by_its_deadline_fails_the_freshness_check_of_fact_trips(tmp_path):
    assert DEADLINE_CRON == "0 6 16 * *"
    lag = lag_making_due(Month(2020, 10))
    defs = build_definitions(load_settings({"TLC_PUBLICATION_LAG_MONTHS": str(lag), "LAKE_URL": str(tmp_path / "lake"),
                                            "DUCKDB_PATH": str(tmp_path / "warehouse.duckdb")}))
    with dg.instance_for_test() as instance:
        assert not run_freshness_check(defs, instance).passed  # never built

        instance.report_runless_asset_event(dg.AssetMaterialization("fact_trips", partition="2020-09"))
        late = run_freshness_check(defs, instance)
        assert not late.passed  # the month before is there, 2020-10 is late
        assert "We expected partition 2020-10 to have arrived" in late.description

        instance.report_runless_asset_event(dg.AssetMaterialization("fact_trips", partition="2020-10"))
        assert run_freshness_check(defs, instance).passed


def test_fact_trips_the_marts_and_the_charts_declare_a_freshness_policy_with_the_lag():
    defs = build_definitions(load_settings({"TLC_PUBLICATION_LAG_MONTHS": "3"}))
    graph = defs.resolve_asset_graph()
    for key in FRESH_ASSETS:
        node = graph.get(key)
        assert isinstance(node.freshness_policy, dg.FreshnessPolicy), key
        assert node.freshness_policy.deadline_cron == DEADLINE_CRON
        assert "due 3 months after it began (TLC_PUBLICATION_LAG_MONTHS)" in node.metadata["freshness"]
    assert graph.get(dg.AssetKey("stg_green_tripdata")).freshness_policy is None
    assert any(sensor.name == "freshness_checks_sensor" for sensor in defs.sensors)
