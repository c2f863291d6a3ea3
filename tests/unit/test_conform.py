"""The conform step on the real green months, and on bad files derived from them."""

import gzip
from pathlib import Path

import polars as pl
import pytest

from lake_assets.catalog import Month
from lake_assets.conform import ConformError, RawFile, conform_file
from lake_assets.schemas import CANONICAL_SCHEMAS
from tests.conftest import GREEN_2020_10, GREEN_2023_12, SAMPLE_MIRROR, write_csv_gz

OCT = Month(2020, 10)


def conform(tmp_path: Path, src: Path, fmt: str, service="green", month=OCT):
    out = tmp_path / f"out-{src.name}.parquet"
    return conform_file(RawFile(src, fmt, src.name, service, month), out), out


def real_green_csv_lines(n: int) -> list[str]:
    """The header and the first n rows of the real green 2020-10 file, as published."""
    with gzip.open(GREEN_2020_10, "rt", newline="") as f:
        return [next(f) for _ in range(n + 1)]


def test_both_published_formats_conform_to_one_schema(tmp_path, shared_tlc):
    csv_report, csv_out = conform(tmp_path, GREEN_2020_10, "csv.gz")
    pq_report, pq_out = conform(tmp_path, GREEN_2023_12, "parquet", month=Month(2023, 12))
    assert csv_report.rows == 95_120
    assert pq_report.rows == 64_215
    assert pl.read_parquet_schema(csv_out) == pl.read_parquet_schema(pq_out) == dict(CANONICAL_SCHEMAS["green"])
    # Pickups outside the month are kept and counted, not dropped.
    assert csv_report.rows_outside_month > 0
    assert str(csv_report.pickup_min).startswith("2008-12-31")
    assert pq_report.columns_cast["VendorID"] == "Int32 -> Int64"
    assert "cbd_congestion_fee" in csv_report.columns_missing


def test_csv_values_keep_their_meaning(tmp_path, shared_tlc):
    _, out = conform(tmp_path, GREEN_2020_10, "csv.gz")
    first = pl.read_parquet(out).row(0, named=True)
    # Published as: 2,2020-10-01 00:31:19,...,N,1,7,7,1,.79,5,...,1.58,0,,0.3,7.88,1,1,0
    assert first["VendorID"] == 2 and first["trip_distance"] == pytest.approx(0.79)
    assert str(first["lpep_pickup_datetime"]) == "2020-10-01 00:31:19"
    assert first["ehail_fee"] is None and first["total_amount"] == pytest.approx(7.88)


def test_official_parquet_drift_is_absorbed(tmp_path):
    # Sample yellow 2020-12: the official layout with DOUBLE passenger_count/RatecodeID, INT32 null airport_fee.
    src = SAMPLE_MIRROR / "yellow" / "yellow_tripdata_2020-12.parquet"
    report, out = conform(tmp_path, src, "parquet", service="yellow", month=Month(2020, 12))
    assert report.columns_cast["passenger_count"] == "Float64 -> Int64"
    assert pl.read_parquet_schema(out) == dict(CANONICAL_SCHEMAS["yellow"])
    assert pl.read_parquet(out)["airport_fee"].null_count() == report.rows


def test_nanosecond_timestamps_become_microseconds(tmp_path, shared_tlc):
    ns = tmp_path / "green_tripdata_2023-12.parquet"
    pl.read_parquet(GREEN_2023_12).head(500).with_columns(
        pl.col("lpep_pickup_datetime").cast(pl.Datetime("ns"))
    ).write_parquet(ns)
    report, out = conform(tmp_path, ns, "parquet", month=Month(2023, 12))
    expected = pl.read_parquet(GREEN_2023_12).head(500)["lpep_pickup_datetime"]
    assert pl.read_parquet(out)["lpep_pickup_datetime"].equals(expected)
    assert report.columns_cast["lpep_pickup_datetime"].startswith("Datetime(time_unit='ns'")


def test_extra_columns_are_reported_not_carried(tmp_path, shared_tlc):
    lines = real_green_csv_lines(50)
    text = lines[0].rstrip("\r\n") + ",surprise_fee\n" + "".join(line.rstrip("\r\n") + ",1.5\n" for line in lines[1:])
    src = write_csv_gz(tmp_path / "green_tripdata_2020-10.csv.gz", text)
    report, out = conform(tmp_path, src, "csv.gz")
    assert report.columns_extra == ["surprise_fee"]
    assert "surprise_fee" not in pl.read_parquet_schema(out)


def test_missing_required_column_names_file_partition_and_column(tmp_path, shared_tlc):
    df = pl.read_csv(GREEN_2020_10, infer_schema=False, n_rows=100).drop("PULocationID")
    src = tmp_path / "green_tripdata_2020-10.csv.gz"
    write_csv_gz(src, df.write_csv())
    with pytest.raises(ConformError) as excinfo:
        conform(tmp_path, src, "csv.gz")
    message = str(excinfo.value)
    assert "green_tripdata_2020-10.csv.gz" in message and "green 2020-10" in message and "'PULocationID'" in message


def test_text_in_a_numeric_column_names_the_column_and_value(tmp_path, shared_tlc):
    lines = real_green_csv_lines(200)
    fields = lines[150].split(",")
    fields[9] = "twelve"  # fare_amount
    lines[150] = ",".join(fields)
    src = write_csv_gz(tmp_path / "green_tripdata_2020-10.csv.gz", "".join(lines))
    with pytest.raises(ConformError) as excinfo:
        conform(tmp_path, src, "csv.gz")
    assert excinfo.value.column == "fare_amount"
    assert "'twelve'" in str(excinfo.value) and "green 2020-10" in str(excinfo.value)


@pytest.mark.parametrize(
    ("make", "fmt", "cause"),
    [
        (lambda p: p.write_bytes(b""), "csv.gz", "empty"),
        (lambda p: write_csv_gz(p, real_green_csv_lines(0)[0]), "csv.gz", "no rows"),
        (lambda p: p.write_bytes(GREEN_2020_10.read_bytes()[:400_000]), "csv.gz", "cannot be read"),
        (lambda p: p.write_bytes(GREEN_2023_12.read_bytes()[:700_000]), "parquet", "cannot be read"),
    ],
    ids=["empty-file", "header-only", "truncated-gzip", "truncated-parquet"],
)
def test_unreadable_files_fail_with_the_cause(tmp_path, shared_tlc, make, fmt, cause):
    src = tmp_path / f"green_tripdata_2020-10.{fmt}"
    make(src)
    with pytest.raises(ConformError) as excinfo:
        conform(tmp_path, src, fmt)
    assert cause in str(excinfo.value) and src.name in str(excinfo.value)


def test_conform_month_uses_the_landing_count_only_for_the_same_bytes(tmp_path, shared_tlc):
    from lake_assets.checksum import sha256_of
    from lake_assets.conform import conform_month

    sha = sha256_of(GREEN_2020_10)
    green = RawFile(GREEN_2020_10, "csv.gz", GREEN_2020_10.name, "green", OCT)
    out = tmp_path / "out.parquet"
    # The landing step's count of these bytes is trusted: a wrong one makes the conform refuse to publish.
    with pytest.raises(ConformError, match="95120 rows conformed of 95119"):
        conform_month(green, out, landed=(sha, 95_119))
    # A count recorded for other bytes is ignored: the file is counted again.
    report, rows, digest = conform_month(green, out, landed=("0" * 64, 1))
    assert (report.rows, rows, digest) == (95_120, 95_120, sha)
