"""A service's months and rows in the lake, from what the lake already knows: no warehouse scan.

The months are those of the conformed table's current snapshot (what the external table or view reads,
whoever wrote it); each month's rows are the `dagster/row_count` its latest conformed materialization
recorded. A month this Dagster instance has no record of (written by another instance, or before the
instance was reset) is counted from the table's log instead (its files' record counts), so the figures
always describe the lake.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from lake_assets.conformed_table import MonthFiles, month_files, open_table
from lake_assets.lake import Lake
from lake_assets.plain_conformed import plain_month_files, plain_months


@dataclass(frozen=True)
class LakeCounts:
    months: list[str]  # partition keys, YYYY-MM, sorted
    rows: int
    counted_from_files: list[str]  # the months without a recorded row count


def conformed_months(lake: Lake, service: str) -> dict[str, MonthFiles]:
    """Partition key (YYYY-MM) -> the month's files and rows in the current snapshot (a plain Parquet
    lake: its listing, the rows from the files' footers)."""
    if not lake.versioned_tables:
        return {month: plain_month_files(lake, keys) for month, keys in plain_months(lake, service).items()}
    table = open_table(lake, service)
    return {month.key: files for month, files in month_files(table).items()} if table else {}


def recorded_rows(instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: list[str]) -> dict[str, int]:
    """Partition -> `dagster/row_count` of its latest materialization, for the partitions that have one:
    two queries of the event log, however many months."""
    latest = instance.get_latest_storage_id_by_partition(
        asset_key, dg.DagsterEventType.ASSET_MATERIALIZATION, set(partitions))
    if not latest:
        return {}
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, storage_ids=list(latest.values())), limit=len(latest)).records
    rows = {}
    for record in records:
        metadata = record.asset_materialization.metadata
        if "dagster/row_count" in metadata:
            rows[record.partition_key] = metadata["dagster/row_count"].value
    return rows


def lake_counts(instance: dg.DagsterInstance, lake: Lake, service: str, conformed_key: dg.AssetKey) -> LakeCounts:
    if lake.versioned_tables:
        months = conformed_months(lake, service)
        unrecorded_rows = lambda m: months[m].rows  # the table's log counts them
    else:  # the listing, and the footers of unrecorded months only (on GCS each is a download)
        months = plain_months(lake, service)
        unrecorded_rows = lambda m: plain_month_files(lake, months[m]).rows
    recorded = recorded_rows(instance, conformed_key, list(months))
    unrecorded = [m for m in months if m not in recorded]
    rows = sum(recorded[m] for m in months if m in recorded) + sum(unrecorded_rows(m) for m in unrecorded)
    return LakeCounts(months=list(months), rows=rows, counted_from_files=unrecorded)
