"""The warehouse on BigQuery: external tables over the conformed Parquet in GCS, schema on read."""

import re

from google.cloud import bigquery

from lake_assets.lake import Lake, conformed_prefix
from lake_assets.warehouse import WarehouseResource, external_table_name

_IDENTIFIER = {"project": re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$|^local$"),
               "dataset": re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")}


def _checked(kind: str, value: str) -> str:
    if not _IDENTIFIER[kind].match(value):
        raise ValueError(f"{value!r} is not a valid BigQuery {kind} name; it is not put into SQL.")
    return value


def external_table_ddl(project: str, dataset: str, service: str, conformed_uri: str) -> str:
    """CREATE OR REPLACE EXTERNAL TABLE over every conformed month of a service. No column list:
    the conformed files already carry the canonical types, and BigQuery reads them from the Parquet
    (a declared schema would not override the files' types anyway); year and month come from the
    hive partition folders."""
    if not re.match(r"^gs://[a-z0-9._-]+(/[A-Za-z0-9._=/-]+)?$", conformed_uri):
        raise ValueError(f"{conformed_uri!r} is not a gs:// prefix that can be put into SQL.")
    table = f"`{_checked('project', project)}.{_checked('dataset', dataset)}.{external_table_name(service)}`"
    return (
        f"CREATE OR REPLACE EXTERNAL TABLE {table}\n"
        "WITH PARTITION COLUMNS (year INT64, month INT64)\n"
        "OPTIONS (\n"
        "  format = 'PARQUET',\n"
        f"  uris = ['{conformed_uri}/*'],\n"
        f"  hive_partition_uri_prefix = '{conformed_uri}'\n"
        ")"
    )


class BigQueryWarehouse(WarehouseResource):
    """A thin resource around google-cloud-bigquery's client; credentials from Application Default
    Credentials (GOOGLE_APPLICATION_CREDENTIALS or the environment), never put into config."""

    project: str
    dataset: str
    location: str = "US"

    def client(self) -> bigquery.Client:
        return bigquery.Client(project=self.project, location=self.location)

    def register_external_table(self, service: str, lake: Lake) -> dict:
        location = lake.uri(conformed_prefix(service))
        client = self.client()
        client.query(external_table_ddl(self.project, self.dataset, service, location)).result()
        table = f"{self.project}.{self.dataset}.{external_table_name(service)}"
        rows, months = next(iter(client.query(
            f"SELECT count(*), count(DISTINCT year * 100 + month) FROM `{table}`").result()))
        return {"table": table, "rows": rows, "months": months, "location": location}

    def query(self, sql: str) -> list[tuple]:
        return [tuple(row.values()) for row in self.client().query(sql).result()]

