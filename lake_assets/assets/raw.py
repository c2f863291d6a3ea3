"""raw_<service>_tripdata: the month's file as published, landed in raw/ unchanged (ELT: load as-is)."""


import shutil
from pathlib import Path

import dagster as dg

from lake_assets.asset_keys import raw_asset_key
from lake_assets.catalog import (
    FORMATS,
    CatalogError,
    Month,
    check_partition,
    file_name,
    format_of,
    parse_file_name,
)
from lake_assets.checksum import sha256_of
from lake_assets.conform import ConformError, RawFile, validate_raw
from lake_assets.graph_names import DOWNLOAD_POOL, RAW_GROUP
from lake_assets.lake import Lake, raw_object_key, raw_version_key, raw_versions_prefix
from lake_assets.landing import Drop, reject
from lake_assets.resources import LakeResource, TlcSourceResource
from lake_assets.settings import Settings
from lake_assets.source import FetchedFile, MonthNotPublished

DESCRIPTION = "The {service} trip file of the month, byte for byte as the TLC source publishes it."


def download_retry_policy(settings: Settings) -> dg.RetryPolicy:
    """Retries of a failed download: exponential backoff with jitter, so retries do not stampede."""
    return dg.RetryPolicy(
        max_retries=settings.download_retries,
        delay=settings.download_retry_delay_seconds,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    )


class RawTripConfig(dg.Config):
    """Where the month's file comes from: the TLC source (default), or a file dropped in landing/."""

    landed_key: str | None = None


def current_raw_sha256(lake: Lake, service: str, month: Month) -> str | None:
    """sha256 of the month's current raw file (either format), None before its first landing. Hashed from
    the lake rather than taken from Dagster's records, which another instance or a reset may not have."""
    for ext in FORMATS:
        key = raw_object_key(service, file_name(service, month, ext))
        if lake.exists(key):
            with lake.local_copy(key) as path:
                return sha256_of(path)
    return None


def build_raw_asset(service: str, partitions_def: dg.PartitionsDefinition, settings: Settings) -> dg.AssetsDefinition:
    @dg.asset(
        key=raw_asset_key(service),
        partitions_def=partitions_def,
        group_name=RAW_GROUP,
        kinds={"file"},
        description=DESCRIPTION.format(service=service),
        retry_policy=download_retry_policy(settings),
        pool=DOWNLOAD_POOL,
        output_required=False,
        tags={"service": service},
    )
    def raw_tripdata(
        context: dg.AssetExecutionContext, config: RawTripConfig, lake: LakeResource, tlc_source: TlcSourceResource
    ):
        month = Month.parse(context.partition_key)
        # A run launched by hand (UI, CLI) may name any key its partitions had when it was launched,
        # or a drop of another service or month: refused before anything is read or written.
        try:
            check_partition(service, month, settings.publication_lag_months)
            if config.landed_key and parse_file_name(Path(config.landed_key).name)[:2] != (service, month):
                raise CatalogError(f"{config.landed_key} is not the {service} file of {month}.")
        except CatalogError as exc:
            raise dg.Failure(description=f"{exc} Nothing was landed.", allow_retries=False) from exc
        the_lake = lake.get_lake()
        with the_lake.staged() as tmp:
            if config.landed_key:  # dropped into landing/ by another tool (lake_landing_sensor)
                with the_lake.local_copy(config.landed_key) as landed:
                    shutil.copyfile(landed, tmp)
                fetched = FetchedFile(url=the_lake.uri(config.landed_key), file_name=Path(config.landed_key).name,
                                      size_bytes=tmp.stat().st_size, sha256=sha256_of(tmp))
            else:
                try:
                    fetched = tlc_source.get_source().fetch(service, month, tmp)
                except MonthNotPublished as exc:
                    # Not a failure: the month is not out yet. Downstream assets are skipped.
                    context.log.warning(f"{service} {month} is not published yet; nothing landed. {exc}")
                    return
            # A file that is empty, unreadable or lacks a column its month should have never replaces a good one.
            try:
                rows = validate_raw(RawFile(tmp, format_of(fetched.file_name), fetched.file_name, service, month))
            except ConformError as exc:  # the same bytes would fail again: no retry
                message = str(exc)
                drop = Drop(Path(config.landed_key).name, (config.landed_key,)) if config.landed_key else None
                if drop and drop.key == config.landed_key:  # a bad drop is set aside, not left to block landing/
                    message += f" Moved to {reject(the_lake, drop, message)}."
                raise dg.Failure(description=message, allow_retries=False) from exc
            key = raw_object_key(service, fetched.file_name)
            # The version first (create-once, content-addressed), then the current file from it: a run
            # killed in between leaves both whole, and the next run finds the version and copies it.
            replaced = current_raw_sha256(the_lake, service, month)
            version_key = raw_version_key(service, str(month), fetched.sha256, format_of(fetched.file_name))
            version_is_new = not the_lake.exists(version_key)
            if version_is_new:
                the_lake.publish(tmp, version_key)
        if replaced != fetched.sha256 or not the_lake.exists(key):
            the_lake.copy(version_key, key)
        if config.landed_key:
            the_lake.delete(config.landed_key)  # taken in: processed once
        # A month republished in the other format replaces the old file, so one raw file stands per month
        # (its bytes stay in raw_versions/).
        for ext in FORMATS:
            other = raw_object_key(service, file_name(service, month, ext))
            if other != key and the_lake.exists(other):
                the_lake.delete(other)
        versions = the_lake.list(raw_versions_prefix(service, str(month)))
        if replaced == fetched.sha256:
            context.log.info(f"{fetched.file_name} is the version already landed (sha256 {fetched.sha256}): nothing added")
        context.log.info(f"landed {fetched.file_name}: {fetched.size_bytes:,} bytes, {rows:,} rows, sha256 {fetched.sha256}")
        yield dg.MaterializeResult(
            metadata={
                "source_url": dg.MetadataValue.url(fetched.url),
                "lake_uri": the_lake.uri(key),
                "file_name": fetched.file_name,
                "size_bytes": fetched.size_bytes,
                "rows": rows,
                "sha256": fetched.sha256,
                "etag": fetched.etag or "",
                "last_modified": fetched.last_modified or "",
                # the raw versions of the month (raw_versions/<service>/<month>/<sha256>.<ext>)
                "version_landed": fetched.sha256,
                "version_replaced": replaced or "",
                "version_key": the_lake.uri(version_key),
                "version_is_new": version_is_new,
                "versions_of_month": len(versions),
            },
            data_version=dg.DataVersion(fetched.sha256),
        )

    return raw_tripdata
