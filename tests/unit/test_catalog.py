import pytest

from lake_assets.catalog import CatalogError, Month, check_month, parse_file_name, source_url_candidates


def test_month_keys_round_trip_and_shift_across_years():
    assert Month.parse("2020-10").key == "2020-10"
    assert Month.parse("2020-12").shift(1) == Month(2021, 1)
    assert Month.parse("2021-01").shift(-1) == Month(2020, 12)


@pytest.mark.parametrize("bad", ["2021-13", "2021-00", "2021-1", "21-01", "2021/01", ""])
def test_malformed_months_are_rejected(bad):
    with pytest.raises(CatalogError, match="YYYY-MM"):
        Month.parse(bad)


def test_yellow_before_2011_is_out_of_range():
    with pytest.raises(CatalogError, match="out of range"):
        check_month("yellow", Month(2010, 12))
    assert check_month("yellow", Month(2011, 1)) == Month(2011, 1)


def test_unknown_service_is_rejected():
    with pytest.raises(CatalogError, match="unknown service 'hvfhs'"):
        check_month("hvfhs", Month(2020, 1))


def test_published_file_names_parse():
    assert parse_file_name("green_tripdata_2020-10.csv.gz") == ("green", Month(2020, 10), "csv.gz")
    assert parse_file_name("fhv_tripdata_2019-01.parquet") == ("fhv", Month(2019, 1), "parquet")
    for bad in ("green_tripdata_2020-10.csv", "taxi_tripdata_2020-10.parquet", "green_tripdata_2020-13.parquet"):
        with pytest.raises(CatalogError):
            parse_file_name(bad)


def test_ext_template_tries_parquet_then_csv():
    urls = source_url_candidates("file:///m/{service}_tripdata_{year}-{month}.{ext}", "fhv", Month(2019, 2))
    assert urls == ["file:///m/fhv_tripdata_2019-02.parquet", "file:///m/fhv_tripdata_2019-02.csv.gz"]
