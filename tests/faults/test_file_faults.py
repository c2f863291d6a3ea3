"""Bad files from the source: each fails with the file, partition and cause, and loses nothing.

Every bad file is derived from the real green months in ../shared (a few bytes changed, a column
dropped, rows re-dated); the month already in the lake is the sample mirror's real green 2020-10.
"""

import polars as pl
import pytest

from lake_assets.lake import LocalLake
from tests.conftest import GREEN_2020_10, GREEN_2023_12, SAMPLE_MIRROR, write_csv_gz
from tests.faults.helpers import snapshot, staging_debris, view_rows
from tests.helpers import conformed_month, load_defs, materialize, step_errors

pytestmark = pytest.mark.faults

CSV = "green/green_tripdata_2020-10.csv.gz"
PARQUET = "green/green_tripdata_2020-10.parquet"


def real_rows(n: int) -> pl.DataFrame:
    return pl.read_csv(GREEN_2020_10, infer_schema=False, n_rows=n)


def corrupt_gzip(path):
    data = bytearray(GREEN_2020_10.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\x00" * 64
    path.write_bytes(bytes(data))


def wrong_type(path):
    df = real_rows(2_000).with_columns(
        pl.when(pl.int_range(pl.len()) == 1234).then(pl.lit("twelve")).otherwise(pl.col("fare_amount")).alias("fare_amount"))
    write_csv_gz(path, df.write_csv())


BAD_FILES = {
    "corrupt-gzip": (CSV, corrupt_gzip, "cannot be read"),
    "truncated-parquet": (PARQUET, lambda p: p.write_bytes(GREEN_2023_12.read_bytes()[:600_000]), "cannot be read"),
    "empty-file": (CSV, lambda p: p.write_bytes(b""), "empty"),
    "header-only": (CSV, lambda p: write_csv_gz(p, real_rows(1).head(0).write_csv()), "no rows"),
    "missing-required-column": (CSV, lambda p: write_csv_gz(p, real_rows(500).drop("DOLocationID").write_csv()),
                                "'DOLocationID'"),
    "text-in-numeric-column": (CSV, wrong_type, "'fare_amount': value 'twelve'"),
}


@pytest.fixture
def lake_with_a_good_month(lakehouse_env, tmp_path):
    """A mirror whose green 2020-10 is the sample's real rows, landed, conformed and registered."""
    mirror = tmp_path / "mirror"
    (mirror / "green").mkdir(parents=True)
    (mirror / CSV).write_bytes((SAMPLE_MIRROR / CSV).read_bytes())
    lakehouse_env(mirror)
    defs = load_defs()
    materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key="2020-10")
    materialize(defs, ["ext_green_tripdata"])
    return defs, mirror, tmp_path / "lake", tmp_path / "warehouse.duckdb"


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_a_bad_file_fails_clearly_and_the_lake_and_warehouse_keep_the_good_month(lake_with_a_good_month, case):
    defs, mirror, lake, warehouse = lake_with_a_good_month
    name, make, cause = BAD_FILES[case]
    lake_before, view_before = snapshot(lake), view_rows(warehouse)
    (mirror / CSV).unlink()
    make(mirror / name)
    result = materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key="2020-10", raise_on_error=False)
    assert not result.success
    errors = step_errors(result)
    assert name.split("/")[1] in errors and "green 2020-10" in errors and cause in errors
    after = snapshot(lake)
    conformed = {k: v for k, v in after.items() if k.startswith("conformed/")}
    assert conformed == {k: v for k, v in lake_before.items() if k.startswith("conformed/")}  # not one commit
    if case == "text-in-numeric-column":
        # It reads, so it lands in raw/ as published (a second raw version); it never reaches conformed/.
        assert after["raw/green/green_tripdata_2020-10.csv.gz"] != lake_before["raw/green/green_tripdata_2020-10.csv.gz"]
        assert len([k for k in after if k.startswith("raw_versions/green/2020-10/")]) == 2
    else:
        assert after == lake_before  # refused before it could replace the good raw file
        failures = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        assert failures == []  # the same bytes would fail again: not retried
    assert view_rows(warehouse) == view_before
    assert staging_debris(lake) == []


def conform_metadata(result):
    mat = next(e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "green_tripdata")
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    return mat.materialization.metadata, checks


def test_an_extra_column_is_reported_and_not_carried(lake_with_a_good_month):
    defs, mirror, lake, _ = lake_with_a_good_month
    write_csv_gz(mirror / CSV, real_rows(3_000).with_columns(pl.lit("x").alias("surprise_flag")).write_csv())
    result = materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key="2020-10")
    metadata, checks = conform_metadata(result)
    assert metadata["columns_extra"].value == ["surprise_flag"]
    assert "surprise_flag" not in conformed_month(lake, "green", "2020-10").columns
    assert checks["rows_match_raw"].passed and metadata["dagster/row_count"].value == 3_000


def test_a_month_whose_pickups_all_fall_outside_it_is_kept_and_flagged(lake_with_a_good_month):
    defs, mirror, _, _ = lake_with_a_good_month
    # Real 2020-10 trips published as 2020-11: every pickup is outside the month.
    (mirror / "green/green_tripdata_2020-11.csv.gz").write_bytes((SAMPLE_MIRROR / CSV).read_bytes())
    result = materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key="2020-11")
    metadata, checks = conform_metadata(result)
    rows = metadata["dagster/row_count"].value
    assert rows == 4_756 and metadata["rows_outside_month"].value == rows
    check = checks["pickups_within_month"]
    assert not check.passed and check.severity.value == "WARN" and check.metadata["rows_outside_month"].value == rows
    assert result.success  # a warning, not a failure: the rows are kept


def test_nanosecond_timestamps_conform_to_microseconds(lake_with_a_good_month):
    defs, mirror, lake, _ = lake_with_a_good_month
    (mirror / CSV).unlink()
    real = pl.read_parquet(GREEN_2023_12).head(5_000)
    real.with_columns(pl.col("lpep_pickup_datetime", "lpep_dropoff_datetime").cast(pl.Datetime("ns"))).write_parquet(
        mirror / PARQUET)
    result = materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key="2020-10")
    conformed = conformed_month(lake, "green", "2020-10")
    assert conformed.schema["lpep_pickup_datetime"] == pl.Datetime("us")
    assert conformed["lpep_pickup_datetime"].sort().equals(real["lpep_pickup_datetime"].sort())
    metadata, _ = conform_metadata(result)
    assert metadata["columns_cast"].value["lpep_pickup_datetime"].startswith("Datetime(time_unit='ns'")
    # The month now comes as Parquet: the old CSV raw file is replaced, one raw file stands per month.
    assert sorted(p.name for p in (lake / "raw/green").iterdir()) == ["green_tripdata_2020-10.parquet"]


def land(lake: LocalLake, name: str, data: bytes) -> dict:
    """Drops `data` in landing/ as `name`; returns the run config the landing sensor gives its run."""
    with lake.writer(f"landing/{name}") as tmp:
        tmp.write_bytes(data)
    service = name.split("_")[0]
    return {"ops": {f"raw_{service}_tripdata": {"config": {"landed_key": f"landing/{name}"}}}}


def test_a_drop_that_fails_validation_is_set_aside_with_its_reason(lakehouse_env, tmp_path):
    lake = LocalLake(tmp_path / "lake")
    name = "green_tripdata_2023-12.parquet"
    data = GREEN_2023_12.read_bytes()[:600_000]  # begins as Parquet does: the sensor's checks take it
    config = land(lake, name, data)
    result = materialize(load_defs(), ["raw_green_tripdata"], partition_key="2023-12", raise_on_error=False,
                         run_config=config)
    assert not result.success
    errors = step_errors(result)
    assert "cannot be read" in errors and f"Moved to landing/rejected/{name}" in errors
    assert lake.list("landing") == [f"landing/rejected/{name}", f"landing/rejected/{name}.reason.txt"]
    assert lake.head(f"landing/rejected/{name}", 1 << 30) == data
    assert "cannot be read" in (lake.root / f"landing/rejected/{name}.reason.txt").read_text()
    assert lake.list("raw") == []


def test_a_run_given_the_drop_of_another_service_and_month_refuses_it(lakehouse_env, tmp_path):
    lake = LocalLake(tmp_path / "lake")
    config = land(lake, "yellow_tripdata_2020-11.csv.gz", (SAMPLE_MIRROR / "yellow/yellow_tripdata_2020-11.csv.gz").read_bytes())
    config = {"ops": {"raw_green_tripdata": config["ops"]["raw_yellow_tripdata"]}}
    result = materialize(load_defs(), ["raw_green_tripdata"], partition_key="2020-10", raise_on_error=False,
                         run_config=config)
    assert "landing/yellow_tripdata_2020-11.csv.gz is not the green file of 2020-10" in step_errors(result)
    assert lake.list("landing") == ["landing/yellow_tripdata_2020-11.csv.gz"] and lake.list("raw") == []
