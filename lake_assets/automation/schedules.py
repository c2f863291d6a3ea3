"""monthly_tlc_ingest: once a month, ingest the newest month each service should have by then."""

import dagster as dg

from lake_assets.catalog import SERVICES, newest_expected_month
from lake_assets.settings import Settings

# The TLC publishes a month some weeks after it ends; with the default lag of 2 months, the run on
# the 15th of March asks for January.
INGEST_CRON = "0 6 15 * *"
INGEST_TIMEZONE = "America/New_York"


def lake_asset_keys(service: str) -> list[dg.AssetKey]:
    return [dg.AssetKey(f"raw_{service}_tripdata"), dg.AssetKey(f"{service}_tripdata")]


def build_ingest_schedule(settings: Settings) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="monthly_tlc_ingest",
        cron_schedule=INGEST_CRON,
        execution_timezone=INGEST_TIMEZONE,
        target=dg.AssetSelection.groups("raw", "conformed"),
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Lands and conforms the newest month of every service, given TLC_PUBLICATION_LAG_MONTHS.",
    )
    def monthly_tlc_ingest(context: dg.ScheduleEvaluationContext):
        month = newest_expected_month(context.scheduled_execution_time, settings.publication_lag_months)
        return [
            dg.RunRequest(run_key=f"{service}:{month}", partition_key=month.key, asset_selection=lake_asset_keys(service))
            for service in SERVICES
        ]

    return monthly_tlc_ingest
