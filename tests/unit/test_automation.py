"""Schedule and sensor logic on a real file:// mirror and a real local lake."""

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from lake_assets.automation.landing_sensor import plan_landing_runs
from lake_assets.automation.tlc_source_sensor import months_to_probe, plan_source_runs
from lake_assets.catalog import Month, newest_expected_month
from lake_assets.definitions import build_definitions
from lake_assets.lake import LocalLake
from lake_assets.resources import LakeResource
from lake_assets.settings import load_settings
from lake_assets.source import TlcSource
from tests.conftest import GREEN_2023_12, SAMPLE_MIRROR, mirror_template

NOW = datetime(2026, 11, 24, 12, 0)
SCHEDULED_AT = datetime(2026, 11, 15, 6, 0)  # the monthly schedules' tick in November 2026


def schedule_tick(defs: dg.Definitions, name: str) -> tuple[dg.ScheduleDefinition, list[dg.RunRequest]]:
    """The schedule and the runs it requests at SCHEDULED_AT."""
    schedule = defs.resolve_schedule_def(name)
    context = dg.build_schedule_context(scheduled_execution_time=SCHEDULED_AT, repository_def=defs.get_repository_def())
    return schedule, schedule.evaluate_tick(context).run_requests


def sample_green_mirror(tmp_path) -> Path:
    """A file:// mirror holding a copy of the sample's green months (tests may change its files)."""
    mirror = tmp_path / "mirror"
    shutil.copytree(SAMPLE_MIRROR / "green", mirror / "green")
    return mirror


def test_newest_expected_month_trails_by_the_lag():
    assert newest_expected_month(NOW, 2) == Month(2026, 9)
    assert newest_expected_month(NOW, 0) == Month(2026, 11)
    assert newest_expected_month(datetime(2027, 1, 15), 2) == Month(2026, 11)


def test_schedule_asks_every_service_for_the_newest_expected_month():
    defs = build_definitions(load_settings({"TLC_PUBLICATION_LAG_MONTHS": "3"}))
    requests = set()
    for service in ("green", "yellow", "fhv", "fhvhv"):
        schedule, run_requests = schedule_tick(defs, f"monthly_{service}_ingest")
        assert schedule.execution_timezone == "America/New_York"
        requests |= {(schedule.job_name, r.partition_key) for r in run_requests}
    assert requests == {("ingest_green", "2026-08"), ("ingest_yellow", "2026-08"), ("ingest_fhv", "2026-08"),
                        ("ingest_fhvhv", "2026-08")}


def test_http_sources_are_probed_over_a_window_ending_at_the_newest_month():
    source = TlcSource("https://example.test/{service}_tripdata_{year}-{month}.parquet")
    recent = months_to_probe(source, "green", NOW, load_settings({}))
    assert [m.key for m in recent] == ["2026-07", "2026-08", "2026-09"]
    since = months_to_probe(source, "yellow", NOW, load_settings({"TLC_SENSOR_FIRST_MONTH": "2026-05"}))
    assert since[0] == Month(2026, 5) and since[-1] == Month(2026, 9)


def test_source_sensor_requests_each_new_or_changed_month_once(tmp_path):
    mirror = sample_green_mirror(tmp_path)
    source, lake, settings = TlcSource(mirror_template(mirror)), LocalLake(tmp_path / "lake"), load_settings({})

    requests, cursor, _ = plan_source_runs(source, lake, {}, NOW, settings)
    assert sorted(r.partition_key for r in requests) == ["2020-10", "2023-12"]
    assert {r.job_name for r in requests} == {"ingest_green"}

    again, cursor_again, _ = plan_source_runs(source, lake, cursor, NOW, settings)
    assert again == [] and cursor_again == cursor  # the cursor remembers: nothing requested twice

    touched = mirror / "green/green_tripdata_2020-10.csv.gz"
    os.utime(touched, ns=(1, 1))  # a new mtime, the same bytes
    same_bytes, cursor, _ = plan_source_runs(source, lake, cursor, NOW, settings)
    assert same_bytes == []

    touched.write_bytes(touched.read_bytes()[:-10] + b"\n")  # the source republishes different bytes
    changed, cursor, _ = plan_source_runs(source, lake, cursor, NOW, settings)
    assert [r.partition_key for r in changed] == ["2020-10"]


def test_source_sensor_does_not_request_a_month_already_landed_with_the_same_sha256(tmp_path):
    mirror = sample_green_mirror(tmp_path)
    lake = LocalLake(tmp_path / "lake")
    with lake.writer("raw/green/green_tripdata_2020-10.csv.gz") as tmp:
        shutil.copyfile(mirror / "green/green_tripdata_2020-10.csv.gz", tmp)
    requests, cursor, _ = plan_source_runs(TlcSource(mirror_template(mirror)), lake, {}, NOW, load_settings({}))
    assert [r.partition_key for r in requests] == ["2023-12"]
    assert "sha256" in cursor["green/2020-10"]


def test_landing_sensor_takes_in_good_names_once_and_sets_bad_ones_aside(tmp_path):
    lake = LocalLake(tmp_path / "lake")
    for name in ("yellow_tripdata_2020-11.csv.gz", "taxi_2020-11.csv", "green_tripdata_2020-13.parquet"):
        with lake.writer(f"landing/{name}") as tmp:
            shutil.copyfile(SAMPLE_MIRROR / "yellow/yellow_tripdata_2020-11.csv.gz", tmp)
    requests, rejected = plan_landing_runs(lake, load_settings({}))
    assert len(requests) == 1
    request = requests[0]
    assert request.partition_key == "2020-11"
    assert request.run_config == {"ops": {"raw_yellow_tripdata": {"config": {"landed_key": "landing/yellow_tripdata_2020-11.csv.gz"}}}}
    assert request.run_key.startswith("landing:yellow_tripdata_2020-11.csv.gz:")
    assert len(rejected) == 2 and all("Moved to landing/rejected/" in r for r in rejected)
    assert lake.list("landing/rejected") == ["landing/rejected/green_tripdata_2020-13.parquet",
                                             "landing/rejected/green_tripdata_2020-13.parquet.reason.txt",
                                             "landing/rejected/taxi_2020-11.csv",
                                             "landing/rejected/taxi_2020-11.csv.reason.txt"]
    again, rejected_again = plan_landing_runs(lake, load_settings({}))
    assert [r.run_key for r in again] == [request.run_key] and rejected_again == []  # same run key: Dagster runs it once


@pytest.fixture(scope="module")
def default_defs() -> dg.Definitions:
    return build_definitions(load_settings({}))


GOOD_DROP = "yellow_tripdata_2020-11.csv.gz"
NEWEST = newest_expected_month(datetime.now(UTC), load_settings({}).publication_lag_months)
CSV_TEXT = b"VendorID,lpep_pickup_datetime,lpep_dropoff_datetime\n2,2020-10-01 00:00:00,2020-10-01 00:10:00\n"
# What lies under landing/, its bytes (a real file, or bytes made here), and what its reason must say.
BAD_DROPS = {
    "past-newest": (f"green_tripdata_{NEWEST.shift(1)}.parquet", GREEN_2023_12,
                    f"green month {NEWEST.shift(1)} is out of range: green has months from 2013-08 to {NEWEST}"),
    "before-first": ("green_tripdata_2013-07.parquet", GREEN_2023_12, "from 2013-08 to"),
    "unknown-service": ("taxi_tripdata_2020-10.parquet", GREEN_2023_12, "service one of green, yellow"),
    "upper-case-service": ("GREEN_tripdata_2023-12.parquet", GREEN_2023_12, "Service names are lower-case"),
    "plain-csv": ("green_tripdata_2020-10.csv", CSV_TEXT, "{parquet|csv.gz}"),
    "csv-in-parquet": ("green_tripdata_2020-10.parquet", CSV_TEXT, "is not a parquet file: it begins with b'VendorID"),
    "empty": ("green_tripdata_2020-10.csv.gz", b"", "is empty"),
    "folder": ("batch/green_tripdata_2023-12.parquet", GREEN_2023_12, "landing/batch/ is a folder"),
    "spaces": ("green tripdata 2023-12.parquet", GREEN_2023_12, "is not of the form"),
    "non-ascii": ("grün_tripdata_2023-12.parquet", GREEN_2023_12, "is not of the form"),
}


@pytest.mark.parametrize("bad", BAD_DROPS.values(), ids=BAD_DROPS.keys())
def test_a_bad_drop_is_set_aside_with_its_reason_and_the_good_one_beside_it_is_taken_in(tmp_path, bad,
                                                                                        default_defs):
    name, content, reason = bad
    lake = LocalLake(tmp_path / "lake")
    with lake.writer(f"landing/{GOOD_DROP}") as tmp:
        shutil.copyfile(SAMPLE_MIRROR / "yellow" / GOOD_DROP, tmp)
    with lake.writer(f"landing/{name}") as tmp:
        tmp.write_bytes(content) if isinstance(content, bytes) else shutil.copyfile(content, tmp)
    data = lake.head(f"landing/{name}", 1 << 30)

    # One tick of the real sensor, as the daemon evaluates it: run requests checked against the partitions.
    with dg.build_sensor_context(resources={"lake": LakeResource(url=str(lake.root))},
                                 repository_def=default_defs.get_repository_def()) as context:
        requests = default_defs.resolve_sensor_def("lake_landing_sensor").evaluate_tick(context).run_requests

    assert [r.run_config["ops"]["raw_yellow_tripdata"]["config"]["landed_key"] for r in requests] == [
        f"landing/{GOOD_DROP}"]
    top = name.split("/")[0]  # a folder is set aside whole
    assert lake.list("landing/rejected") == sorted([f"landing/rejected/{name}", f"landing/rejected/{top}.reason.txt"])
    assert lake.head(f"landing/rejected/{name}", 1 << 30) == data  # moved, byte for byte, never deleted
    written = (lake.root / f"landing/rejected/{top}.reason.txt").read_text(encoding="utf-8")
    assert f"landing/{top}" in written and reason in written
    assert lake.list("landing") == sorted([f"landing/{GOOD_DROP}", *lake.list("landing/rejected")])


def test_a_drop_rejected_twice_under_one_name_keeps_both(tmp_path):
    lake = LocalLake(tmp_path / "lake")
    for content in (b"first", b"second"):
        with lake.writer("landing/green_tripdata_2020-10.parquet") as tmp:
            tmp.write_bytes(content)
        assert plan_landing_runs(lake, load_settings({}))[0] == []
    assert lake.head("landing/rejected/green_tripdata_2020-10.parquet", 10) == b"first"
    assert lake.head("landing/rejected/green_tripdata_2020-10.parquet.1", 10) == b"second"
    assert lake.exists("landing/rejected/green_tripdata_2020-10.parquet.1.reason.txt")


def test_the_schedule_skips_a_month_before_the_service_began(default_defs):
    defs = default_defs
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2019, 2, 15, 6),
                                        repository_def=defs.get_repository_def())
    result = defs.resolve_schedule_def("monthly_fhvhv_ingest").evaluate_tick(context)
    assert result.run_requests == [] and "fhvhv month 2018-12 is out of range" in result.skip_message
    assert "from 2019-02 to" in result.skip_message


def test_the_source_sensor_names_a_mirror_month_past_the_newest_once(tmp_path):
    mirror = sample_green_mirror(tmp_path)
    late = mirror / f"green/green_tripdata_{NEWEST.shift(1)}.parquet"
    shutil.copyfile(GREEN_2023_12, late)
    source, lake, settings = TlcSource(mirror_template(mirror)), LocalLake(tmp_path / "lake"), load_settings({})
    requests, cursor, notes = plan_source_runs(source, lake, {}, datetime.now(UTC), settings)
    assert sorted(r.partition_key for r in requests) == ["2020-10", "2023-12"]
    refused = (f"green {NEWEST.shift(1)} refused: green month {NEWEST.shift(1)} is out of range: green has months "
               f"from 2013-08 to {NEWEST} (the newest the TLC should have published by now).")
    assert [n for n in notes if "refused" in n] == [refused]
    _, _, again = plan_source_runs(source, lake, cursor, datetime.now(UTC), settings)
    assert again == []


def test_runs_the_schedules_and_sensors_request_carry_the_run_retry_limit(tmp_path):
    mirror = sample_green_mirror(tmp_path)
    lake = LocalLake(tmp_path / "lake")
    with lake.writer("landing/yellow_tripdata_2020-11.csv.gz") as tmp:
        shutil.copyfile(SAMPLE_MIRROR / "yellow/yellow_tripdata_2020-11.csv.gz", tmp)
    for env, expected in (({}, "2"), ({"TLC_RUN_RETRIES": "0"}, "0"), ({"TLC_RUN_RETRIES": "5"}, "5")):
        settings = load_settings(env)
        from_source, _, _ = plan_source_runs(TlcSource(mirror_template(mirror)), lake, {}, NOW, settings)
        from_landing, _ = plan_landing_runs(lake, settings)
        _, from_schedule = schedule_tick(build_definitions(settings), "monthly_green_ingest")
        requests = [*from_source, *from_landing, *from_schedule]
        assert len(requests) == 4
        assert {r.tags["dagster/max_retries"] for r in requests} == {expected}


def test_sensors_tell_fhvhv_files_from_fhv_files(tmp_path):
    # The whole sample mirror: fhv and fhvhv months side by side, each requested for its own job.
    requests, _, _ = plan_source_runs(TlcSource(mirror_template(SAMPLE_MIRROR)), LocalLake(tmp_path / "lake"), {},
                                      NOW, load_settings({}))
    assert {(r.job_name, r.partition_key) for r in requests if "fhv" in r.job_name} == {
        ("ingest_fhv", "2020-10"), ("ingest_fhvhv", "2020-10")}
    lake = LocalLake(tmp_path / "lake")
    with lake.writer("landing/fhvhv_tripdata_2020-10.parquet") as tmp:
        shutil.copyfile(SAMPLE_MIRROR / "fhvhv/fhvhv_tripdata_2020-10.parquet", tmp)
    landing, rejected = plan_landing_runs(lake, load_settings({}))
    assert rejected == [] and [(r.job_name, r.partition_key) for r in landing] == [("ingest_fhvhv", "2020-10")]
    assert landing[0].run_config == {
        "ops": {"raw_fhvhv_tripdata": {"config": {"landed_key": "landing/fhvhv_tripdata_2020-10.parquet"}}}}
