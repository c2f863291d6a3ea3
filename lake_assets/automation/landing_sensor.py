"""lake_landing_sensor: takes in files other tools drop into the lake's landing/ folder.

A file named {service}_tripdata_YYYY-MM.{parquet|csv.gz} becomes a run of that month's raw and
conformed assets; the raw asset moves it out of landing/ once it has landed, and the run key
(name + version) makes sure one drop is taken in once. A badly named file is reported and moved to
landing/rejected/, so it is reported once and nothing is lost.
"""

import dagster as dg

from lake_assets.asset_keys import raw_asset_key
from lake_assets.catalog import CatalogError, check_month, parse_file_name
from lake_assets.lake import LANDING_PREFIX, Lake
from lake_assets.resources import LakeResource
from lake_assets.settings import Settings

from .schedules import INGEST_JOBS, ingest_job_name, retry_tags

REJECTED_PREFIX = f"{LANDING_PREFIX}/rejected"
LANDING_INTERVAL_SECONDS = 30


def plan_landing_runs(lake: Lake, settings: Settings) -> tuple[list[dg.RunRequest], list[str]]:
    """Runs for the well-named files directly under landing/; the bad ones are moved aside and named."""
    requests, rejected = [], []
    for key in lake.list(LANDING_PREFIX):
        name = key[len(LANDING_PREFIX) + 1:]
        if "/" in name:  # landing/rejected/... and other folders are not drops
            continue
        try:
            service, month, _ = parse_file_name(name)
            check_month(service, month)
        except CatalogError as exc:
            lake.move(key, f"{REJECTED_PREFIX}/{name}")
            rejected.append(f"{key}: {exc} Moved to {REJECTED_PREFIX}/.")
            continue
        requests.append(dg.RunRequest(
            run_key=f"landing:{name}:{lake.version(key)}",
            partition_key=month.key,
            job_name=ingest_job_name(service),
            # the raw asset's op is named after its key
            run_config={"ops": {raw_asset_key(service).to_python_identifier(): {"config": {"landed_key": key}}}},
            tags={"lakehouse/trigger": "lake_landing_sensor", **retry_tags(settings)},
        ))
    return requests, rejected


def build_landing_sensor(settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(
        name="lake_landing_sensor",
        minimum_interval_seconds=min(LANDING_INTERVAL_SECONDS, settings.sensor_interval_seconds),
        default_status=dg.DefaultSensorStatus.RUNNING,
        jobs=INGEST_JOBS,
        description="Takes in files dropped into the lake's landing/ folder (e.g. by gcloud storage cp).",
    )
    def lake_landing_sensor(context: dg.SensorEvaluationContext, lake: LakeResource):
        requests, rejected = plan_landing_runs(lake.get_lake(), settings)
        for message in rejected:
            context.log.warning(message)
        if not requests:
            return dg.SkipReason("nothing new in landing/" + (f"; rejected {len(rejected)}" if rejected else ""))
        return requests

    return lake_landing_sensor
