"""A month republished by the TLC: both raw versions kept, two commits of the month in the conformed table,
the old version readable, what changed in the metadata, and a restore to the first version.

The republication is derived from the real green 2021-01 file (../shared): 400 trips removed, the fare
of 300 others corrected, and the column cbd_congestion_fee (canonical, not published in 2021) added.
"""

import hashlib
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
from tests.conftest import SHARED_TLC, mirror_template
from tests.helpers import conformed_files, conformed_month, load_defs, materialize, query, same_rows

V1 = SHARED_TLC / "green" / "green_tripdata_2021-01.parquet"
OTHER = SHARED_TLC / "green" / "green_tripdata_2021-02.parquet"
MONTH = "2021-01"
REMOVED, CORRECTED = 400, 300


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
    tmp = tmp_path_factory.mktemp("versioned")
    mirror = tmp / "mirror" / "green"
    mirror.mkdir(parents=True)
    shutil.copyfile(V1, mirror / V1.name)
    shutil.copyfile(OTHER, mirror / OTHER.name)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LAKEHOUSE_TARGET", "local")
        env.setenv("LAKE_URL", str(tmp / "lake"))
        env.setenv("DUCKDB_PATH", str(tmp / "warehouse.duckdb"))
        env.setenv("TLC_SOURCE_URL", mirror_template(tmp / "mirror"))
        env.delenv("DAGSTER_HOME", raising=False)
        defs = load_defs()
        for month in (MONTH, "2021-02"):
            materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key=month)
        first = conformed_month(tmp / "lake", "green", MONTH)
        files_before = conformed_files(tmp / "lake")
        republish(V1, mirror / V1.name)
        v2 = tmp / "v2.parquet"
        shutil.copyfile(mirror / V1.name, v2)
        result = materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key=MONTH)
        materialize(defs, ["ext_green_tripdata"])
        yield {"defs": defs, "tmp": tmp, "first": first, "files_before": files_before, "v2": v2,
               "result": result, "env": env}


def test_both_raw_versions_stay_content_addressed_and_relanding_adds_nothing(republished):
    tmp, result = republished["tmp"], republished["result"]
    sha1, sha2 = sha256(V1), sha256(republished["v2"])
    versions = tmp / "lake" / "raw_versions" / "green" / MONTH
    assert sorted(p.name for p in versions.iterdir()) == sorted([f"{sha1}.parquet", f"{sha2}.parquet"])
    assert sha256(versions / f"{sha1}.parquet") == sha1  # the first version's bytes, as published
    assert sha256(tmp / "lake" / "raw" / "green" / V1.name) == sha2  # the current one where it always was
    raw = metadata_of(result, "raw_green_tripdata")
    assert (raw["version_landed"], raw["version_replaced"], raw["versions_of_month"]) == (sha2, sha1, 2)
    before = sorted(p.stat().st_mtime_ns for p in versions.iterdir())
    again = metadata_of(materialize(republished["defs"], ["raw_green_tripdata"], partition_key=MONTH),
                        "raw_green_tripdata")
    assert (again["version_is_new"], again["version_replaced"], again["versions_of_month"]) == (False, sha2, 2)
    assert sorted(p.stat().st_mtime_ns for p in versions.iterdir()) == before


def test_the_month_has_two_commits_and_the_old_version_reads_back_exactly(republished):
    tmp = republished["tmp"]
    table = open_table(LocalLake(tmp / "lake"), "green")
    commits = month_history(table, Month.parse(MONTH))
    assert [c.operation for c in commits] == ["conform", "conform"]
    assert [c.metadata["lakehouse.source_sha256"] for c in commits] == [sha256(V1), sha256(republished["v2"])]
    old = conformed_month(tmp / "lake", "green", MONTH, version=commits[0].version)
    assert same_rows(old, republished["first"])
    assert conformed_month(tmp / "lake", "green", MONTH).height == 76_518 - REMOVED
    # the other month: the same files as before the republication
    assert conformed_files(tmp / "lake")["2021-02"] == republished["files_before"]["2021-02"]


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
    _, second = month_history(open_table(LocalLake(republished["tmp"] / "lake"), "green"), Month.parse(MONTH))
    assert metadata["versions_compared"] == f"{second.version - 1} -> {second.version}"
    assert metadata["source_sha256_before"] == sha256(V1) and metadata["republished"] is True
    check = next(c for c in republished["result"].get_asset_check_evaluations()
                 if c.check_name == "republication_keeps_trips")
    assert check.passed  # 700 of 76,518 removed: under the 5% default


def test_the_local_warehouse_reads_the_current_snapshot_and_no_old_file(republished):
    tmp = republished["tmp"]
    current = conformed_files(tmp / "lake")
    old = set(republished["files_before"][MONTH])
    view_sql = query(tmp / "warehouse.duckdb",
                     "select sql from duckdb_views() where view_name = 'ext_green_tripdata'")[0][0]
    assert all(f in view_sql for files in current.values() for f in files)
    assert not any(f in view_sql for f in old)
    assert all(Path(f).exists() for f in old)  # the old snapshot's files are kept (until vacuum), not read
    rows = query(tmp / "warehouse.duckdb", "select month, count(*), sum(cbd_congestion_fee) from lake.ext_green_tripdata "
                                           "group by all order by all")
    assert rows == [(1, 76_518 - REMOVED, pytest.approx(0.75 * (76_518 - REMOVED))), (2, 64_572, None)]


def versions_cli(tmp, *args) -> str:
    env = {**os.environ, "LAKE_URL": str(tmp / "lake"), "DUCKDB_PATH": str(tmp / "warehouse.duckdb")}
    done = subprocess.run([sys.executable, "-m", "lake_assets.versions_cli", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_history_and_an_old_version_are_read_from_the_local_warehouse(republished):
    tmp = republished["tmp"]
    first, second = month_history(open_table(LocalLake(tmp / "lake"), "green"), Month.parse(MONTH))
    history = versions_cli(tmp, "history", "green", "--month", MONTH)
    assert f"version {first.version:>4}" in history and f"raw {sha256(V1)[:16]}" in history
    assert f"version {second.version:>4}" in history and f"raw {sha256(republished['v2'])[:16]}" in history
    assert f"created lake.ext_green_tripdata_at_version_{first.version}" in versions_cli(
        tmp, "view", "green", str(first.version))
    rows = query(tmp / "warehouse.duckdb", f"select count(*), sum(fare_amount) from lake.ext_green_tripdata_at_version_"
                                           f"{first.version} where year = 2021 and month = 1")
    expected = republished["first"]
    assert rows == [(expected.height, pytest.approx(expected["fare_amount"].sum()))]


def test_a_republication_removing_more_than_the_share_warns(republished, monkeypatch):
    monkeypatch.setenv("REPUBLICATION_MAX_REMOVED_SHARE", "0.005")  # 700 of 76,518 is 0.9%
    republish(republished["v2"], republished["tmp"] / "mirror" / "green" / V1.name)  # 400 more removed
    result = materialize(load_defs(), ["raw_green_tripdata", "green_tripdata"], partition_key=MONTH)
    check = next(c for c in result.get_asset_check_evaluations() if c.check_name == "republication_keeps_trips")
    assert not check.passed and check.severity.value == "WARN" and result.success
    assert check.metadata["trips_removed"].value == REMOVED + CORRECTED


def test_restoring_the_first_version_from_run_config_brings_the_month_back(republished):
    tmp, defs = republished["tmp"], republished["defs"]
    table = open_table(LocalLake(tmp / "lake"), "green")
    first = month_history(table, Month.parse(MONTH))[0].version
    other = conformed_files(tmp / "lake")["2021-02"]
    result = materialize(defs, ["green_tripdata"], partition_key=MONTH,
                         run_config={"ops": {"green_tripdata": {"config": {"restore_version": first}}}})
    assert same_rows(conformed_month(tmp / "lake", "green", MONTH), republished["first"])
    assert conformed_files(tmp / "lake")["2021-02"] == other  # other months untouched
    metadata = metadata_of(result, "green_tripdata")
    assert metadata["restored_from_version"] == first and metadata["source_sha256"] == sha256(V1)
    assert metadata["dagster/row_count"] == 76_518
    assert {c.check_name: c.passed for c in result.get_asset_check_evaluations()}["rows_match_raw"]
    history = month_history(open_table(LocalLake(tmp / "lake"), "green"), Month.parse(MONTH))
    assert history[-1].operation == "restore" and json.loads(history[-1].metadata["lakehouse.source_columns"])
    bad = materialize(defs, ["green_tripdata"], partition_key=MONTH, raise_on_error=False,
                      run_config={"ops": {"green_tripdata": {"config": {"restore_version": 99}}}})
    assert not bad.success
    errors = " ".join(str(e.event_specific_data.error) for e in bad.all_events if e.is_step_failure)
    assert "no version 99" in errors and "green 2021-01" in errors
