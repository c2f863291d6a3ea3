"""Read-only queries on the local warehouse: on a real DuckDB file, with the other reader or writer a real
process (DuckDB's file lock and the project's flock are per process)."""

from pathlib import Path

import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from lake_assets.warehouse import DuckDBWarehouse
from lake_assets.warehouse_lock import WarehouseBusyError, WarehouseLock
from tests.helpers import holding_the_warehouse


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
    with holding_the_warehouse(db, read_only=True, project_lock=True) as reader:
        assert warehouse(db).query("select count(*) from t") == [(3,)]
        # DuckDB lets no writer in beside a reader: the project's writers wait for it, then give up.
        with pytest.raises(WarehouseBusyError, match="another process of the project"), \
                WarehouseLock(db, 1, 0.1).hold("write"):
            pass
        assert reader.poll() is None
    with WarehouseLock(db, 1, 0.1).hold("write"):  # the reader gone, a writer gets in at once
        pass


def test_a_query_waits_for_a_writer_and_says_who_it_is(db):
    with holding_the_warehouse(db, project_lock=True) as writer, \
            pytest.raises(WarehouseBusyError, match=rf"locked by PID {writer.pid} \(a test's writer, since "):
        warehouse(db).query("select count(*) from t")
    assert warehouse(db).query("select count(*) from t") == [(3,)]
