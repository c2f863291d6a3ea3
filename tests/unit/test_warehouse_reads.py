"""Read-only queries on the local warehouse: on a real DuckDB file, with the other reader or writer a real
process (DuckDB's file lock and the project's flock are per process)."""

import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from lake_assets.warehouse import DuckDBWarehouse
from lake_assets.warehouse_lock import WarehouseBusyError, WarehouseLock

HOLD = """
import sys
from pathlib import Path
from lake_assets.warehouse_lock import WarehouseLock
lock = WarehouseLock(Path(sys.argv[1]), timeout_seconds=30, retry_delay_seconds=0.1)
with (lock.read_only() if sys.argv[2] == "read" else lock.hold("a test's writer")) as held:
    if sys.argv[2] == "read":
        held.execute("select count(*) from t").fetchall()
    print("holding", flush=True)
    sys.stdin.read()  # until the test closes stdin
"""


@contextmanager
def another_process(db: Path, role: str):
    """A process of the project that reads the warehouse (role "read") or holds it to write ("write")
    until the block ends."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db), role], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "holding\n"
        yield holder
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("create table t as select * from range(3)")
    return path


def warehouse(db: Path) -> DuckDBWarehouse:
    return DuckDBWarehouse(duckdb=DuckDBResource(database=str(db)), lock_timeout_seconds=1,
                           lock_retry_delay_seconds=0.1)


def test_a_query_reads_through_a_read_only_connection(db):
    with pytest.raises(duckdb.Error, match="read-only"):
        warehouse(db).query("create table written as select 1")
    assert warehouse(db).query("select count(*) from duckdb_tables() where table_name = 'written'") == [(0,)]


def test_a_query_answers_while_another_process_reads_and_a_writer_waits_for_both(db):
    with another_process(db, "read") as reader:
        assert warehouse(db).query("select count(*) from t") == [(3,)]
        # DuckDB lets no writer in beside a reader: the project's writers wait for it, then give up.
        with pytest.raises(WarehouseBusyError, match="another process of the project"), \
                WarehouseLock(db, 1, 0.1).hold("write"):
            pass
        assert reader.poll() is None
    with WarehouseLock(db, 1, 0.1).hold("write"):  # the reader gone, a writer gets in at once
        pass


def test_a_query_waits_for_a_writer_and_says_who_it_is(db):
    with another_process(db, "write") as writer, \
            pytest.raises(WarehouseBusyError, match=rf"locked by PID {writer.pid} \(a test's writer, since "):
        warehouse(db).query("select count(*) from t")
    assert warehouse(db).query("select count(*) from t") == [(3,)]
