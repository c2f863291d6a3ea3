"""The conformed layer as plain Parquet partitions, conformed/<service>/year=YYYY/month=MM/part-0.parquet:
the layout of a lake whose store cannot hold the versioned table yet (GCS: delta-rs reaches GCS through
object_store's XML API, which fake-gcs-server does not serve, so the offline tests cannot prove it; see
docs/architecture.md, "Versions of the lake"). One version per month: a conform replaces the month's
file in one publish (the lake's atomic write), and BigQuery reads the folders as hive partitions.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from lake_assets.catalog import Month
from lake_assets.conformed_table import MonthFiles
from lake_assets.lake import Lake, conformed_object_key, conformed_prefix


def publish_month(lake: Lake, service: str, month: Month, staged: Path) -> str:
    key = conformed_object_key(service, month.year, month.month)
    lake.publish(staged, key)
    return key


def plain_months(lake: Lake, service: str) -> dict[str, list[str]]:
    """Partition key (YYYY-MM) -> the month's object keys, from the listing of conformed/<service>/."""
    pattern = re.compile(rf"^{re.escape(conformed_prefix(service))}/year=(\d{{4}})/month=(\d{{2}})/[^/]+\.parquet$")
    months: dict[str, list[str]] = {}
    for key in lake.list(conformed_prefix(service)):
        if match := pattern.match(key):
            months.setdefault(f"{match[1]}-{match[2]}", []).append(key)
    return dict(sorted(months.items()))


def plain_month_files(lake: Lake, keys: list[str]) -> MonthFiles:
    """The month's files with their rows, from the Parquet footers (on GCS: each file is downloaded)."""
    rows = 0
    for key in keys:
        with lake.local_copy(key) as path:
            rows += pl.scan_parquet(path).select(pl.len()).collect().item()
    return MonthFiles([lake.uri(key) for key in keys], rows)
