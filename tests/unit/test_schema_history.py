"""The TLC's schema history and the conform's use of it, on real yellow rows and made-up fhvhv rows."""

import polars as pl
import pytest

from lake_assets.catalog import FIRST_MONTH, SERVICES, Month, parse_file_name
from lake_assets.conform import ConformError, RawFile, conform_file, validate_raw
from lake_assets.schema_history import HISTORY
from lake_assets.schemas import CANONICAL_SCHEMAS, REQUIRED_COLUMNS
from tests.conftest import SAMPLE_MIRROR
from tests.tlc_layouts import (
    fhvhv_month,
    write_csv_gz,
    yellow_2018_layout,
    yellow_official_layout,
    yellow_sample_month,
)

JUNE_2018 = Month(2018, 6)


def conform(tmp_path, src, fmt, service, month):
    return conform_file(RawFile(src, fmt, src.name, service, month), tmp_path / f"out-{src.name}.parquet")


@pytest.mark.parametrize("service", SERVICES)
def test_history_covers_the_canonical_schema_and_keeps_key_columns_in_every_month(service):
    layouts = HISTORY[service]
    assert set().union(*(layout.columns for layout in layouts)) == set(CANONICAL_SCHEMAS[service].names())
    assert min(layout.months.first for layout in layouts) == FIRST_MONTH[service]
    for layout in layouts:
        for column in REQUIRED_COLUMNS[service]:  # a key column is published in every month of every layout
            assert layout.columns[column].first == layout.months.first, (layout.name, column)
            assert layout.columns[column].last == layout.months.last, (layout.name, column)


def test_fhvhv_file_names_are_not_taken_for_fhv():
    assert parse_file_name("fhvhv_tripdata_2019-02.parquet") == ("fhvhv", Month(2019, 2), "parquet")
    assert parse_file_name("fhv_tripdata_2019-02.csv.gz") == ("fhv", Month(2019, 2), "csv.gz")


def test_yellow_2018_layout_loads_every_row_with_the_later_columns_as_nulls(tmp_path, shared_tlc):
    df = yellow_2018_layout()
    assert "congestion_surcharge" not in df.columns and df.height == 10_000
    src = write_csv_gz(df, tmp_path / "yellow_tripdata_2018-06.csv.gz")
    report = conform(tmp_path, src, "csv.gz", "yellow", JUNE_2018)
    out = pl.read_parquet(tmp_path / f"out-{src.name}.parquet")
    assert report.rows == out.height == 10_000
    assert report.columns_missing == ["congestion_surcharge", "airport_fee", "cbd_congestion_fee"]
    assert report.columns_not_published == {
        "congestion_surcharge": "not published yet in 2018-06: published from 2019-01",
        "airport_fee": "not published yet in 2018-06: published from 2022-03",
        "cbd_congestion_fee": "not published yet in 2018-06: published from 2025-01",
    }
    assert out["congestion_surcharge"].null_count() == 10_000
    # The real values arrive: the fare total of the file, to the cent.
    assert round(out["fare_amount"].sum(), 2) == round(df["fare_amount"].cast(pl.Float64).sum(), 2)


def test_a_month_without_a_column_it_should_have_fails_naming_it(tmp_path, shared_tlc):
    src = write_csv_gz(yellow_2018_layout().drop("fare_amount"), tmp_path / "yellow_tripdata_2018-06.csv.gz")
    for check in (lambda: validate_raw(RawFile(src, "csv.gz", src.name, "yellow", JUNE_2018)),
                  lambda: conform(tmp_path, src, "csv.gz", "yellow", JUNE_2018)):
        with pytest.raises(ConformError) as excinfo:
            check()
        message = str(excinfo.value)
        assert excinfo.value.column == "fare_amount"
        assert "yellow_tripdata_2018-06.csv.gz" in message and "yellow 2018-06" in message
        assert "yellow files carry it from 2011-01" in message
    assert not (tmp_path / f"out-{src.name}.parquet").exists()  # refused before anything was written


def test_a_column_is_damage_only_from_its_first_month(tmp_path, shared_tlc):
    # The same layout in 2019-06, when the TLC's files carry congestion_surcharge: damaged.
    src = write_csv_gz(yellow_sample_month("2019-06").drop("congestion_surcharge"),
                       tmp_path / "yellow_tripdata_2019-06.csv.gz")
    with pytest.raises(ConformError) as excinfo:
        conform(tmp_path, src, "csv.gz", "yellow", Month(2019, 6))
    assert excinfo.value.column == "congestion_surcharge" and "from 2019-01" in str(excinfo.value)


def test_official_layout_with_late_columns_as_nulls_loads(tmp_path, shared_tlc):
    src = tmp_path / "yellow_tripdata_2018-06.parquet"
    yellow_official_layout().write_parquet(src)
    report = conform(tmp_path, src, "parquet", "yellow", JUNE_2018)
    assert report.rows == 10_000
    assert report.columns_missing == ["cbd_congestion_fee"]
    assert report.columns_cast["airport_fee"] == "Int32 -> Float64"
    out = pl.read_parquet(tmp_path / f"out-{src.name}.parquet")
    assert out.schema == CANONICAL_SCHEMAS["yellow"] and out["airport_fee"].null_count() == 10_000


def test_fhvhv_published_layout_conforms(tmp_path):
    src = SAMPLE_MIRROR / "fhvhv" / "fhvhv_tripdata_2020-10.parquet"
    report = conform(tmp_path, src, "parquet", "fhvhv", Month(2020, 10))
    out = pl.read_parquet(tmp_path / f"out-{src.name}.parquet")
    assert report.rows == out.height == 3_000 and report.layout == "2022 republication"
    assert out.schema == CANONICAL_SCHEMAS["fhvhv"]
    assert report.columns_not_published == {
        "cbd_congestion_fee": "not published yet in 2020-10: published from 2025-01",
        "SR_Flag": "not in the 2022 republication layout (published from 2019-02)",
    }
    assert set(out["hvfhs_license_num"]) == {"HV0002", "HV0003", "HV0004", "HV0005"}
    assert out["driver_pay"].null_count() == 0 and out["SR_Flag"].null_count() == 3_000


def test_fhvhv_2019_layout_conforms_with_sr_flag_kept(tmp_path, shared_tlc):
    src = fhvhv_month("2019-03", 500, "2019", tmp_path / "fhvhv_tripdata_2019-03.csv.gz")
    report = conform(tmp_path, src, "csv.gz", "fhvhv", Month(2019, 3))
    out = pl.read_parquet(tmp_path / f"out-{src.name}.parquet")
    assert report.rows == 500 and report.layout == "2019 release"
    assert out.schema == CANONICAL_SCHEMAS["fhvhv"]
    assert report.columns_not_published["driver_pay"] == (
        "not in the 2019 release layout (published from 2019-02 to 2022-02)")
    raw = pl.read_csv(src, infer_schema=False)
    assert out["SR_Flag"].drop_nulls().len() == raw["SR_Flag"].drop_nulls().len() > 0
    assert set(out["SR_Flag"].drop_nulls()) == {1} and out["driver_pay"].null_count() == 500
    assert out["pickup_datetime"].dt.strftime("%Y-%m-%d %H:%M:%S").to_list() == raw["pickup_datetime"].to_list()


@pytest.mark.parametrize(
    ("month", "layout", "drop", "column", "says"),
    [
        ("2020-10", "published", "driver_pay", "driver_pay", "nor does it match the 2019 release layout"),
        ("2022-06", "2019", None, "originating_base_num", "fhvhv files carry it from 2019-02"),
    ],
    ids=["published-without-driver_pay", "2019-layout-after-the-2019-release"],
)
def test_fhvhv_files_matching_no_layout_fail(tmp_path, shared_tlc, month, layout, drop, column, says):
    ext = "csv.gz" if layout == "2019" else "parquet"
    src = fhvhv_month(month, 200, layout, tmp_path / f"fhvhv_tripdata_{month}.{ext}")
    if drop:
        pl.read_parquet(src).drop(drop).write_parquet(src)
    with pytest.raises(ConformError) as excinfo:
        conform(tmp_path, src, ext, "fhvhv", Month.parse(month))
    assert excinfo.value.column == column and says in str(excinfo.value) and f"fhvhv {month}" in str(excinfo.value)


def test_the_docs_show_the_history_the_code_declares():
    from lake_assets.schema_history import history_table
    from lake_assets.settings import PROJECT_ROOT

    assert history_table() in (PROJECT_ROOT / "docs" / "schema-history.md").read_text()
