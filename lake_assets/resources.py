"""Resources, chosen per target in one place: the target changes the resources, never the assets."""

import os

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource

from lake_assets.lake import Lake, LocalLake
from lake_assets.project import dbt_project
from lake_assets.settings import SOURCE_PRESETS, Settings
from lake_assets.source import TlcSource
from lake_assets.warehouse import DuckDBWarehouse


class LakeResource(dg.ConfigurableResource):
    """The data lake; `url` is a folder for the local target."""

    url: str

    def get_lake(self) -> Lake:
        return LocalLake(self.url)


class TlcSourceResource(dg.ConfigurableResource):
    """Where monthly TLC files are fetched from: a URL template or preset (settings.TLC_SOURCE_URL).

    Given as dg.EnvVar when set, so a URL with credentials in it is never shown in the UI."""

    url_template: str
    timeout_seconds: float = 60.0

    def get_source(self) -> TlcSource:
        return TlcSource(SOURCE_PRESETS.get(self.url_template, self.url_template), self.timeout_seconds)


def build_resources(settings: Settings) -> dict:
    if settings.target != "local":
        raise NotImplementedError("LAKEHOUSE_TARGET=gcp is not built yet (issue 3).")
    return {
        "lake": LakeResource(url=settings.lake_url),
        "tlc_source": TlcSourceResource(
            url_template=dg.EnvVar("TLC_SOURCE_URL") if os.environ.get("TLC_SOURCE_URL") else "sample",
            timeout_seconds=settings.download_timeout_seconds,
        ),
        "warehouse": DuckDBWarehouse(duckdb=DuckDBResource(database=str(settings.duckdb_path))),
        "dbt": DbtCliResource(project_dir=dbt_project, target="local"),
    }
