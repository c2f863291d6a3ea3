"""High Volume FHV on the emulators: made-up months of both TLC layouts (derived from real green trips,
tests/tlc_layouts.py) go through the whole graph on fake-gcs-server + bqemulator and reach the mart
with the figures of the files, which the local target's mart has too (test_fhvhv_pipeline.py)."""

import shutil

import pytest

from lake_assets import materialize_all
from tests.conftest import SAMPLE_MIRROR
from tests.gcp.conftest import BUCKET, PROJECT
from tests.integration.test_fhvhv_pipeline import expected_by_month
from tests.tlc_layouts import fhvhv_month

pytestmark = pytest.mark.gcp

MART = ("select format_date('%Y-%m', cast(revenue_month as date)), sum(total_monthly_trips), "
        "round(sum(revenue_monthly_base_passenger_fare), 2), round(sum(monthly_driver_pay), 2) "
        "from {table} group by 1 order by 1")


def test_fhvhv_rows_of_both_layouts_reach_the_mart_on_the_emulators(
    bigquery_lakehouse, bigquery_emulator, bucket, tmp_path, shared_tlc
):
    import polars as pl

    # The whole sample (the emulator's stand-in for an external table needs files of every service),
    # and a month of the 2019 release beside the sample's published-layout month.
    mirror = tmp_path / "mirror"
    shutil.copytree(SAMPLE_MIRROR, mirror)
    fhvhv_month("2019-03", 1_500, "2019", mirror / "fhvhv" / "fhvhv_tripdata_2019-03.csv.gz")
    files = {"2019-03": pl.read_csv(mirror / "fhvhv/fhvhv_tripdata_2019-03.csv.gz"),
             "2020-10": pl.read_parquet(mirror / "fhvhv/fhvhv_tripdata_2020-10.parquet")}
    bigquery_lakehouse(mirror)

    materialize_all.main([])  # LAKEHOUSE_TARGET=gcp: GCS lake, bqemulator, dbt --target emulator
    layout = {b.name for b in bucket.client.list_blobs(BUCKET, prefix="lakehouse/conformed/fhvhv/")}
    assert layout == {"lakehouse/conformed/fhvhv/year=2019/month=03/part-0.parquet",
                      "lakehouse/conformed/fhvhv/year=2020/month=10/part-0.parquet"}
    on_emulator = bigquery_emulator.rows(MART.format(table=f"`{PROJECT}.marts.dm_monthly_fhvhv_zone_revenue`"))
    # The figures the files give, which the local target's mart gives too (tests/integration/test_fhvhv_pipeline.py,
    # on the same months): so the emulator's mart is the local one, without a second whole run here.
    expected = expected_by_month(files)
    assert {month: tuple(row) for month, *row in on_emulator} == expected
    companies = dict(bigquery_emulator.rows(
        f"select company, sum(total_monthly_trips) from `{PROJECT}.marts.dm_monthly_fhvhv_zone_revenue` group by 1"))
    assert set(companies) == {"Juno", "Uber", "Via", "Lyft"}
    sr_flags = dict(bigquery_emulator.rows(
        f"select cast(source_month as string), count(sr_flag) from `{PROJECT}.core.fact_fhvhv_trips` group by 1"))
    assert sr_flags["2020-10-01"] == 0 and sr_flags["2019-03-01"] > 0

