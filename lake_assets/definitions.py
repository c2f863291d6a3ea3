"""The code location: every asset, check, resource, schedule and sensor of the lakehouse.

Dagster loads `defs` (the `@dg.definitions` function) when it loads the code location; importing this
module builds nothing and reads no setting, so a bad environment variable fails the load, not the import.
"""

from __future__ import annotations

import dagster as dg

from lake_assets.assets.conformed import build_conformed_asset
from lake_assets.assets.dbt import build_dbt_assets
from lake_assets.assets.external_tables import build_external_table_asset
from lake_assets.assets.raw import build_raw_asset
from lake_assets.assets.reports import mart_charts
from lake_assets.automation.failure_sensor import run_failure_alert
from lake_assets.automation.landing_sensor import build_landing_sensor
from lake_assets.automation.schedules import INGEST_JOBS, build_ingest_schedules
from lake_assets.automation.tlc_source_sensor import build_tlc_source_sensor
from lake_assets.catalog import SERVICES
from lake_assets.freshness import declare_freshness, freshness_sensor, newest_month_checks
from lake_assets.partitions import service_partitions, trip_month_partitions
from lake_assets.resources import build_resources
from lake_assets.settings import Settings, load_settings


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    partitions = service_partitions(settings.publication_lag_months)
    assets: list[dg.AssetsDefinition] = []
    for service in SERVICES:
        raw = build_raw_asset(service, partitions[service], settings)
        conformed = build_conformed_asset(service, partitions[service], raw, settings)
        assets += [raw, conformed, build_external_table_asset(service, conformed)]
    return assets + build_dbt_assets(trip_month_partitions(settings.publication_lag_months), settings.dbt_months_per_run)


def build_definitions(settings: Settings) -> dg.Definitions:
    freshness_checks = newest_month_checks()
    return dg.Definitions(
        # fact_trips, the marts and the charts declare how fresh they should be (lake_assets/freshness.py).
        assets=declare_freshness([*build_assets(settings), mart_charts], settings.publication_lag_months),
        asset_checks=freshness_checks,
        jobs=INGEST_JOBS,
        schedules=build_ingest_schedules(settings),
        sensors=[
            build_tlc_source_sensor(settings),
            build_landing_sensor(settings),
            run_failure_alert,
            # Declarative automation, on by default (AutomationCondition on ext_*, dbt models, reports).
            dg.AutomationConditionSensorDefinition(
                "lakehouse_automation",
                target=dg.AssetSelection.all(),
                default_status=dg.DefaultSensorStatus.RUNNING,
                minimum_interval_seconds=settings.automation_interval_seconds,
            ),
            freshness_sensor(freshness_checks, settings.automation_interval_seconds),
        ],
        resources=build_resources(settings),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(load_settings())
