"""A month republished by the TLC: both raw versions kept, two commits of the month in the conformed table,
the old version readable, what changed in the metadata, and a restore to the first version.

The republication is derived from the real green 2021-01 file (../shared): 400 trips removed, the fare
of 300 others corrected, and the column cbd_congestion_fee (canonical, not published in 2021) added.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from lake_assets.catalog import Month
from lake_assets.conformed_table import month_history, open_table
from lake_assets.lake import LocalLake
from lake_assets.settings import PROJECT_ROOT
from tests.conftest import SHARED_TLC
from tests.helpers import (
    conformed_files,
    conformed_month,
    load_defs,
    materialize,
    query,
    same_rows,
    sha256,
    step_errors,
)
from tests.lakehouses import Lakehouse, copy, pointed_at

V1 = SHARED_TLC / "green" / "green_tripdata_2021-01.parquet"
OTHER = SHARED_TLC / "green" / "green_tripdata_2021-02.parquet"
MONTH = "2021-01"
REMOVED, CORRECTED = 400, 300


def republish(v1, out) -> None:
    """The republished month: every 150th trip removed (400 of the first 60,000), the fare of 300 others
    corrected, and a new column with values."""
    df = pl.read_parquet(v1).with_row_index("i")
    removed = (pl.col("i") % 150 == 0) & (pl.col("i") < REMOVED * 150)
    corrected = (pl.col("i") % 150 == 75) & (pl.col("i") < CORRECTED * 150)
    df = df.filter(~removed).with_columns(
        pl.when(corrected).then(pl.col("fare_amount") + 1.25).otherwise(pl.col("fare_amount")).alias("fare_amount"),
        pl.lit(0.75).alias("cbd_congestion_fee"),
    ).drop("i")
    df.write_parquet(out)


def metadata_of(result, key):
    event = next(e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == key)
    return {k: v.value for k, v in event.materialization.metadata.items()}


@pytest.fixture(scope="module")
def republished(tmp_path_factory):
    """Both months landed, then 2021-01 republished and landed again, once a module; a test that changes
    the lakehouse does so on a copy of it (tests/lakehouses.py)."""
    lakehouse = Lakehouse(tmp_path_factory.mktemp("versioned"))
    mirror = lakehouse.mirror / "green"
    mirror.mkdir(parents=True)
    shutil.copyfile(V1, mirror / V1.name)
    shutil.copyfile(OTHER, mirror / OTHER.name)
    with pointed_at(lakehouse):
        defs = load_defs()
        for month in (MONTH, "2021-02"):
            materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key=month)
        first = conformed_month(lakehouse.lake, "green", MONTH)
        files_before = conformed_files(lakehouse.lake)
        republish(V1, mirror / V1.name)
        v2 = lakehouse.root / "v2.parquet"
        shutil.copyfile(mirror / V1.name, v2)
        result = materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key=MONTH)
        materialize(defs, ["ext_green_tripdata"])
    return {"lakehouse": lakehouse, "first": first, "files_before": files_before, "v2": v2, "result": result}


def test_both_raw_versions_stay_content_addressed_and_relanding_adds_nothing(republished, tmp_path, monkeypatch):
    lakehouse = copy(republished["lakehouse"], tmp_path, monkeypatch)
    result = republished["result"]
    sha1, sha2 = sha256(V1), sha256(republished["v2"])
    versions = lakehouse.lake / "raw_versions" / "green" / MONTH
    assert sorted(p.name for p in versions.iterdir()) == sorted([f"{sha1}.parquet", f"{sha2}.parquet"])
    assert sha256(versions / f"{sha1}.parquet") == sha1  # the first version's bytes, as published
    assert sha256(lakehouse.lake / "raw" / "green" / V1.name) == sha2  # the current one where it always was
    raw = metadata_of(result, "raw_green_tripdata")
    assert (raw["version_landed"], raw["version_replaced"], raw["versions_of_month"]) == (sha2, sha1, 2)
    before = sorted(p.stat().st_mtime_ns for p in versions.iterdir())
    again = metadata_of(materialize(load_defs(), ["raw_green_tripdata"], partition_key=MONTH),
                        "raw_green_tripdata")
    assert (again["version_is_new"], again["version_replaced"], again["versions_of_month"]) == (False, sha2, 2)
    assert sorted(p.stat().st_mtime_ns for p in versions.iterdir()) == before


def test_the_month_has_two_commits_and_the_old_version_reads_back_exactly(republished):
    lake = republished["lakehouse"].lake
    table = open_table(LocalLake(lake), "green")
    commits = month_history(table, Month.parse(MONTH))
    assert [c.operation for c in commits] == ["conform", "conform"]
    assert [c.metadata["lakehouse.source_sha256"] for c in commits] == [sha256(V1), sha256(republished["v2"])]
    old = conformed_month(lake, "green", MONTH, version=commits[0].version)
    assert same_rows(old, republished["first"])
    assert conformed_month(lake, "green", MONTH).height == 76_518 - REMOVED
    # the other month: the same files as before the republication
    assert conformed_files(lake)["2021-02"] == republished["files_before"]["2021-02"]


def test_the_change_metadata_counts_what_the_two_files_say(republished):
    metadata = metadata_of(republished["result"], "green_tripdata")
    v1, v2 = str(V1), str(republished["v2"])
    with duckdb.connect() as conn:
        common = [c for c in conn.execute(f"select * from '{v1}' limit 0").fetchdf().columns]
        cols = ", ".join(f'"{c}"' for c in common)
        added = conn.execute(f"select count(*) from (select {cols} from '{v2}' except all select {cols} from '{v1}')"
                             ).fetchone()[0]
        removed = conn.execute(f"select count(*) from (select {cols} from '{v1}' except all select {cols} from '{v2}')"
                               ).fetchone()[0]
        rows = [conn.execute(f"select count(*) from '{f}'").fetchone()[0] for f in (v1, v2)]
    assert (added, removed) == (CORRECTED, REMOVED + CORRECTED)  # the file says what the republication did
    assert (metadata["trips_added"], metadata["trips_removed"]) == (added, removed)
    assert (metadata["rows_before"], metadata["rows_after"]) == tuple(rows)
    assert metadata["columns_added"] == ["cbd_congestion_fee"] and metadata["columns_dropped"] == []
    _, second = month_history(open_table(LocalLake(republished["lakehouse"].lake), "green"), Month.parse(MONTH))
    assert metadata["versions_compared"] == f"{second.version - 1} -> {second.version}"
    assert metadata["source_sha256_before"] == sha256(V1) and metadata["republished"] is True
    check = next(c for c in republished["result"].get_asset_check_evaluations()
                 if c.check_name == "republication_keeps_trips")
    assert check.passed  # 700 of 76,518 removed: under the 5% default


def view_sql(lakehouse: Lakehouse) -> str:
    return query(lakehouse.warehouse, "select sql from duckdb_views() where view_name = 'ext_green_tripdata'")[0][0]


def test_the_local_warehouse_reads_the_current_snapshot_and_no_old_file(republished):
    lakehouse = republished["lakehouse"]
    current = conformed_files(lakehouse.lake)
    old = set(republished["files_before"][MONTH])
    sql = view_sql(lakehouse)
    assert all(f in sql for files in current.values() for f in files)
    assert not any(f in sql for f in old)
    assert all(Path(f).exists() for f in old)  # the old snapshot's files are kept (until vacuum), not read
    rows = query(lakehouse.warehouse, "select month, count(*), sum(cbd_congestion_fee) from lake.ext_green_tripdata "
                                      "group by all order by all")
    assert rows == [(1, 76_518 - REMOVED, pytest.approx(0.75 * (76_518 - REMOVED))), (2, 64_572, None)]


def test_a_copy_of_the_lakehouse_reads_its_own_table(republished, tmp_path, monkeypatch):
    golden = republished["lakehouse"]
    lakehouse = copy(golden, tmp_path, monkeypatch)
    current = conformed_files(lakehouse.lake)
    assert all(f.startswith(f"{lakehouse.lake}/") for files in current.values() for f in files)
    assert all(f in view_sql(lakehouse) for files in current.values() for f in files)
    assert f"{golden.root}/" not in view_sql(lakehouse)
    view = "select year, month, count(*) from lake.ext_green_tripdata group by all order by all"
    assert query(lakehouse.warehouse, view) == query(golden.warehouse, view)


def versions_cli(lakehouse: Lakehouse, *args) -> str:
    env = {**os.environ, **lakehouse.settings_env()}
    done = subprocess.run([sys.executable, "-m", "lake_assets.versions_cli", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_history_and_an_old_version_are_read_from_the_local_warehouse(republished, tmp_path, monkeypatch):
    lakehouse = copy(republished["lakehouse"], tmp_path, monkeypatch)
    first, second = month_history(open_table(LocalLake(lakehouse.lake), "green"), Month.parse(MONTH))
    history = versions_cli(lakehouse, "history", "green", "--month", MONTH)
    assert f"version {first.version:>4}" in history and f"raw {sha256(V1)[:16]}" in history
    assert f"version {second.version:>4}" in history and f"raw {sha256(republished['v2'])[:16]}" in history
    assert f"created lake.ext_green_tripdata_at_version_{first.version}" in versions_cli(
        lakehouse, "view", "green", str(first.version))
    rows = query(lakehouse.warehouse, f"select count(*), sum(fare_amount) from lake.ext_green_tripdata_at_version_"
                                      f"{first.version} where year = 2021 and month = 1")
    expected = republished["first"]
    assert rows == [(expected.height, pytest.approx(expected["fare_amount"].sum()))]


def test_a_republication_removing_more_than_the_share_warns(republished, tmp_path, monkeypatch):
    lakehouse = copy(republished["lakehouse"], tmp_path, monkeypatch)
    monkeypatch.setenv("REPUBLICATION_MAX_REMOVED_SHARE", "0.005")  # 700 of 76,518 is 0.9%
    republish(republished["v2"], lakehouse.mirror / "green" / V1.name)  # 400 more removed
    result = materialize(load_defs(), ["raw_green_tripdata", "green_tripdata"], partition_key=MONTH)
    check = next(c for c in result.get_asset_check_evaluations() if c.check_name == "republication_keeps_trips")
    assert not check.passed and check.severity.value == "WARN" and result.success
    assert check.metadata["trips_removed"].value == REMOVED + CORRECTED


def test_restoring_the_first_version_from_run_config_brings_the_month_back(republished, tmp_path, monkeypatch):
    lakehouse = copy(republished["lakehouse"], tmp_path, monkeypatch)
    defs = load_defs()
    table = open_table(LocalLake(lakehouse.lake), "green")
    first = month_history(table, Month.parse(MONTH))[0].version
    other = conformed_files(lakehouse.lake)["2021-02"]
    result = materialize(defs, ["green_tripdata"], partition_key=MONTH,
                         run_config={"ops": {"green_tripdata": {"config": {"restore_version": first}}}})
    assert same_rows(conformed_month(lakehouse.lake, "green", MONTH), republished["first"])
    assert conformed_files(lakehouse.lake)["2021-02"] == other  # other months untouched
    metadata = metadata_of(result, "green_tripdata")
    assert metadata["restored_from_version"] == first and metadata["source_sha256"] == sha256(V1)
    assert metadata["dagster/row_count"] == 76_518
    assert {c.check_name: c.passed for c in result.get_asset_check_evaluations()}["rows_match_raw"]
    history = month_history(open_table(LocalLake(lakehouse.lake), "green"), Month.parse(MONTH))
    assert history[-1].operation == "restore" and json.loads(history[-1].metadata["lakehouse.source_columns"])
    bad = materialize(defs, ["green_tripdata"], partition_key=MONTH, raise_on_error=False,
                      run_config={"ops": {"green_tripdata": {"config": {"restore_version": 99}}}})
    assert not bad.success
    errors = step_errors(bad)
    assert "no version 99" in errors and "green 2021-01" in errors
