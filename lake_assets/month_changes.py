"""What a republication changed in a conformed month: the month at the version before against the new one.

Trips are compared by a trip key: a hash of the canonical columns both versions' files published (a
column the TLC adds, null before, is left out of it, so adding it does not make every trip "changed").
Trips are counted as a multiset: a trip published twice and now once is one trip removed. A trip whose
fare was corrected is one removed and one added. The key is a 64-bit hash computed for both sides in
the same process: two different trips share one with a chance of about n^2 / 2^65 (1e-5 for 20M trips).
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import polars as pl

from lake_assets.catalog import Month
from lake_assets.conformed_table import PARTITION_BY, commit_of, month_files, open_table, scan_month
from lake_assets.lake import Lake
from lake_assets.schemas import CANONICAL_SCHEMAS


@dataclass(frozen=True)
class MonthChanges:
    version_before: int
    version_after: int
    source_before: str  # sha256 of the raw version each snapshot was conformed from ("" when not recorded)
    source_after: str
    rows_before: int
    rows_after: int
    trips_added: int
    trips_removed: int
    columns_added: list[str]  # by the source file (the TLC), against the version before
    columns_dropped: list[str]
    table_columns_added: list[str]  # to the conformed table's schema between the two versions
    key_columns: list[str]

    @property
    def removed_share(self) -> float:
        return self.trips_removed / self.rows_before if self.rows_before else 0.0

    def as_metadata(self) -> dict:
        return {
            "versions_compared": f"{self.version_before} -> {self.version_after}",
            "source_sha256_before": self.source_before,
            "rows_before": self.rows_before,
            "rows_after": self.rows_after,
            "trips_added": self.trips_added,
            "trips_removed": self.trips_removed,
            "columns_added": dg.MetadataValue.json(self.columns_added),
            "columns_dropped": dg.MetadataValue.json(self.columns_dropped),
            "table_columns_added": dg.MetadataValue.json(self.table_columns_added),
            "trip_key_columns": dg.MetadataValue.json(self.key_columns),
        }


def trip_counts(lf: pl.LazyFrame, key_columns: list[str], side: str) -> pl.LazyFrame:
    return lf.select(pl.struct(key_columns).hash(seed=0).alias("trip_key")).group_by("trip_key").agg(
        pl.len().alias(side))


def count_changes(before: pl.LazyFrame, after: pl.LazyFrame, key_columns: list[str]) -> tuple[int, int]:
    """(trips added, trips removed) from `before` to `after`, by the hash of `key_columns`, as multisets."""
    joined = trip_counts(before, key_columns, "n_before").join(
        trip_counts(after, key_columns, "n_after"), on="trip_key", how="full", coalesce=True
    ).fill_null(0)
    diff = pl.col("n_after").cast(pl.Int64) - pl.col("n_before").cast(pl.Int64)
    row = joined.select(diff.clip(lower_bound=0).sum().alias("added"),
                        (-diff).clip(lower_bound=0).sum().alias("removed")).collect(engine="streaming")
    return int(row["added"][0] or 0), int(row["removed"][0] or 0)


def month_changes(lake: Lake, service: str, month: Month, before: int, after: int) -> MonthChanges | None:
    """The month's changes from table version `before` to `after`; None when it was not in `before`."""
    table_before = open_table(lake, service, before)
    files_before = month_files(table_before).get(month)
    if files_before is None:
        return None
    table_after = open_table(lake, service, after)
    rows_after = month_files(table_after)[month].rows
    history = open_table(lake, service)
    commit_before, commit_after = commit_of(history, month, before), commit_of(history, month, after)
    published_before = commit_before.source_columns if commit_before else None
    published_after = commit_after.source_columns if commit_after else None
    canonical = CANONICAL_SCHEMAS[service].names()
    if published_before is not None and published_after is not None:
        key_columns = [c for c in canonical if c in published_before and c in published_after]
        columns_added = [c for c in published_after if c not in published_before]
        columns_dropped = [c for c in published_before if c not in published_after]
    else:  # a month migrated from the plain Parquet lake records no source columns: every canonical column
        key_columns, columns_added, columns_dropped = list(canonical), [], []
    names_before = [f.name for f in table_before.schema().fields]
    names_after = [f.name for f in table_after.schema().fields]
    table_columns_added = [c for c in names_after if c not in names_before and c not in PARTITION_BY]
    key_columns = [c for c in key_columns if c in names_before and c in names_after]  # both snapshots have them
    added, removed = count_changes(scan_month(lake, service, month, before), scan_month(lake, service, month, after),
                                   key_columns)
    return MonthChanges(
        version_before=before, version_after=after,
        source_before=commit_before.metadata.get("lakehouse.source_sha256", "") if commit_before else "",
        source_after=commit_after.metadata.get("lakehouse.source_sha256", "") if commit_after else "",
        rows_before=files_before.rows, rows_after=rows_after, trips_added=added, trips_removed=removed,
        columns_added=columns_added, columns_dropped=columns_dropped, table_columns_added=table_columns_added,
        key_columns=key_columns,
    )
