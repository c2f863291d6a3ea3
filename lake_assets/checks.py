"""Asset checks of a conformed month, run with every materialization of it.

rows_match_raw is blocking: downstream assets do not run on a month that lost or gained rows.
The others warn: nulls and pickups outside the month are facts about the TLC data, reported with
counts, not reasons to stop the pipeline.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from lake_assets.conform import ConformReport
from lake_assets.lake import Lake


def conformed_check_specs(asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec("rows_match_raw", asset=asset_key, blocking=True,
                          description="The published Parquet has as many rows as the raw file."),
        dg.AssetCheckSpec("required_columns_not_null", asset=asset_key,
                          description="Pickup/dropoff times and the other required columns have no nulls."),
        dg.AssetCheckSpec("pickups_within_month", asset=asset_key,
                          description="Pickups fall in the partition's month (rows outside are kept, and counted)."),
    ]


def conformed_check_results(lake: Lake, key: str, raw_rows: int, report: ConformReport) -> list[dg.AssetCheckResult]:
    with lake.local_copy(key) as published:
        published_rows = pl.scan_parquet(published).select(pl.len()).collect().item()
    nulls = {column: count for column, count in report.null_counts.items() if count}
    return [
        dg.AssetCheckResult(
            check_name="rows_match_raw",
            passed=published_rows == raw_rows,
            metadata={"raw_rows": raw_rows, "conformed_rows": published_rows},
        ),
        dg.AssetCheckResult(
            check_name="required_columns_not_null",
            passed=not nulls,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"null_counts": dg.MetadataValue.json(report.null_counts)},
        ),
        dg.AssetCheckResult(
            check_name="pickups_within_month",
            passed=report.rows_outside_month == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"rows_outside_month": report.rows_outside_month,
                      "pickup_min": str(report.pickup_min), "pickup_max": str(report.pickup_max)},
        ),
    ]
