"""The conformed Delta table: one commit per month, schema evolution, vacuum, the view over a snapshot's files."""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pytest
from deltalake import CommitProperties, write_deltalake
from deltalake.exceptions import CommitFailedError

from lake_assets.catalog import Month
from lake_assets.conformed_table import (
    arrow_schema,
    commit_month,
    month_files,
    month_history,
    month_reader,
    open_table,
    scan_month,
    vacuum,
    write_month_files,
)
from lake_assets.lake import LocalLake
from lake_assets.schemas import CANONICAL_SCHEMAS
from lake_assets.warehouse import snapshot_view_select
from tests.conftest import SHARED_TLC
from tests.helpers import same_rows

JAN, FEB = Month(2021, 1), Month(2021, 2)


def real_month(month: Month, rows: int) -> pl.DataFrame:
    """The first rows of a real green month, on the canonical schema (cbd_congestion_fee: not published in 2021)."""
    raw = pl.read_parquet(SHARED_TLC / "green" / f"green_tripdata_{month.key}.parquet", n_rows=rows)
    return raw.select([pl.col(c).cast(t) if c in raw.columns else pl.lit(None, t).alias(c)
                       for c, t in CANONICAL_SCHEMAS["green"].items()])


def commit(lake: LocalLake, month: Month, frame: pl.DataFrame) -> int:
    batches = frame.to_arrow(compat_level=pl.CompatLevel.oldest()).to_batches(max_chunksize=1_000)
    return commit_month(lake, "green", month, lambda: month_reader(iter(batches), "green", month), {"lakehouse.operation": "test"})


def test_a_column_added_later_evolves_the_schema_without_rewriting_other_months(tmp_path):
    lake = LocalLake(tmp_path / "lake")
    # January as code from before cbd_congestion_fee was canonical wrote it: the table lacks the column.
    old = real_month(JAN, 2_000).drop("cbd_congestion_fee")
    schema = pa.schema([f for f in arrow_schema("green") if f.name != "cbd_congestion_fee"])
    table = old.with_columns(year=pl.lit(2021, pl.Int64), month=pl.lit(1, pl.Int64)).to_arrow().cast(schema)
    write_deltalake(lake.uri("conformed/green"), table, partition_by=["year", "month"])
    jan_files = month_files(open_table(lake, "green"))[JAN].uris
    jan_bytes = [Path(f).read_bytes() for f in jan_files]
    commit(lake, FEB, real_month(FEB, 1_000).with_columns(cbd_congestion_fee=pl.lit(0.75)))
    snapshot = open_table(lake, "green")
    assert "cbd_congestion_fee" in [f.name for f in snapshot.schema().fields]
    assert month_files(snapshot)[JAN].uris == jan_files and [Path(f).read_bytes() for f in jan_files] == jan_bytes
    assert scan_month(lake, "green", JAN).collect()["cbd_congestion_fee"].null_count() == 2_000
    # the warehouse view reads both months, the old one's missing column as NULL
    with duckdb.connect() as conn:
        rows = conn.execute(f"select year, month, count(*), sum(cbd_congestion_fee) from ({snapshot_view_select('green', lake)}) "
                            "group by all order by all").fetchall()
        types = {row[0]: row[1] for row in conn.execute(f"describe {snapshot_view_select('green', lake)}").fetchall()}
    assert rows == [(2021, 1, 2_000, None), (2021, 2, 1_000, 750.0)]
    assert (types["year"], types["month"]) == ("BIGINT", "BIGINT")


def test_each_commit_replaces_exactly_its_month_and_the_old_snapshot_stays_readable(tmp_path):
    lake = LocalLake(tmp_path / "lake")
    first_jan = real_month(JAN, 3_000)
    # version 0: the table, created empty before its first month
    assert commit(lake, JAN, first_jan) == 1
    assert commit(lake, FEB, real_month(FEB, 1_000)) == 2
    assert commit(lake, JAN, first_jan.head(2_500)) == 3
    assert {m: f.rows for m, f in month_files(open_table(lake, "green")).items()} == {JAN: 2_500, FEB: 1_000}
    assert month_files(open_table(lake, "green", version=0)) == {}
    assert same_rows(scan_month(lake, "green", JAN, version=2).collect(), first_jan)
    assert same_rows(scan_month(lake, "green", JAN).collect(), first_jan.head(2_500))


def test_vacuum_after_the_retention_removes_only_files_of_expired_snapshots(tmp_path):
    lake = LocalLake(tmp_path / "lake")
    commit(lake, JAN, real_month(JAN, 3_000))
    commit(lake, FEB, real_month(FEB, 1_000))
    replaced = month_files(open_table(lake, "green"))[JAN].uris
    commit(lake, JAN, real_month(JAN, 2_000))
    # a killed commit's data file: in the table's folder, named by no commit
    orphan = tmp_path / "lake/conformed/green/year=2021/month=1/part-00000-killed-c000.zstd.parquet"
    real_month(JAN, 10).write_parquet(orphan)
    current = [f for files in month_files(open_table(lake, "green")).values() for f in files.uris]
    assert vacuum(lake, "green", retention_hours=168) == []  # inside the retention: every snapshot stays
    assert scan_month(lake, "green", JAN, version=2).collect().height == 3_000
    removed = vacuum(lake, "green", retention_hours=0)
    assert sorted(tmp_path / "lake/conformed/green" / f for f in removed) == sorted([Path(replaced[0]), orphan])
    assert all(Path(f).exists() for f in current)
    assert scan_month(lake, "green", JAN).collect().height == 2_000
    assert scan_month(lake, "green", FEB, version=2).collect().height == 1_000  # its file is still current


def test_two_commits_of_one_month_at_once_both_succeed_and_leave_one_complete_copy(tmp_path):
    """The month's (and the table's) first two commits at once: the table is created once, empty, and the
    month is not appended twice."""
    lake = LocalLake(tmp_path / "lake")
    frames = {rows: real_month(JAN, rows) for rows in (3_000, 2_000)}

    def slow(frame):  # batches that take a while, so that both writers read the same snapshot
        def batches():
            for batch in frame.to_arrow(compat_level=pl.CompatLevel.oldest()).to_batches(max_chunksize=500):
                time.sleep(0.05)
                yield batch
        return lambda: month_reader(batches(), "green", JAN)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda f: commit_month(lake, "green", JAN, slow(f), {}), frames.values()))
    assert [c.version for c in month_history(open_table(lake, "green"), JAN)] == [1, 2]  # both committed
    final = scan_month(lake, "green", JAN).collect()
    assert any(same_rows(final, frame) for frame in frames.values())  # one whole copy, not a mix
    assert month_files(open_table(lake, "green"))[JAN].rows == final.height


def test_a_commit_on_a_snapshot_that_is_no_longer_the_latest_is_refused(tmp_path):
    """What commit_month relies on to make the last writer win: without delta-rs's own retries, a commit
    made on a stale snapshot is refused (it would otherwise be rebased and keep both writers' files)."""
    lake = LocalLake(tmp_path / "lake")
    commit(lake, JAN, real_month(JAN, 100))
    stale = open_table(lake, "green")
    batches = real_month(JAN, 200).to_arrow(compat_level=pl.CompatLevel.oldest()).to_batches()
    actions = write_month_files(lake, "green", JAN, month_reader(iter(batches), "green", JAN))
    commit(lake, JAN, real_month(JAN, 300))  # another writer's commit of the month
    with pytest.raises(CommitFailedError):
        stale.create_write_transaction(
            actions, mode="overwrite", schema=pa.schema(stale.schema().to_arrow()), partition_by=["year", "month"],
            partition_filters=[("year", "=", "2021"), ("month", "=", "1")],
            commit_properties=CommitProperties(max_commit_retries=0))
    assert month_files(open_table(lake, "green"))[JAN].rows == 300
