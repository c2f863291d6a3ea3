"""The whole pipeline on the two whole real green months: lake, views, dbt, idempotence, bad input."""

import subprocess
from pathlib import Path

import polars as pl
import pytest

from lake_assets.settings import PROJECT_ROOT
from tests.conftest import GREEN_2020_10, GREEN_2023_12, write_csv_gz
from tests.helpers import (
    conformed_files,
    conformed_month,
    load_defs,
    materialize,
    monthly_keys,
    query,
    sha256,
    step_errors,
)
from tests.lakehouses import Lakehouse, build, copy

MONTHS = {"2020-10": 95_120, "2023-12": 64_215}


@pytest.fixture(scope="session")
def real_green_lakehouse(tmp_path_factory, shared_tlc) -> Lakehouse:
    """Both real green months landed, conformed, registered, and dbt built over them: once a session."""
    golden = Lakehouse(tmp_path_factory.mktemp("real_green"))
    (golden.mirror / "green").mkdir(parents=True)
    for src in (GREEN_2020_10, GREEN_2023_12):
        (golden.mirror / "green" / src.name).symlink_to(src)  # links to ../shared, not copies
    build(golden, "green", list(MONTHS))
    return golden


@pytest.fixture
def loaded(real_green_lakehouse, tmp_path, monkeypatch):
    """A copy of the real green lakehouse for the test to change."""
    lakehouse = copy(real_green_lakehouse, tmp_path, monkeypatch)
    return load_defs(), lakehouse.root


def conformed(tmp, month: str) -> pl.DataFrame:
    return conformed_month(tmp / "lake", "green", month)


def stg_counts(tmp) -> dict[str, int]:
    rows = query(tmp / "warehouse.duckdb",
                 "select strftime(source_month, '%Y-%m'), count(*) from staging.stg_green_tripdata group by 1")
    return dict(rows)


def test_real_months_arrive_whole_in_lake_view_and_staging(loaded):
    _, tmp = loaded
    raw = tmp / "lake" / "raw" / "green"
    assert sorted(p.name for p in raw.iterdir()) == ["green_tripdata_2020-10.csv.gz", "green_tripdata_2023-12.parquet"]
    assert sha256(raw / "green_tripdata_2020-10.csv.gz") == sha256(GREEN_2020_10)  # landed as published
    for month, rows in MONTHS.items():
        assert conformed(tmp, month).height == rows
    assert conformed(tmp, "2020-10").schema == conformed(tmp, "2023-12").schema
    view = query(tmp / "warehouse.duckdb", "select year, month, count(*) from lake.ext_green_tripdata group by all order by 1, 2")
    assert view == [(2020, 10, 95_120), (2023, 12, 64_215)]
    assert stg_counts(tmp) == MONTHS
    fact = dict(query(tmp / "warehouse.duckdb",
                      "select strftime(source_month, '%Y-%m'), count(*) from core.fact_trips group by 1"))
    assert set(fact) == set(MONTHS) and all(0 < fact[m] <= MONTHS[m] for m in MONTHS)
    assert query(tmp / "warehouse.duckdb", "select count(*) from marts.dm_monthly_zone_revenue")[0][0] > 0


def test_rematerializing_a_month_replaces_exactly_that_month(loaded):
    defs, tmp = loaded
    files_before = conformed_files(tmp / "lake")
    other_bytes = [sha256(Path(f)) for f in files_before["2023-12"]]
    materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key="2020-10")
    materialize(defs, ["ext_green_tripdata"])
    materialize(defs, monthly_keys(defs), partition_key="2020-10")
    assert conformed(tmp, "2020-10").height == 95_120
    files_after = conformed_files(tmp / "lake")
    # one commit replaced exactly 2020-10: the other month's files are the same files, unchanged
    assert files_after["2023-12"] == files_before["2023-12"]
    assert [sha256(Path(f)) for f in files_after["2023-12"]] == other_bytes
    assert set(files_after["2020-10"]).isdisjoint(files_before["2020-10"]) and len(files_after) == 2
    assert stg_counts(tmp) == MONTHS
    fact_rows = query(tmp / "warehouse.duckdb", "select count(*), count(distinct trip_id) from core.fact_trips")[0]
    assert fact_rows[0] == fact_rows[1]  # no month doubled


def test_fact_trips_partition_run_rebuilds_only_its_month(loaded):
    defs, tmp = loaded
    db = tmp / "warehouse.duckdb"
    before = dict(query(db, "select strftime(source_month, '%Y-%m'), count(*) from core.fact_trips group by 1"))
    # Drop the 2023-12 rows behind dbt's back: a 2020-10 run must not bring them back.
    import duckdb

    with duckdb.connect(str(db)) as conn:
        conn.execute("delete from core.fact_trips where source_month = date '2023-12-01'")
    materialize(defs, monthly_keys(defs), partition_key="2020-10")
    after = dict(query(db, "select strftime(source_month, '%Y-%m'), count(*) from core.fact_trips group by 1"))
    assert after == {"2020-10": before["2020-10"]}


def test_bad_month_fails_naming_file_and_column_and_loses_nothing(loaded):
    defs, tmp = loaded
    green_mirror = tmp / "mirror"
    good_conformed = conformed_files(tmp / "lake")
    good_raw = tmp / "lake" / "raw" / "green" / "green_tripdata_2020-10.csv.gz"
    stg_before = stg_counts(tmp)
    # The source republishes 2020-10 without PULocationID (derived from the real file).
    bad = pl.read_csv(GREEN_2020_10, infer_schema=False, n_rows=1_000).drop("PULocationID")
    (green_mirror / "green" / "green_tripdata_2020-10.csv.gz").unlink()
    write_csv_gz(green_mirror / "green" / "green_tripdata_2020-10.csv.gz", bad.write_csv())
    result = materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key="2020-10", raise_on_error=False)
    assert not result.success
    errors = step_errors(result)
    assert "green_tripdata_2020-10.csv.gz" in errors and "green 2020-10" in errors and "'PULocationID'" in errors
    assert conformed_files(tmp / "lake") == good_conformed
    assert sha256(good_raw) == sha256(GREEN_2020_10)  # the bad download did not replace the good raw file
    assert stg_counts(tmp) == stg_before
    assert not list((tmp / "lake" / ".tmp").iterdir())


def test_dbt_cli_builds_on_its_own(loaded, venv_env):
    _, tmp = loaded
    venv_env["DUCKDB_PATH"] = str(tmp / "warehouse.duckdb")
    result = subprocess.run(["dbt", "build"], cwd=PROJECT_ROOT / "dbt_project", env=venv_env,
                            capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "ERROR=0" in result.stdout
    assert stg_counts(tmp) == MONTHS
