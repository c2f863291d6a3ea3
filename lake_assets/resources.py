"""Resources, chosen per target in one place: the target changes the resources, never the assets."""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource

from lake_assets.bigquery_warehouse import BigQueryEmulatorWarehouse, BigQueryWarehouse
from lake_assets.lake import Lake, LocalLake
from lake_assets.project import dbt_project
from lake_assets.settings import DBT_EXECUTABLE, Settings, redact_url
from lake_assets.source import TlcSource
from lake_assets.warehouse import DuckDBWarehouse


class LakeResource(dg.ConfigurableResource):
    """The data lake: a folder, or gs://bucket/prefix reached through dagster-gcp's GCSResource
    (credentials from Application Default Credentials; STORAGE_EMULATOR_HOST for an emulator)."""

    url: str
    gcp_project: str | None = None

    def get_lake(self) -> Lake:
        if self.url.startswith("gs://"):
            # Imported here: the Google clients cost the code location ~0.7 s it does not need locally.
            from dagster_gcp import GCSResource

            from lake_assets.gcs_lake import GcsLake

            return GcsLake(self.url, GCSResource(project=self.gcp_project).get_client())
        return LocalLake(self.url)


class TlcSourceResource(dg.ConfigurableResource):
    """Where monthly TLC files are fetched from: the URL template the settings resolved TLC_SOURCE_URL to.

    A URL with credentials in it is given as dg.EnvVar, so it is never shown in the UI."""

    url_template: str
    timeout_seconds: float = 60.0

    def get_source(self) -> TlcSource:
        return TlcSource(self.url_template, self.timeout_seconds)


@contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class WarehouseDbtResource(DbtCliResource):
    """dbt on the warehouse the settings resolved (Settings.dbt_profile_env: its path, DuckDB's limits).

    dbt's profile reads them with env_var(), twice per call: in the dbt subprocess and in the adapter
    dagster-dbt opens in this process (for row counts and column types). DbtCliResource takes no
    environment and gives both os.environ, so the variables are set for the length of a call and put
    back after it, instead of written into the process's environment at import."""

    profile_env: dict[str, str]

    def cli(self, args, **kwargs):
        with _environment(self.profile_env):
            return super().cli(args, **kwargs)


def build_resources(settings: Settings) -> dict:
    """The same assets on either target: only these resources differ."""
    if settings.target == "gcp" and settings.bigquery_emulator_url:
        warehouse = BigQueryEmulatorWarehouse(project=settings.gcp_project, dataset=settings.bq_dataset,
                                              location=settings.bq_location,
                                              maximum_bytes_billed=settings.bq_maximum_bytes_billed,
                                              api_endpoint=settings.bigquery_emulator_url,
                                              gcs_local_root=settings.bigquery_emulator_gcs_root)
    elif settings.target == "gcp":
        warehouse = BigQueryWarehouse(project=settings.gcp_project, dataset=settings.bq_dataset,
                                      location=settings.bq_location,
                                      maximum_bytes_billed=settings.bq_maximum_bytes_billed)
    else:
        warehouse = DuckDBWarehouse(duckdb=DuckDBResource(database=str(settings.duckdb_path),
                                                          connection_config=settings.duckdb_limits.as_duckdb_config()),
                                    lock_timeout_seconds=settings.duckdb_lock_timeout_seconds,
                                    lock_retry_delay_seconds=settings.duckdb_lock_retry_delay_seconds)
    return {
        "lake": LakeResource(url=settings.lake_url, gcp_project=settings.gcp_project),
        "tlc_source": TlcSourceResource(
            # a preset's URL has no credentials: only a URL given in full is taken as EnvVar
            url_template=(settings.tlc_source_url if redact_url(settings.tlc_source_url) == settings.tlc_source_url
                          else dg.EnvVar("TLC_SOURCE_URL")),
            timeout_seconds=settings.download_timeout_seconds,
        ),
        "warehouse": warehouse,
        "dbt": WarehouseDbtResource(project_dir=dbt_project, target=settings.dbt_target, dbt_executable=DBT_EXECUTABLE,
                                    profile_env=settings.dbt_profile_env()),
    }
