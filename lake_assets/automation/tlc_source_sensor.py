"""tlc_source_sensor: asks the source which months appeared or changed, and requests one run each.

The cursor maps service/month to the version the source showed (ETag, or size and Last-Modified;
for a file:// mirror also the sha256), so a month is requested once per version, across daemon
restarts. A month outside the service's partitions (a mirror may hold one) is refused and named once. A month already in the lake with the same sha256 is recorded, not requested again.
"""

import json
from datetime import datetime

import dagster as dg

from lake_assets.catalog import (
    FIRST_MONTH,
    SERVICES,
    CatalogError,
    Month,
    check_partition,
    newest_expected_month,
)
from lake_assets.checksum import sha256_of
from lake_assets.lake import Lake, raw_object_key
from lake_assets.resources import LakeResource, TlcSourceResource
from lake_assets.settings import Settings
from lake_assets.source import TlcSource

from .schedules import INGEST_JOBS, ingest_job_name, retry_tags


def months_to_probe(source: TlcSource, service: str, now: datetime, settings: Settings) -> list[Month]:
    """A file:// mirror is listed; an http source is asked about each month of a recent window."""
    newest = newest_expected_month(now, settings.publication_lag_months)
    first = max(Month.parse(FIRST_MONTH[service]),
                Month.parse(settings.sensor_first_month) if settings.sensor_first_month else newest.shift(-2))
    if source.url_template.startswith("file://"):
        return source.list_months(service)  # every month it holds: plan_source_runs refuses those out of range
    months, month = [], first
    while month <= newest:
        months.append(month)
        month = month.shift(1)
    return months


def _lake_sha256(lake: Lake, service: str, file_name: str) -> str | None:
    key = raw_object_key(service, file_name)
    if not lake.exists(key):
        return None
    with lake.local_copy(key) as path:
        return sha256_of(path)


def plan_source_runs(
    source: TlcSource, lake: Lake, cursor: dict, now: datetime, settings: Settings
) -> tuple[list[dg.RunRequest], dict, list[str]]:
    """The runs to request, the new cursor, and what was seen (for the tick's log)."""
    cursor, requests, notes = dict(cursor), [], []
    for service in SERVICES:
        for month in months_to_probe(source, service, now, settings):
            key = f"{service}/{month}"
            seen = cursor.get(key, {})
            try:
                check_partition(service, month, settings.publication_lag_months, now)
            except CatalogError as exc:  # said once, checked again every tick (time brings a month in range)
                if not seen.get("refused"):
                    cursor[key] = {"refused": True}
                    notes.append(f"{service} {month} refused: {exc}")
                continue
            published = source.head(service, month)
            if published is None:  # not published yet: normal
                continue
            if seen.get("version") == published.version:
                continue
            sha = sha256_of(published.local_path) if published.local_path else None
            if sha is not None and sha in (seen.get("sha256"), _lake_sha256(lake, service, published.file_name)):
                cursor[key] = {"version": published.version, "sha256": sha}  # same bytes as landed
                continue
            if sha is None and not seen and lake.exists(raw_object_key(service, published.file_name)):
                cursor[key] = {"version": published.version}  # landed before the sensor first saw it
                continue
            cursor[key] = {"version": published.version, **({"sha256": sha} if sha else {})}
            requests.append(dg.RunRequest(
                run_key=f"{service}:{month}:{sha or published.version}",
                partition_key=month.key,
                job_name=ingest_job_name(service),
                tags={"lakehouse/trigger": "tlc_source_sensor", **retry_tags(settings)},
            ))
            notes.append(f"{published.file_name} ({'new' if not seen else 'changed'})")
    return requests, cursor, notes


def build_tlc_source_sensor(settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(
        name="tlc_source_sensor",
        minimum_interval_seconds=settings.sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        jobs=INGEST_JOBS,
        description="Requests a run for each month that appeared or changed at the TLC source.",
    )
    def tlc_source_sensor(context: dg.SensorEvaluationContext, lake: LakeResource, tlc_source: TlcSourceResource):
        requests, cursor, notes = plan_source_runs(
            tlc_source.get_source(), lake.get_lake(), json.loads(context.cursor or "{}"), datetime.now(), settings
        )
        if notes:
            context.log.info("at the source: " + "; ".join(notes))
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor, sort_keys=True))

    return tlc_source_sensor
