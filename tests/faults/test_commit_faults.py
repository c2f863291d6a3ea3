"""A conform killed in the middle of its commit: the previous snapshot stays readable and complete.

The writer is a real process committing a real green month (../shared, repeated to make it long) to the
table, with data files of 50,000 rows (the real size is 2,000,000) so that several are in the table's
folder when it is killed with SIGKILL by its own data stream, after 40 batches: while it writes the
month's files, before the commit's `_delta_log` entry exists.
"""

import subprocess
import sys
import textwrap

import duckdb
import polars as pl
import pytest

from lake_assets.catalog import Month
from lake_assets.conformed_table import commit_month, month_files, month_reader, open_table, vacuum
from lake_assets.lake import LocalLake
from lake_assets.schemas import CANONICAL_SCHEMAS
from lake_assets.settings import PROJECT_ROOT
from lake_assets.warehouse import snapshot_view_select
from tests.conftest import SHARED_TLC
from tests.helpers import conformed_month, same_rows

pytestmark = pytest.mark.faults

JAN = Month(2021, 1)
REAL = SHARED_TLC / "green" / "green_tripdata_2021-01.parquet"

KILLED_WRITER = textwrap.dedent("""
    import os, signal, sys
    import polars as pl
    from lake_assets.catalog import Month
    from lake_assets import conformed_table
    from lake_assets.conformed_table import commit_month, month_reader
    from lake_assets.lake import LocalLake
    from tests.unit.test_conformed_table import real_month

    conformed_table.FILE_ROWS = 50_000
    frame = real_month(Month(2021, 1), 80_000)
    def batches():
        for n, batch in enumerate(frame.to_arrow(compat_level=pl.CompatLevel.oldest()).to_batches(max_chunksize=10_000) * 20):
            if n == 40:
                os.kill(os.getpid(), signal.SIGKILL)  # in the middle of the commit's data files
            yield batch
    commit_month(LocalLake(sys.argv[1]), "green", Month(2021, 1), lambda: month_reader(batches(), "green", Month(2021, 1)), {})
""")


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select([pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c)
                         for c, t in CANONICAL_SCHEMAS["green"].items()])


def test_a_commit_killed_midway_leaves_the_previous_snapshot_readable_and_complete(tmp_path):
    lake = LocalLake(tmp_path / "lake")
    good = canonical(pl.read_parquet(REAL, n_rows=5_000))
    batches = good.to_arrow(compat_level=pl.CompatLevel.oldest()).to_batches()
    commit_month(lake, "green", JAN, lambda: month_reader(iter(batches), "green", JAN), {})
    before = month_files(open_table(lake, "green"))
    log_before = sorted(p.name for p in (tmp_path / "lake/conformed/green/_delta_log").iterdir())

    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(tmp_path / "lake")], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=300, check=False)
    assert killed.returncode == -9, killed.stderr[-2000:]

    assert sorted(p.name for p in (tmp_path / "lake/conformed/green/_delta_log").iterdir()) == log_before
    written = {str(p) for p in (tmp_path / "lake/conformed/green").rglob("*.parquet")} - set(before[JAN].uris)
    assert written  # the killed writer had written data files: it died in the middle of the commit
    table = open_table(lake, "green")
    assert table.version() == 1 and month_files(table) == before  # 0: created empty; 1: the good month
    assert same_rows(conformed_month(tmp_path / "lake", "green", "2021-01"), good)
    with duckdb.connect() as conn:  # the warehouse's view of the snapshot reads it whole, as before
        assert conn.execute(f"select count(*) from ({snapshot_view_select('green', lake)})").fetchone()[0] == 5_000
    # the next conform commits over it; vacuum past the retention deletes what the killed writer left
    commit_month(lake, "green", JAN, lambda: month_reader(iter(batches[:1]), "green", JAN), {})
    leftovers = {str(p) for p in (tmp_path / "lake/conformed/green").rglob("*.parquet")}
    current = set(month_files(open_table(lake, "green"))[JAN].uris)
    vacuum(lake, "green", retention_hours=0)
    assert {str(p) for p in (tmp_path / "lake/conformed/green").rglob("*.parquet")} == current
    assert leftovers >= current
