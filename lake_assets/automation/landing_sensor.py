"""lake_landing_sensor: takes in files other tools drop into the lake's landing/ folder.

A file named {service}_tripdata_YYYY-MM.{parquet|csv.gz} becomes a run of that month's raw and
conformed assets; the raw asset moves it out of landing/ once it has landed, and the run key
(name + version) makes sure one drop is taken in once. A drop that cannot be taken in (its name,
its month out of the service's partitions, its bytes: see landing.py) is moved to landing/rejected/
with its reason beside it and named in the tick's log; the other drops of the tick are requested.
"""

from datetime import datetime

import dagster as dg

from lake_assets.asset_keys import raw_asset_key
from lake_assets.lake import Lake
from lake_assets.landing import (
    REASON_SUFFIX,
    REJECTED_PREFIX,
    DropRejected,
    check_drop,
    landing_drops,
    reject,
)
from lake_assets.resources import LakeResource
from lake_assets.settings import Settings

from .schedules import INGEST_JOBS, ingest_job_name, retry_tags

LANDING_INTERVAL_SECONDS = 30


def plan_landing_runs(
    lake: Lake, settings: Settings, now: datetime | None = None
) -> tuple[list[dg.RunRequest], list[str]]:
    """Runs for the drops that can be taken in; the others are moved aside, and named in the messages."""
    requests, rejected = [], []
    for drop in landing_drops(lake):
        try:
            service, month = check_drop(lake, drop, settings.publication_lag_months, now)
        except DropRejected as exc:
            try:
                where = reject(lake, drop, str(exc))
                rejected.append(f"{exc} Moved to {where} (reason in {where}{REASON_SUFFIX}).")
            except Exception as move_error:  # noqa: BLE001 - one drop must not hold back the tick's others
                rejected.append(f"{exc} Not moved to {REJECTED_PREFIX}/ ({move_error}); left in landing/.")
            continue
        requests.append(dg.RunRequest(
            run_key=f"landing:{drop.name}:{lake.version(drop.key)}",
            partition_key=month.key,
            job_name=ingest_job_name(service),
            # the raw asset's op is named after its key
            run_config={"ops": {raw_asset_key(service).to_python_identifier(): {"config": {"landed_key": drop.key}}}},
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
