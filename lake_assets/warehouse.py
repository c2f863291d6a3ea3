"""The warehouse side of the lake: external tables (BigQuery) or views (DuckDB) over conformed Parquet.

Schema on read: the warehouse holds no copy of the trips, only a definition over the lake's files,
with the hive partition columns (year, month) exposed as columns.
"""


from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource
from dbt.adapters.duckdb.column import DuckDBColumn

from lake_assets.catalog import Month
from lake_assets.conformed_table import month_files, open_table
from lake_assets.lake import Lake, conformed_prefix
from lake_assets.schemas import CANONICAL_SCHEMAS, PARTITION_COLUMNS
from lake_assets.warehouse_lock import WarehouseLock

DUCKDB_TYPES = {pl.Int64: "BIGINT", pl.Float64: "DOUBLE", pl.String: "VARCHAR", pl.Datetime("us"): "TIMESTAMP"}
LAKE_SCHEMA = "lake"


def external_table_name(service: str) -> str:
    return f"ext_{service}_tripdata"


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def snapshot_select_sql(months: dict[Month, list[str]], columns: list[str], dialect: str = "duckdb") -> str:
    """A SELECT of exactly the given files, month by month, with year and month from the table's partition
    values (BIGINT), not from the paths (hive_partitioning off: the paths say year=2020/month=10 too): a snapshot's file list, never a glob that could match files of
    other snapshots. A month whose files lack a column the table gained later reads it as NULL.
    dialect "bigquery": the same for bqemulator (INT64, identifiers in backticks; it runs DuckDB)."""
    int_type, quote = ("INT64", "`") if dialect == "bigquery" else ("BIGINT", '"')
    branches = [
        f"SELECT *, CAST({m.year} AS {int_type}) AS year, CAST({m.month} AS {int_type}) AS month "
        f"FROM read_parquet([{', '.join(_sql_string(f) for f in files)}], hive_partitioning = false, union_by_name = true)"
        for m, files in months.items()
    ]
    selected = ", ".join(f"{quote}{c}{quote}" for c in [*columns, *PARTITION_COLUMNS])
    return f"SELECT {selected} FROM (\n  " + "\n  UNION ALL BY NAME\n  ".join(branches) + "\n)"


def empty_view_select(service: str) -> str:
    """Before the first month lands: no rows, the shape of the table."""
    columns = {**CANONICAL_SCHEMAS[service], **PARTITION_COLUMNS}
    nulls = ", ".join(f'CAST(NULL AS {DUCKDB_TYPES[t]}) AS "{c}"' for c, t in columns.items())
    return f"SELECT {nulls} WHERE false"


def snapshot_view_select(service: str, lake: Lake, version: int | None = None) -> str:
    """The SELECT of a view over the service's conformed table at `version` (default: the current snapshot)."""
    table = open_table(lake, service, version)
    months = month_files(table) if table else {}
    if not months:
        return empty_view_select(service)
    columns = [f.name for f in table.schema().fields if f.name not in PARTITION_COLUMNS]
    return snapshot_select_sql({m: files.uris for m, files in months.items()}, columns)


def duckdb_view_sql(service: str, lake: Lake) -> str:
    """The view over the current snapshot's files, rewritten by every registration (after each commit)."""
    return f"CREATE OR REPLACE VIEW {LAKE_SCHEMA}.{external_table_name(service)} AS {snapshot_view_select(service, lake)}"


def version_view_name(service: str, version: int) -> str:
    return f"{external_table_name(service)}_at_version_{version}"


def duckdb_version_view_sql(service: str, lake: Lake, version: int) -> str:
    """A view of the service's table as it was at `version` (docs/versioned-lake.md, "Reading an old version")."""
    return (f"CREATE OR REPLACE VIEW {LAKE_SCHEMA}.{version_view_name(service, version)} AS "
            f"{snapshot_view_select(service, lake, version)}")


@dataclass(frozen=True)
class TableDescription:
    """What the warehouse says of a table: its columns and types (as dbt's adapter names them), and its
    rows where they were asked for."""

    columns: dict[str, str]
    rows: int | None = None


class WarehouseResource(dg.ConfigurableResource):
    """Registers the conformed lake in the warehouse and answers small queries about it."""

    @abstractmethod
    def register_external_table(self, service: str, lake: Lake) -> dict:
        """Creates or replaces ext_<service>_tripdata, reading none of its rows; returns metadata: table,
        location, and what the warehouse billed for it where it says (bytes_processed, bytes_billed).
        Its rows and months are the lake's to tell (lake_counts)."""

    @abstractmethod
    def query(self, sql: str) -> list[tuple]: ...

    @abstractmethod
    def describe_tables(self, tables: list[tuple[str, str, str]], counted: dict[tuple[str, str, str], str | None]
                        ) -> dict[tuple[str, str, str], TableDescription]:
        """The columns of each (database, schema, table), and the rows of those in `counted`, each given
        with the column a query of it must filter on (BigQuery's require_partition_filter, see
        dbt_project/macros/monthly_incremental.sql), or None; a table that does not exist is left out. A
        caller on a locked warehouse holds its writer lock already."""

    def writer_lock(self) -> WarehouseLock | None:
        """The lock its writers take in turn (DuckDB: one writing process) and its readers share; None: no
        lock needed."""
        return None


class DuckDBWarehouse(WarehouseResource):
    """The embedded warehouse: a DuckDB file whose `lake` schema holds views over the local lake."""

    duckdb: DuckDBResource
    # How long its work waits for another process that holds the file (DUCKDB_LOCK_* settings).
    lock_timeout_seconds: float = 900.0
    lock_retry_delay_seconds: float = 1.0

    def writer_lock(self) -> WarehouseLock:
        return WarehouseLock(Path(self.duckdb.database), self.lock_timeout_seconds, self.lock_retry_delay_seconds,
                             dg.get_dagster_logger())

    def register_external_table(self, service: str, lake: Lake) -> dict:
        sql = duckdb_view_sql(service, lake)
        table = f"{LAKE_SCHEMA}.{external_table_name(service)}"
        with self.writer_lock().hold(f"register {table}"), self.duckdb.get_connection() as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {LAKE_SCHEMA}")
            conn.execute(sql)
        return {"table": table, "location": lake.uri(conformed_prefix(service))}

    def register_version_view(self, service: str, lake: Lake, version: int) -> str:
        """Creates lake.ext_<service>_tripdata_at_version_<version>; returns its name."""
        table = f"{LAKE_SCHEMA}.{version_view_name(service, version)}"
        with self.writer_lock().hold(f"register {table}"), self.duckdb.get_connection() as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {LAKE_SCHEMA}")
            conn.execute(duckdb_version_view_sql(service, lake, version))
        return table

    def query(self, sql: str) -> list[tuple]:
        # Read-only, beside other readers: DuckDB keeps writers out only while the query runs (WarehouseLock.read_only).
        with self.writer_lock().read_only(config=self.duckdb.connection_config) as conn:
            return conn.execute(sql).fetchall()

    def describe_tables(self, tables, counted):
        # One query for every table's columns (a DuckDB file holds one catalog: the schema and name say
        # which table), and a count of each counted table, which DuckDB answers from its row groups (no
        # table of DuckDB requires a filter).
        wanted = {(schema.lower(), name.lower()): (database, schema, name) for database, schema, name in tables}
        described: dict[tuple[str, str, str], dict[str, str]] = {}
        with self.duckdb.get_connection() as conn:
            rows = conn.execute(
                "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
                "ORDER BY table_schema, table_name, ordinal_position").fetchall()
            for schema, name, column, data_type in rows:
                table = wanted.get((schema.lower(), name.lower()))
                if table:
                    described.setdefault(table, {})[column] = DuckDBColumn(column, data_type).data_type
            counts = {table: conn.execute(f'SELECT count(*) FROM "{table[1]}"."{table[2]}"').fetchone()[0]
                      for table in counted if table in described}
        return {table: TableDescription(columns, counts.get(table)) for table, columns in described.items()}
