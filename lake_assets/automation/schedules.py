"""The ingest jobs (one per service: its raw and conformed assets share one partitions definition)
and monthly_<service>_ingest: once a month, ingest the newest month each service should have."""

import dagster as dg

from lake_assets.asset_keys import lake_asset_keys
from lake_assets.catalog import SERVICES, CatalogError, check_partition, newest_expected_month
from lake_assets.settings import Settings

# The TLC publishes a month some weeks after it ends; with the default lag of 2 months, the run on
# the 15th of March asks for January.
INGEST_CRON = "0 6 15 * *"
INGEST_TIMEZONE = "America/New_York"


def ingest_job_name(service: str) -> str:
    return f"ingest_{service}"


def retry_tags(settings: Settings) -> dict[str, str]:
    """Tags of the runs the schedules and sensors request: Dagster's run-retry daemon re-executes a
    failed one from its failed step up to TLC_RUN_RETRIES times (dagster.yaml enables run retries;
    runs without the tag, such as manual launches, are not retried)."""
    return {"dagster/max_retries": str(settings.run_retries)}


INGEST_JOBS = [
    dg.define_asset_job(ingest_job_name(service), selection=lake_asset_keys(service),
                        description=f"Land and conform one month of {service} trips.")
    for service in SERVICES
]


def build_ingest_schedules(settings: Settings) -> list[dg.ScheduleDefinition]:
    def build(service: str) -> dg.ScheduleDefinition:
        @dg.schedule(
            name=f"monthly_{service}_ingest",
            job_name=ingest_job_name(service),
            cron_schedule=INGEST_CRON,
            execution_timezone=INGEST_TIMEZONE,
            default_status=dg.DefaultScheduleStatus.RUNNING,
            description=f"Lands and conforms the newest {service} month, given TLC_PUBLICATION_LAG_MONTHS.",
        )
        def monthly_ingest(context: dg.ScheduleEvaluationContext):
            month = newest_expected_month(context.scheduled_execution_time, settings.publication_lag_months)
            try:  # a tick evaluated late or early (a backfill of ticks, a lag past the service's start)
                check_partition(service, month, settings.publication_lag_months)
            except CatalogError as exc:
                return dg.SkipReason(f"{exc} Nothing requested.")
            return dg.RunRequest(run_key=f"{service}:{month}", partition_key=month.key, tags=retry_tags(settings))

        return monthly_ingest

    return [build(service) for service in SERVICES]
