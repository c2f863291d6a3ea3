"""The schema history through Dagster: a real yellow 2018 month in the 2018 layout, the same month
damaged, made-up fhvhv months in both of the TLC's layouts, landed, conformed and registered, and the
late fee columns of yellow carried from the lake to fact_trips."""

import shutil

import polars as pl
import pytest

from tests.conftest import SHARED_TLC
from tests.helpers import (
    conformed_files,
    load_defs,
    materialize,
    monthly_keys,
    query,
    sha256,
    step_errors,
    unpartitioned_keys,
)
from tests.tlc_layouts import fhvhv_month, write_csv_gz, yellow_2018_layout, yellow_official_layout

YELLOW_KEYS = ["raw_yellow_tripdata", "yellow_tripdata", "ext_yellow_tripdata"]


@pytest.fixture
def yellow_2018(lakehouse_env, tmp_path, shared_tlc):
    """A mirror holding yellow 2018-06 in the 2018 layout (17 columns), landed, conformed and registered."""
    mirror = tmp_path / "mirror"
    write_csv_gz(yellow_2018_layout(), mirror / "yellow" / "yellow_tripdata_2018-06.csv.gz")
    lakehouse_env(mirror)
    defs = load_defs()
    result = materialize(defs, YELLOW_KEYS, partition_key="2018-06")
    return defs, mirror, tmp_path, result


def test_a_2018_month_without_congestion_surcharge_loads_every_row(yellow_2018):
    _, _, tmp, result = yellow_2018
    metadata = result.asset_materializations_for_node("yellow_tripdata")[0].metadata
    assert metadata["dagster/row_count"].value == 10_000
    assert metadata["columns_not_published"].value["congestion_surcharge"] == (
        "not published yet in 2018-06: published from 2019-01")
    assert metadata["layout"].value == "published"
    assert query(tmp / "warehouse.duckdb", "select count(*), count(congestion_surcharge), round(sum(fare_amount), 2) "
                 "from lake.ext_yellow_tripdata") == [
        (10_000, 0, round(yellow_2018_layout()["fare_amount"].cast(pl.Float64).sum(), 2))]


def test_the_month_without_fare_amount_fails_and_leaves_lake_and_warehouse_as_they_were(yellow_2018):
    defs, mirror, tmp, _ = yellow_2018
    raw = tmp / "lake" / "raw" / "yellow" / "yellow_tripdata_2018-06.csv.gz"
    before = (sha256(raw), conformed_files(tmp / "lake", "yellow"))
    view = "select count(*), round(sum(fare_amount), 2) from lake.ext_yellow_tripdata"
    warehouse_before = query(tmp / "warehouse.duckdb", view)

    # The source republishes the month without fare_amount: the landing refuses it.
    (mirror / "yellow" / "yellow_tripdata_2018-06.csv.gz").unlink()
    bad = write_csv_gz(yellow_2018_layout().drop("fare_amount"), mirror / "yellow" / "yellow_tripdata_2018-06.csv.gz")
    result = materialize(defs, YELLOW_KEYS, partition_key="2018-06", raise_on_error=False)
    assert not result.success
    errors = step_errors(result)
    assert "yellow_tripdata_2018-06.csv.gz" in errors and "yellow 2018-06" in errors
    assert "'fare_amount'" in errors and "from 2011-01" in errors
    assert (sha256(raw), conformed_files(tmp / "lake", "yellow")) == before
    assert query(tmp / "warehouse.duckdb", view) == warehouse_before

    # The same bytes put straight into raw/ (another tool, or a lake from before the history): the
    # conform refuses them before writing the month.
    shutil.copyfile(bad, raw)
    result = materialize(defs, ["yellow_tripdata", "ext_yellow_tripdata"], partition_key="2018-06",
                         raise_on_error=False)
    assert not result.success and "'fare_amount'" in step_errors(result)
    assert conformed_files(tmp / "lake", "yellow") == before[1]
    assert query(tmp / "warehouse.duckdb", view) == warehouse_before
    assert not list((tmp / "lake" / ".tmp").iterdir())


def test_fhvhv_months_of_both_layouts_land_conform_and_register(lakehouse_env, tmp_path, shared_tlc):
    mirror = tmp_path / "mirror"
    fhvhv_month("2019-03", 400, "2019", mirror / "fhvhv" / "fhvhv_tripdata_2019-03.csv.gz")
    fhvhv_month("2020-10", 600, "published", mirror / "fhvhv" / "fhvhv_tripdata_2020-10.parquet")
    lakehouse_env(mirror)
    defs = load_defs()
    layouts = {}
    for month in ("2019-03", "2020-10"):
        result = materialize(defs, ["raw_fhvhv_tripdata", "fhvhv_tripdata"], partition_key=month)
        layouts[month] = result.asset_materializations_for_node("fhvhv_tripdata")[0].metadata["layout"].value
    assert layouts == {"2019-03": "2019 release", "2020-10": "2022 republication"}
    materialize(defs, ["ext_fhvhv_tripdata"])
    rows = query(tmp_path / "warehouse.duckdb",
                 "select year, month, count(*), count(SR_Flag), count(driver_pay), count(distinct hvfhs_license_num) "
                 "from lake.ext_fhvhv_tripdata group by all order by 1, 2")
    assert rows[0][:3] == (2019, 3, 400) and rows[0][3] > 0 and rows[0][4] == 0
    assert rows[1][:5] == (2020, 10, 600, 0, 600) and rows[1][5] == 4


def test_the_late_fees_of_yellow_reach_staging_and_fact_trips(lakehouse_env, tmp_path, shared_tlc):
    """Yellow 2025-01 in the official layout: the real trips of the 2020-01 sample with the fees of 2025,
    whose values are MADE UP (airport_fee 1.75 on every 4th trip, cbd_congestion_fee 0.75 on every 3rd,
    congestion_surcharge 2.5 on every 2nd), as the TLC's files carry them from 2025-01."""
    index = pl.int_range(pl.len())
    trips = yellow_official_layout("2020-01").with_columns(
        pl.when(index % 2 == 0).then(2.5).otherwise(0.0).alias("congestion_surcharge"),
        pl.when(index % 4 == 0).then(1.75).otherwise(0.0).alias("airport_fee"),
        pl.when(index % 3 == 0).then(0.75).otherwise(0.0).alias("cbd_congestion_fee"),
    )
    mirror = tmp_path / "mirror" / "yellow"
    mirror.mkdir(parents=True)
    trips.write_parquet(mirror / "yellow_tripdata_2025-01.parquet")
    lakehouse_env(tmp_path / "mirror")
    defs = load_defs()
    materialize(defs, ["raw_yellow_tripdata", "yellow_tripdata"], partition_key="2025-01")
    materialize(defs, unpartitioned_keys(defs, downstream_of_monthly=False))
    materialize(defs, monthly_keys(defs), partition_key="2025-01")

    fees = ("congestion_surcharge", "airport_fee", "cbd_congestion_fee")
    sums = ", ".join(f"round(sum({fee}), 2)" for fee in fees)
    zones = pl.read_csv(SHARED_TLC / "taxi_zone_lookup.csv").filter(pl.col("Borough") != "Unknown")["LocationID"]
    known = trips.filter(pl.col("PULocationID").is_in(zones.implode()) & pl.col("DOLocationID").is_in(zones.implode()))
    db = tmp_path / "warehouse.duckdb"
    assert query(db, f"select count(*), {sums} from staging.stg_yellow_tripdata") == [
        (trips.height, *(round(trips[fee].sum(), 2) for fee in fees))]
    assert query(db, f"select count(*), {sums} from core.fact_trips") == [
        (known.height, *(round(known[fee].sum(), 2) for fee in fees))]
