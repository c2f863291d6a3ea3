"""The warehouse on BigQuery: external tables over the conformed Parquet in GCS, schema on read.

BigQueryEmulatorWarehouse is the same warehouse on bqemulator (tests, local trials): no emulator
runs CREATE EXTERNAL TABLE, so it registers each service as a view over the same files instead.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lake_assets.catalog import Month
from lake_assets.lake import Lake, conformed_prefix
from lake_assets.settings import BQ_DATASET_RE, GCP_PROJECT_RE
from lake_assets.warehouse import (
    TableDescription,
    WarehouseResource,
    external_table_name,
    snapshot_select_sql,
)

if TYPE_CHECKING:  # the client library is imported when a client is made: it costs the code location ~0.5 s
    from google.cloud import bigquery

_IDENTIFIER = {"project": GCP_PROJECT_RE, "dataset": BQ_DATASET_RE}
# A bound on a partition column that every month passes: BigQuery refuses a query of a table that requires
# a partition filter without one. dbt's every_month_filter (dbt_project/macros/month_window.sql) is the same.
EVERY_MONTH_FROM = "1900-01-01"


def _checked(kind: str, value: str) -> str:
    if not _IDENTIFIER[kind].match(value):
        raise ValueError(f"{value!r} is not a valid BigQuery {kind} name; it is not put into SQL.")
    return value


def _checked_gs_prefix(conformed_uri: str) -> str:
    if not re.match(r"^gs://[a-z0-9._-]+(/[A-Za-z0-9._=/-]+)?$", conformed_uri):
        raise ValueError(f"{conformed_uri!r} is not a gs:// prefix that can be put into SQL.")
    return conformed_uri


def _table(project: str, dataset: str, service: str) -> str:
    return f"`{_checked('project', project)}.{_checked('dataset', dataset)}.{external_table_name(service)}`"


def external_table_ddl(project: str, dataset: str, service: str, conformed_uri: str) -> str:
    """CREATE OR REPLACE EXTERNAL TABLE over every conformed month of a service. No column list:
    the conformed files already carry the canonical types, and BigQuery reads them from the Parquet
    (a declared schema would not override the files' types anyway); year and month come from the
    hive partition folders. A query that does not filter on them is refused (require_hive_partition_filter):
    nothing scans every month by accident."""
    _checked_gs_prefix(conformed_uri)
    return (
        f"CREATE OR REPLACE EXTERNAL TABLE {_table(project, dataset, service)}\n"
        "WITH PARTITION COLUMNS (year INT64, month INT64)\n"
        "OPTIONS (\n"
        "  format = 'PARQUET',\n"
        f"  uris = ['{conformed_uri}/*'],\n"
        f"  hive_partition_uri_prefix = '{conformed_uri}',\n"
        "  require_hive_partition_filter = true\n"
        ")"
    )


def emulator_stand_in_ddl(project: str, dataset: str, service: str, conformed_uri: str, gcs_local_root: str) -> str:
    """What bqemulator gets instead of the external table: a view over the same Parquet files, read
    where the emulator finds gs:// objects (BQEMU_GCS_LOCAL_ROOT/<bucket>/<name>), with the same
    hive partition columns."""
    if not re.match(r"^/[A-Za-z0-9._/-]+$", gcs_local_root):
        raise ValueError(f"{gcs_local_root!r} is not an absolute folder that can be put into SQL.")
    files = f"{gcs_local_root.rstrip('/')}/{_checked_gs_prefix(conformed_uri).removeprefix('gs://')}/*/*/*.parquet"
    return (
        f"CREATE OR REPLACE VIEW {_table(project, dataset, service)} AS\n"
        # DuckDB under the emulator types a partition value with a leading zero (month=03) as text:
        # cast both, as the external table's WITH PARTITION COLUMNS (year INT64, month INT64) does.
        "SELECT * REPLACE (CAST(year AS INT64) AS year, CAST(month AS INT64) AS month)\n"
        f"FROM read_parquet('{files}', hive_partitioning = true, union_by_name = true)"
    )


_CONNECTION_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]\.[a-z0-9-]+\.[A-Za-z0-9_-]+$")


def delta_external_table_ddl(project: str, dataset: str, service: str, table_uri: str, connection: str) -> str:
    """A BigLake table over the service's Delta table (for a GCS lake with versioned tables, which the
    project does not run yet: docs/architecture.md, "Versions of the lake"). BigQuery reads the current
    snapshot from the table's log, so the DDL is run once, not after each commit; year and month are
    the table's partition columns. `connection`: project.location.connection_id of a Cloud resource
    connection whose service account may read the bucket."""
    _checked_gs_prefix(table_uri)
    if not _CONNECTION_RE.match(connection):
        raise ValueError(f"{connection!r} is not a BigQuery connection project.location.id; it is not put into SQL.")
    return (
        f"CREATE OR REPLACE EXTERNAL TABLE {_table(project, dataset, service)}\n"
        f"WITH CONNECTION `{connection}`\n"
        "OPTIONS (\n"
        "  format = 'DELTA_LAKE',\n"
        f"  uris = ['{table_uri}']\n"
        ")"
    )


def emulator_snapshot_view_ddl(project: str, dataset: str, service: str, months: dict[Month, list[str]],
                               columns: list[str], gcs_local_root: str) -> str:
    """bqemulator's stand-in for the BigLake Delta table: a view over exactly the current snapshot's files
    (`months`: gs:// URIs from the table's log), read where the emulator keeps gs:// objects. Never a
    glob: one would also match the files of older snapshots, which stay until vacuum."""
    if not re.match(r"^/[A-Za-z0-9._/-]+$", gcs_local_root):
        raise ValueError(f"{gcs_local_root!r} is not an absolute folder that can be put into SQL.")
    local = {}
    for month, uris in months.items():
        local[month] = [f"{gcs_local_root.rstrip('/')}/{_checked_gs_prefix(uri).removeprefix('gs://')}" for uri in uris]
    return f"CREATE OR REPLACE VIEW {_table(project, dataset, service)} AS\n" + snapshot_select_sql(
        local, columns, dialect="bigquery")


def job_cost(job: bigquery.QueryJob) -> dict[str, int]:
    """What BigQuery's job statistics say a finished job processed and billed, where they say it."""
    stats = {"bytes_processed": job.total_bytes_processed, "bytes_billed": job.total_bytes_billed}
    return {name: value for name, value in stats.items() if value is not None}


class BigQueryWarehouse(WarehouseResource):
    """A thin resource around google-cloud-bigquery's client; credentials from Application Default
    Credentials (GOOGLE_APPLICATION_CREDENTIALS or the environment), never put into config."""

    project: str
    dataset: str
    location: str = "US"
    # BQ_MAXIMUM_BYTES_BILLED: every query of the client is given it; one past it fails instead of billing.
    maximum_bytes_billed: int | None = None

    def query_job_config(self) -> bigquery.QueryJobConfig:
        """The configuration every query of client() starts from."""
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig()
        if self.maximum_bytes_billed is not None:
            config.maximum_bytes_billed = self.maximum_bytes_billed
        return config

    def client(self) -> bigquery.Client:
        from google.cloud import bigquery

        return bigquery.Client(project=self.project, location=self.location,
                               default_query_job_config=self.query_job_config())

    def external_table_sql(self, service: str, conformed_uri: str) -> str:
        return external_table_ddl(self.project, self.dataset, service, conformed_uri)

    def register_external_table(self, service: str, lake: Lake) -> dict:
        location = lake.uri(conformed_prefix(service))
        job = self.client().query(self.external_table_sql(service, location))
        job.result()
        table = f"{self.project}.{self.dataset}.{external_table_name(service)}"
        return {"table": table, "location": location, **job_cost(job)}

    def query(self, sql: str) -> list[tuple]:
        return [tuple(row.values()) for row in self.client().query(sql).result()]

    def describe_tables(self, tables, counted):
        # Columns from each table's metadata (tables.get), which bills nothing, where a query of
        # INFORMATION_SCHEMA is a billed job; types named as dbt-bigquery names them (INT64, not
        # INTEGER). Rows by count(*), as dagster-dbt counts them: a table's metadata lags behind DML
        # (the emulator's numRows does not follow an insert), and a count(*) of a table reads no column;
        # of a table that requires a partition filter, through EVERY_MONTH_FROM on its partition column
        # (which that column's bytes may be billed for).
        from dbt.adapters.bigquery.column import BigQueryColumn
        from google.api_core.exceptions import NotFound

        client = self.client()
        described = {}
        for table in tables:
            try:
                found = client.get_table(".".join(table))
            except NotFound:
                continue
            columns = {field.name: BigQueryColumn.create_from_field(field).data_type for field in found.schema}
            rows = None
            if table in counted:
                name = f"{found.project}.{found.dataset_id}.{found.table_id}"
                column = counted[table]
                where = f" WHERE `{column}` >= DATE '{EVERY_MONTH_FROM}'" if column else ""
                rows = next(iter(client.query(f"SELECT count(*) FROM `{name}`{where}").result()))[0]
            described[table] = TableDescription(columns, rows)
        return described


class BigQueryEmulatorWarehouse(BigQueryWarehouse):
    """BigQuery as bqemulator serves it on `api_endpoint`: anonymous credentials, and a view over the
    lake's files (under `gcs_local_root`, the folder the emulator resolves gs:// URIs in) in place of
    the external table. Everything else is BigQueryWarehouse's."""

    api_endpoint: str
    gcs_local_root: str

    def client(self) -> bigquery.Client:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(project=self.project, location=self.location, credentials=AnonymousCredentials(),
                               client_options=ClientOptions(api_endpoint=self.api_endpoint),
                               default_query_job_config=self.query_job_config())

    def external_table_sql(self, service: str, conformed_uri: str) -> str:
        return emulator_stand_in_ddl(self.project, self.dataset, service, conformed_uri, self.gcs_local_root)
