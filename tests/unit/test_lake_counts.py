"""The registration's figures come from the conformed table's snapshot and the months' recorded row counts."""

import dagster as dg
import polars as pl

from lake_assets.catalog import Month
from lake_assets.conformed_table import commit_month, month_reader
from lake_assets.lake import LocalLake
from lake_assets.lake_counts import conformed_months, lake_counts
from lake_assets.schemas import CANONICAL_SCHEMAS

GREEN = dg.AssetKey("green_tripdata")


def write_month(lake: LocalLake, year: int, month: int, rows: int) -> None:
    frame = pl.DataFrame({"fare_amount": [1.0] * rows}).with_columns(
        pl.lit(None, t).alias(c) for c, t in CANONICAL_SCHEMAS["green"].items() if c != "fare_amount")
    batches = frame.select(CANONICAL_SCHEMAS["green"].names()).to_arrow().to_batches()
    commit_month(lake, "green", Month(year, month), lambda: month_reader(iter(batches), "green", Month(year, month)), {})


def record(instance: dg.DagsterInstance, partition: str, rows: int) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(GREEN, partition=partition, metadata={"dagster/row_count": rows}))


def test_months_are_the_listing_and_rows_the_latest_recorded_counts_else_the_files(tmp_path):
    lake = LocalLake(tmp_path / "lake")
    write_month(lake, 2020, 10, 7)
    write_month(lake, 2020, 11, 5)
    write_month(lake, 2023, 12, 3)
    (tmp_path / "lake" / "conformed" / "green" / "notes.txt").write_text("not a month")
    write_month(lake, 2020, 11, 5)  # 2020-11 republished: the snapshot counts its current files only
    with dg.instance_for_test() as instance:
        record(instance, "2020-10", 1)
        record(instance, "2020-10", 700)  # the latest materialization of a month counts
        record(instance, "2020-11", 500)
        record(instance, "2021-01", 9_999)  # recorded, but no longer in the lake: not registered
        counts = lake_counts(instance, lake, "green", GREEN)
    # The recorded counts are taken as they are; 2023-12, unrecorded, is counted from the table's log.
    assert counts.months == ["2020-10", "2020-11", "2023-12"]
    assert counts.rows == 700 + 500 + 3
    assert counts.counted_from_files == ["2023-12"]


def test_an_empty_lake_has_no_months(tmp_path):
    lake = LocalLake(tmp_path / "lake")
    assert conformed_months(lake, "green") == {}
    with dg.instance_for_test() as instance:
        counts = lake_counts(instance, lake, "green", GREEN)
    assert (counts.months, counts.rows, counts.counted_from_files) == ([], 0, [])
