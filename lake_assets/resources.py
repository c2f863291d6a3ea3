"""Resources, chosen per target in one place: the target changes the resources, never the assets."""


import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource

from lake_assets.lake import Lake, LocalLake
from lake_assets.project import dbt_project
from lake_assets.settings import Settings
from lake_assets.source import TlcSource
from lake_assets.warehouse import DuckDBWarehouse


class LakeResource(dg.ConfigurableResource):
    """The data lake; `url` is a folder for the local target."""

    url: str

    def get_lake(self) -> Lake:
        return LocalLake(self.url)


class TlcSourceResource(dg.ConfigurableResource):
    """Where monthly TLC files are fetched from: a URL template (settings.TLC_SOURCE_URL)."""

    url_template: str
    timeout_seconds: float = 60.0

    def get_source(self) -> TlcSource:
        return TlcSource(self.url_template, self.timeout_seconds)


def build_resources(settings: Settings) -> dict:
    if settings.target != "local":
        raise NotImplementedError("LAKEHOUSE_TARGET=gcp is not built yet (issue 3).")
    return {
        "lake": LakeResource(url=settings.lake_url),
        "tlc_source": TlcSourceResource(url_template=settings.tlc_source_url),
        "warehouse": DuckDBWarehouse(duckdb=DuckDBResource(database=str(settings.duckdb_path))),
        "dbt": DbtCliResource(project_dir=dbt_project, target="local"),
    }
