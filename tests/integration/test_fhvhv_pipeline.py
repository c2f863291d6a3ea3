"""High Volume FHV end to end on the local target: made-up months of both TLC layouts (derived from
real green trips, tests/tlc_layouts.py) land, conform and reach fact_fhvhv_trips and the mart."""

import shutil

import polars as pl
import pytest

from tests.conftest import SAMPLE_MIRROR, SHARED_TLC
from tests.helpers import load_defs, materialize, query, unpartitioned_keys
from tests.tlc_layouts import fhvhv_month

MONTHS = {"2019-03": "2019 release", "2020-10": "2022 republication"}
FHVHV_MODELS = ["stg_fhvhv_tripdata", "fact_fhvhv_trips", "int_fhvhv_zone_revenue_by_source_month",
                "dm_monthly_fhvhv_zone_revenue"]


def expected_by_month(files: dict[str, pl.DataFrame]) -> dict[str, tuple]:
    """Per month, from the files themselves: trips with both zones known, their base fares and driver pay."""
    zones = pl.read_csv(SHARED_TLC / "taxi_zone_lookup.csv").filter(pl.col("Borough") != "Unknown")["LocationID"]
    expected = {}
    for month, df in files.items():
        known = df.filter(pl.col("PULocationID").is_in(zones.implode()) & pl.col("DOLocationID").is_in(zones.implode()))
        fares = known["base_passenger_fare"].sum() if "base_passenger_fare" in known.columns else None
        pay = known["driver_pay"].sum() if "driver_pay" in known.columns else None
        expected[month] = (known.height, None if fares is None else round(fares, 2), None if pay is None else round(pay, 2))
    return expected


@pytest.fixture
def fhvhv_lakehouse(lakehouse_env, tmp_path, shared_tlc):
    mirror = tmp_path / "mirror"
    (mirror / "fhvhv").mkdir(parents=True)
    shutil.copyfile(SAMPLE_MIRROR / "fhvhv/fhvhv_tripdata_2020-10.parquet", mirror / "fhvhv/fhvhv_tripdata_2020-10.parquet")
    fhvhv_month("2019-03", 1_500, "2019", mirror / "fhvhv" / "fhvhv_tripdata_2019-03.csv.gz")
    lakehouse_env(mirror)
    defs = load_defs()
    for month, layout in MONTHS.items():
        result = materialize(defs, ["raw_fhvhv_tripdata", "fhvhv_tripdata"], partition_key=month)
        assert result.asset_materializations_for_node("fhvhv_tripdata")[0].metadata["layout"].value == layout
    results = [materialize(defs, unpartitioned_keys(defs, downstream_of_monthly=False))]
    # One run per month, as make run and Dagster's backfills do.
    results += [materialize(defs, FHVHV_MODELS, partition_key=month) for month in MONTHS]
    files = {"2019-03": pl.read_csv(mirror / "fhvhv/fhvhv_tripdata_2019-03.csv.gz"),
             "2020-10": pl.read_parquet(mirror / "fhvhv/fhvhv_tripdata_2020-10.parquet")}
    return tmp_path / "warehouse.duckdb", results, files


def test_fhvhv_rows_of_both_layouts_reach_the_mart(fhvhv_lakehouse):
    db, results, files = fhvhv_lakehouse
    built = {e.asset_key.to_user_string() for r in results for e in r.get_asset_materialization_events()}
    assert {"hvfhs_licenses", *FHVHV_MODELS} <= built
    checks = [c for r in results for c in r.get_asset_check_evaluations()]
    assert any(c.asset_key.to_user_string() == "stg_fhvhv_tripdata" for c in checks)
    assert all(c.passed for c in checks)  # every dbt test of the runs, fhvhv's included

    assert dict(query(db, "select strftime(source_month, '%Y-%m'), count(*) from staging.stg_fhvhv_tripdata "
                          "group by 1")) == {"2019-03": 1_500, "2020-10": 3_000}
    mart = query(db, "select strftime(revenue_month, '%Y-%m'), sum(total_monthly_trips), "
                     "round(sum(revenue_monthly_base_passenger_fare), 2), round(sum(monthly_driver_pay), 2) "
                     "from marts.dm_monthly_fhvhv_zone_revenue group by 1 order by 1")
    assert {month: tuple(row) for month, *row in mart} == expected_by_month(files)
    companies = dict(query(db, "select company, sum(total_monthly_trips) from marts.dm_monthly_fhvhv_zone_revenue "
                               "group by 1"))
    assert set(companies) == {"Juno", "Uber", "Via", "Lyft"} and companies["Uber"] > companies["Lyft"]
    # The 2019 release's shared-ride flag is kept in its months only.
    sr_flags = dict(query(db, "select strftime(source_month, '%Y-%m'), count(sr_flag) from core.fact_fhvhv_trips "
                              "group by 1"))
    assert sr_flags["2019-03"] > 0 and sr_flags["2020-10"] == 0
