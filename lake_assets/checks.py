"""Asset checks of a conformed month, run with every materialization of it.

rows_match_raw is blocking: downstream assets do not run on a month that lost or gained rows.
The others warn: nulls, pickups outside the month and trips a republication removed are facts about
the TLC data, reported with counts, not reasons to stop the pipeline.
"""

from __future__ import annotations

import dagster as dg

from lake_assets.month_changes import MonthChanges


def conformed_check_specs(asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec("rows_match_raw", asset=asset_key, blocking=True,
                          description="The month's committed snapshot has as many rows as the raw file "
                                      "(on a restore: as the version restored)."),
        dg.AssetCheckSpec("required_columns_not_null", asset=asset_key,
                          description="Pickup/dropoff times and the other required columns have no nulls."),
        dg.AssetCheckSpec("pickups_within_month", asset=asset_key,
                          description="Pickups fall in the partition's month (rows outside are kept, and counted)."),
        dg.AssetCheckSpec("republication_keeps_trips", asset=asset_key,
                          description="A republished month removes at most REPUBLICATION_MAX_REMOVED_SHARE of "
                                      "the trips of the version before."),
    ]


def conformed_check_results(published_rows: int, expected_rows: int, null_counts: dict[str, int],
                            stats: dict, changes: MonthChanges | None, max_removed_share: float
                            ) -> list[dg.AssetCheckResult]:
    """`stats`: rows_outside_month, pickup_min, pickup_max of the month as committed."""
    nulls = {column: count for column, count in null_counts.items() if count}
    return [
        dg.AssetCheckResult(
            check_name="rows_match_raw",
            passed=published_rows == expected_rows,
            metadata={"raw_rows": expected_rows, "conformed_rows": published_rows},
        ),
        dg.AssetCheckResult(
            check_name="required_columns_not_null",
            passed=not nulls,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"null_counts": dg.MetadataValue.json(null_counts)},
        ),
        dg.AssetCheckResult(
            check_name="pickups_within_month",
            passed=stats["rows_outside_month"] == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"rows_outside_month": stats["rows_outside_month"],
                      "pickup_min": str(stats["pickup_min"]), "pickup_max": str(stats["pickup_max"])},
        ),
        dg.AssetCheckResult(
            check_name="republication_keeps_trips",
            passed=changes is None or changes.removed_share <= max_removed_share,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"trips_removed": changes.trips_removed if changes else 0,
                      "rows_before": changes.rows_before if changes else 0,
                      "removed_share": round(changes.removed_share, 6) if changes else 0.0,
                      "max_removed_share": max_removed_share,
                      "versions_compared": changes.as_metadata()["versions_compared"] if changes else "first version"},
        ),
    ]
