"""A flaky TLC source over HTTP: retried with backoff, failures named, nothing already landed lost."""

import pytest

from tests.conftest import GREEN_2023_12
from tests.faults.helpers import snapshot, staging_debris
from tests.helpers import conformed_month, load_defs, materialize, sha256, step_errors

pytestmark = pytest.mark.faults

PATH = "/green/green_tripdata_2023-12.parquet"
KEYS = ["raw_green_tripdata", "green_tripdata"]


@pytest.fixture
def http_lakehouse(lakehouse_env, faulty_source, fast_retries, monkeypatch):
    monkeypatch.setenv("TLC_SOURCE_URL", faulty_source.url + "/{service}/{service}_tripdata_{year}-{month}.parquet")
    return lakehouse_env.tmp_path / "lake"


def land(partition="2023-12", raise_on_error=True):
    return materialize(load_defs(), KEYS, partition_key=partition, raise_on_error=raise_on_error)


def conformed_rows(lake) -> int:
    return conformed_month(lake, "green", "2023-12").height


def test_500_then_success_is_retried_and_lands(http_lakehouse, faulty_source):
    faulty_source.faults[PATH] = ["500", "500", "ok"]
    result = land()
    assert result.success
    assert faulty_source.gets(PATH) == 3  # two failures, then the retry that worked
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == 2
    assert sha256(http_lakehouse / "raw/green/green_tripdata_2023-12.parquet") == sha256(GREEN_2023_12)
    assert conformed_rows(http_lakehouse) == 64_215


@pytest.mark.parametrize(
    ("fault", "cause"),
    [("500", "answered HTTP 500"), ("truncate", "body cut off"), ("slow", "timed out")],
    ids=["500-forever", "content-length-mismatch", "slow-body"],
)
def test_a_failing_source_fails_after_the_retries_and_loses_nothing(http_lakehouse, faulty_source, fault, cause):
    land()  # a good copy of the month first
    before = snapshot(http_lakehouse)
    faulty_source.requests.clear()
    faulty_source.faults[PATH] = [fault]
    result = land(raise_on_error=False)
    assert not result.success
    assert faulty_source.gets(PATH) == 3  # 1 + TLC_DOWNLOAD_RETRIES
    errors = step_errors(result)
    assert "green 2023-12" in errors and "green_tripdata_2023-12.parquet" in errors and cause in errors
    assert snapshot(http_lakehouse) == before
    assert staging_debris(http_lakehouse) == []


def test_404_is_reported_as_not_published_and_skips_downstream(http_lakehouse, faulty_source):
    result = land(partition="2024-01")  # the source has no 2024-01 file
    assert result.success
    assert result.get_asset_materialization_events() == []
    skipped = [e for e in result.all_events if e.event_type_value == "STEP_SKIPPED"]
    assert [e.step_key for e in skipped] == ["green_tripdata"]
    assert faulty_source.gets("/green/green_tripdata_2024-01.parquet") == 1  # a 404 is not retried
    assert not (http_lakehouse / "raw").exists()


def test_a_redirect_is_followed_and_the_file_keeps_its_published_name(http_lakehouse, faulty_source):
    faulty_source.faults[PATH] = ["redirect:/green/green_tripdata_2023-12.parquet?mirror=2", "ok"]
    result = land()
    assert result.success
    assert faulty_source.gets("/green/green_tripdata_2023-12.parquet?mirror=2") == 1
    assert sorted(p.name for p in (http_lakehouse / "raw/green").iterdir()) == ["green_tripdata_2023-12.parquet"]
    assert conformed_rows(http_lakehouse) == 64_215
