"""Resources, chosen per target in one place: the target changes the resources, never the assets."""

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource
from dbt.constants import PARTIAL_PARSE_FILE_NAME
from dbt.version import __version__ as dbt_core_version
from packaging import version

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
    """dbt on the warehouse the settings resolved (Settings.dbt_profile_env: its path, DuckDB's limits),
    paying for its work and not much more.

    dbt's profile reads those variables with env_var(). DbtCliResource takes no environment and gives the
    dbt subprocess os.environ, so the variables are set for the length of a call and put back after it,
    instead of written into the process's environment at import. So are the months a run
    builds (LAKEHOUSE_MIN_MONTH / LAKEHOUSE_MAX_MONTH, read by the models at execution only), which as
    `--vars` would make dbt parse the whole project again in every run of other months.

    Fixed costs paid once, or not at all: dbt's version is this venv's dbt-core (DbtCliResource runs
    `dbt --version` in every run, as Dagster builds the resource afresh for each); no dbt adapter is set
    up in this process (dbt's project and macros loaded once more, 3-4 s a run); dbt's partial parse of one run
    is kept (`keep_partial_parse`) where dagster-dbt looks for the next run's: the target folder
    (DBT_TARGET_PATH) under which dagster-dbt makes each invocation's own, one per target and profile,
    since dbt parses again in full when either changes."""

    profile_env: dict[str, str]

    @property
    def _cli_version(self) -> version.Version:
        return version.parse(dbt_core_version)

    def _initialize_dbt_core_adapter(self, args):
        # The adapter dagster-dbt would set up in this process serves only its fetch_row_counts and
        # fetch_column_metadata, which the warehouse resource answers instead (lake_assets/dbt_metadata.py).
        return None

    @property
    def target_dir(self) -> Path:
        described = json.dumps([self.target, self.profile_env], sort_keys=True)
        return Path(self.project_dir) / "target" / "runs" / hashlib.sha256(described.encode()).hexdigest()[:16]

    def cli(self, args, *, months: tuple[str, str] | None = None, **kwargs):
        """`dbt args`; `months` [first, end) as YYYY-MM-DD are the months the monthly models rebuild."""
        variables = {**self.profile_env, "DBT_TARGET_PATH": str(self.target_dir)}
        if months:
            variables |= {"LAKEHOUSE_MIN_MONTH": months[0], "LAKEHOUSE_MAX_MONTH": months[1]}
        with _environment(variables):
            return super().cli(args, **kwargs)

    def keep_partial_parse(self, invocation) -> None:
        """The finished invocation's partial parse, for the next invocation to start from."""
        parsed = invocation.target_path / PARTIAL_PARSE_FILE_NAME
        if not parsed.is_file():
            return
        self.target_dir.mkdir(parents=True, exist_ok=True)
        # several runs may finish at once: copy under a temporary name, then rename into place
        with tempfile.NamedTemporaryFile(dir=self.target_dir, delete=False, suffix=".tmp") as copy:
            copy.write(parsed.read_bytes())
        os.replace(copy.name, self.target_dir / PARTIAL_PARSE_FILE_NAME)


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
