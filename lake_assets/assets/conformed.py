"""<service>_tripdata: the month conformed onto the service's canonical schema, one commit of the service's
Delta table (lake_assets/conformed_table.py), or a month restored to an earlier version of that table."""


import json
from pathlib import Path

import dagster as dg
import polars as pl

from lake_assets.asset_keys import conformed_asset_key, raw_asset_key
from lake_assets.catalog import FORMATS, Month, file_name, format_of
from lake_assets.checks import conformed_check_results, conformed_check_specs
from lake_assets.conform import RawFile, conform_month, month_stats
from lake_assets.conformed_table import (
    META_OPERATION,
    META_RESTORED_FROM,
    META_SOURCE_COLUMNS,
    META_SOURCE_FILE,
    META_SOURCE_ROWS,
    META_SOURCE_SHA256,
    ConformedTableError,
    MonthFiles,
    commit_month,
    commit_of,
    month_files,
    month_reader_at,
    open_table,
    scan_month,
    staged_parquet_reader,
    table_uri,
    vacuum,
)
from lake_assets.graph_names import CONFORMED_GROUP
from lake_assets.lake import Lake, conformed_object_key, raw_object_key
from lake_assets.month_changes import month_changes
from lake_assets.plain_conformed import publish_month
from lake_assets.resources import LakeResource
from lake_assets.schemas import CANONICAL_SCHEMAS, REQUIRED_COLUMNS
from lake_assets.settings import Settings
from lake_assets.warehouse import WarehouseResource

DESCRIPTION = (
    "{service} trips of the month on the canonical {service} schema: typed, columns the TLC had not "
    "published yet as nulls, nothing dropped. One commit of the Delta table conformed/{service} "
    "(partitioned by year and month) that replaces exactly the month; earlier versions stay readable."
)


class ConformedTripConfig(dg.Config):
    """restore_version: put the month back as it was at this version of the service's conformed table
    (docs/versioned-lake.md, "Restoring a month"), instead of conforming the raw file."""

    restore_version: int | None = None


def find_raw_file(lake: Lake, service: str, month: Month) -> str:
    for ext in FORMATS:
        key = raw_object_key(service, file_name(service, month, ext))
        if lake.exists(key):
            return key
    raise FileNotFoundError(
        f"no raw {service} file for {month} in the lake at {lake.url}: "
        f"materialize {raw_asset_key(service).to_user_string()} first."
    )


def landed_sha256_and_rows(context: dg.AssetExecutionContext, raw_asset: dg.AssetKey) -> tuple[str, int] | None:
    """(sha256, rows) of the partition's raw file as its landing counted them, if recorded."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=raw_asset, asset_partitions=[context.partition_key]), limit=1
    ).records
    metadata = records[0].asset_materialization.metadata if records else {}
    if "sha256" not in metadata or "rows" not in metadata:
        return None
    return metadata["sha256"].value, metadata["rows"].value


def conform_and_commit(context, lake: Lake, service: str, month: Month, raw_asset: dg.AssetKey):
    """Conforms the raw file to a staged Parquet (checked: rows, types), then commits it as the month (a
    plain Parquet lake: publishes it). Returns (table version or None, rows the raw file has, the month's
    stats, metadata of the conform)."""
    raw = find_raw_file(lake, service, month)
    raw_name = Path(raw).name
    landed = landed_sha256_and_rows(context, raw_asset)
    with lake.local_copy(raw) as raw_path, lake.staged() as tmp:
        report, raw_rows, raw_sha256 = conform_month(
            RawFile(raw_path, format_of(raw_name), raw_name, service, month), tmp, landed=landed)
        stats = month_stats(pl.scan_parquet(tmp), service, month)  # the rows the commit publishes
        published = [c for c in CANONICAL_SCHEMAS[service].names() if c not in report.columns_missing]
        if lake.versioned_tables:
            version = commit_month(lake, service, month, lambda: staged_parquet_reader(tmp, service, month), {
                META_OPERATION: "conform", META_SOURCE_FILE: raw_name, META_SOURCE_SHA256: raw_sha256,
                META_SOURCE_ROWS: str(raw_rows), META_SOURCE_COLUMNS: json.dumps(published + report.columns_extra)})
        else:
            version = None
            publish_month(lake, service, month, tmp)
    context.log.info(f"conformed {raw_name}: {report.rows:,} rows -> {table_uri(lake, service)}"
                     + (f" version {version}" if version is not None else ""))
    return version, raw_rows, stats, {
        "source_file": raw_name,
        "source_sha256": raw_sha256,
        "columns_missing": dg.MetadataValue.json(report.columns_missing),
        # why each missing column is drift, not damage (the TLC's schema history)
        "layout": report.layout,
        "columns_not_published": dg.MetadataValue.json(report.columns_not_published),
        "columns_extra": dg.MetadataValue.json(report.columns_extra),
        "columns_cast": dg.MetadataValue.json(report.columns_cast),
    }


def restore_and_commit(context, lake: Lake, service: str, month: Month, restore_version: int):
    """Commits the month as it was at `restore_version`, read from that snapshot's own files.
    Returns (version, rows the restored version has, the month's stats, metadata of the restore)."""
    if not lake.versioned_tables:
        raise dg.Failure(description=f"the lake at {lake.url} keeps one version of each conformed month "
                                     f"(plain Parquet): {service} {month} cannot be restored.", allow_retries=False)
    try:
        table = open_table(lake, service)
        if table is None or not 0 <= restore_version <= table.version():
            raise ConformedTableError(
                f"{table_uri(lake, service)} (partition {service} {month}) has no version {restore_version}"
                + (f": its versions are 0..{table.version()}." if table else ": it has no commit yet."))
        restored = commit_of(table, month, restore_version)
        expected = month_files(open_table(lake, service, restore_version)).get(month)
        month_reader_at(lake, service, month, restore_version)  # refuses a version without the month
    except ConformedTableError as exc:
        raise dg.Failure(description=f"{exc} Nothing was restored.", allow_retries=False) from exc
    source = {k: v for k, v in (restored.metadata if restored else {}).items()
              if k in (META_SOURCE_FILE, META_SOURCE_SHA256, META_SOURCE_ROWS, META_SOURCE_COLUMNS)}
    version = commit_month(lake, service, month, lambda: month_reader_at(lake, service, month, restore_version),
                           {**source, META_OPERATION: "restore", META_RESTORED_FROM: str(restore_version)})
    context.log.info(f"restored {service} {month} to version {restore_version}: version {version}")
    return version, expected.rows, month_stats(scan_month(lake, service, month), service, month), {
        "restored_from_version": restore_version,
        "source_file": source.get(META_SOURCE_FILE, ""),
        "source_sha256": source.get(META_SOURCE_SHA256, ""),
    }


def build_conformed_asset(
    service: str, partitions_def: dg.PartitionsDefinition, raw_asset: dg.AssetsDefinition, settings: Settings
) -> dg.AssetsDefinition:
    asset_key = conformed_asset_key(service)

    @dg.asset(
        key=asset_key,
        partitions_def=partitions_def,
        deps=[raw_asset],
        group_name=CONFORMED_GROUP,
        kinds={"deltalake", "polars"},
        description=DESCRIPTION.format(service=service),
        check_specs=conformed_check_specs(asset_key),
        tags={"service": service},
    )
    def conformed_tripdata(context: dg.AssetExecutionContext, config: ConformedTripConfig, lake: LakeResource,
                           warehouse: WarehouseResource):
        month = Month.parse(context.partition_key)
        the_lake = lake.get_lake()
        if config.restore_version is None:
            version, expected_rows, stats, metadata = conform_and_commit(
                context, the_lake, service, month, raw_asset.key)
        else:
            version, expected_rows, stats, metadata = restore_and_commit(
                context, the_lake, service, month, config.restore_version)
        changes = None
        if version is None:  # a plain Parquet lake: the one file of the month, as staged
            files = MonthFiles([the_lake.uri(conformed_object_key(service, month.year, month.month))], stats["rows"])
        else:
            files = month_files(open_table(the_lake, service))[month]
            # What changed against the month's version before this commit (None: its first version).
            changes = month_changes(the_lake, service, month, version - 1, version) if version > 0 else None
            if changes:
                context.log.info(f"{service} {month} {changes.as_metadata()['versions_compared']}: "
                                 f"{changes.rows_before:,} -> {changes.rows_after:,} rows, {changes.trips_added:,} "
                                 f"trips added, {changes.trips_removed:,} removed")
            # The view reads the snapshot's file list, so it is rewritten now, before anything downstream of
            # this month runs: a staging run of the same automation tick would otherwise read the old list.
            warehouse.register_external_table(service, the_lake)
            removed = vacuum(the_lake, service, settings.conformed_retention_hours)
            if removed:
                context.log.info(f"vacuum: {len(removed)} files of snapshots older than "
                                 f"{settings.conformed_retention_hours} h deleted")
        yield dg.MaterializeResult(
            metadata={
                "dagster/row_count": files.rows,
                "dagster/column_schema": dg.TableSchema(
                    columns=[dg.TableColumn(n, str(t)) for n, t in CANONICAL_SCHEMAS[service].items()]
                ),
                "lake_uri": table_uri(the_lake, service),
                "table_version": -1 if version is None else version,  # -1: a plain Parquet lake
                "files": dg.MetadataValue.json(files.uris),
                **metadata,
                "pickup_min": str(stats["pickup_min"]),
                "pickup_max": str(stats["pickup_max"]),
                "rows_outside_month": stats["outside"],
                "republished": changes is not None,
                **(changes.as_metadata() if changes else {}),
            },
            check_results=conformed_check_results(
                files.rows, expected_rows, {c: stats[f"nulls_{c}"] for c in REQUIRED_COLUMNS[service]},
                {"rows_outside_month": stats["outside"], "pickup_min": stats["pickup_min"],
                 "pickup_max": stats["pickup_max"]},
                changes, settings.republication_max_removed_share),
        )

    return conformed_tripdata
