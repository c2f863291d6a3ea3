"""The lakehouse keeps itself current in the real daemon: sensors land months, automation builds them."""

import shutil

import duckdb
import pytest

from tests.conftest import SAMPLE_MIRROR
from tests.helpers import query

pytestmark = pytest.mark.e2e


def test_a_month_appearing_at_the_source_is_landed_and_built_into_fact_trips(dagster_dev, shared_tlc):
    dagster_dev.wait_for("green 2020-10 landed by tlc_source_sensor",
                         lambda: "2020-10" in dagster_dev.materialized_partitions("green_tripdata"))
    dagster_dev.wait_for("fact_trips 2020-10 built by automation",
                         lambda: "2020-10" in dagster_dev.materialized_partitions("fact_trips"))

    # A new month appears at the source: a real one of 2021, never the month test_asset_pages.py's
    # freshness check expects to be late (2023-12 or 2024-01), so the two modules run in either order.
    shutil.copyfile(shared_tlc / "green/green_tripdata_2021-01.parquet",
                    dagster_dev.mirror / "green/green_tripdata_2021-01.parquet")
    dagster_dev.wait_for("fact_trips 2021-01 built by automation",
                         lambda: "2021-01" in dagster_dev.materialized_partitions("fact_trips"))
    assert (dagster_dev.lake / "raw/green/green_tripdata_2021-01.parquet").is_file()
    assert dagster_dev.materialized_partitions("raw_green_tripdata") == {"2020-10", "2021-01"}


def test_a_file_dropped_in_landing_is_taken_in_once(dagster_dev):
    landing = dagster_dev.lake / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SAMPLE_MIRROR / "yellow/yellow_tripdata_2020-11.csv.gz", landing / "yellow_tripdata_2020-11.csv.gz")
    (landing / "yellow_2020-11.csv").write_text("not a TLC file name\n")
    # A month past the newest partition (2024-01 here) once failed every tick: now set aside, with its reason.
    shutil.copyfile(SAMPLE_MIRROR / "green/green_tripdata_2023-12.parquet", landing / "green_tripdata_2024-02.parquet")
    dagster_dev.wait_for("yellow 2020-11 taken in from landing/",
                         lambda: "2020-11" in dagster_dev.materialized_partitions("yellow_tripdata"))
    dagster_dev.wait_for("fact_trips 2020-11 built by automation",
                         lambda: "2020-11" in dagster_dev.materialized_partitions("fact_trips"))
    assert not (landing / "yellow_tripdata_2020-11.csv.gz").exists()
    assert (dagster_dev.lake / "raw/yellow/yellow_tripdata_2020-11.csv.gz").is_file()
    assert (landing / "rejected/yellow_2020-11.csv").is_file()
    assert "is not of the form" in (landing / "rejected/yellow_2020-11.csv.reason.txt").read_text()
    assert (landing / "rejected/green_tripdata_2024-02.parquet").is_file()
    assert "green month 2024-02 is out of range: green has months from 2013-08 to 2024-01" in (
        landing / "rejected/green_tripdata_2024-02.parquet.reason.txt").read_text()
    assert dagster_dev.materialized_partitions("raw_yellow_tripdata") == {"2020-11"}  # taken in once
    dagster_dev.wait_for("the marts rebuilt over both services", lambda: _services_in_marts(dagster_dev) == ["Green", "Yellow"])


def test_a_sensor_run_that_fails_is_retried_by_the_daemon(dagster_dev):
    path = "/yellow/yellow_tripdata_2020-12.parquet"
    # Every GET of the first run fails (1 + TLC_DOWNLOAD_RETRIES, default 3): the run fails; the retry's GET is served.
    dagster_dev.source.faults[path] = ["500"] * 4 + ["ok"]
    (dagster_dev.mirror / "yellow").mkdir(exist_ok=True)
    shutil.copyfile(SAMPLE_MIRROR / "yellow/yellow_tripdata_2020-12.parquet", dagster_dev.mirror / path.lstrip("/"))

    dagster_dev.wait_for("a failed run of yellow 2020-12, then its retry finished",
                         lambda: [r["status"] for r in dagster_dev.runs("ingest_yellow", "2020-12")] == ["FAILURE", "SUCCESS"])
    first, retry = dagster_dev.runs("ingest_yellow", "2020-12")
    assert first["status"] == "FAILURE" and first["tags"]["lakehouse/trigger"] == "tlc_source_sensor"
    assert first["tags"]["dagster/max_retries"] == "2" and first["tags"]["dagster/will_retry"] == "true"
    assert retry["status"] == "SUCCESS" and retry["tags"]["dagster/retry_number"] == "1"
    assert retry["tags"]["dagster/parent_run_id"] == first["id"]
    assert dagster_dev.source.gets(path) == 5
    assert (dagster_dev.lake / "raw/yellow/yellow_tripdata_2020-12.parquet").is_file()
    assert "2020-12" in dagster_dev.materialized_partitions("yellow_tripdata")
    dagster_dev.wait_for("fact_trips 2020-12 built by automation",
                         lambda: "2020-12" in dagster_dev.materialized_partitions("fact_trips"))


def _services_in_marts(dev) -> list[str]:
    try:
        return [r[0] for r in query(dev.duckdb, "select distinct service_type from marts.dm_monthly_zone_revenue order by 1")]
    except duckdb.Error:  # the warehouse is busy (one writer) or the mart is not built yet
        return []
