"""The code location: every asset, check, resource, schedule and sensor of the lakehouse."""

from __future__ import annotations

import os

import dagster as dg

from lake_assets.assets.conformed import build_conformed_asset
from lake_assets.assets.dbt import build_dbt_assets
from lake_assets.assets.external_tables import build_external_table_asset
from lake_assets.assets.raw import build_raw_asset
from lake_assets.catalog import SERVICES
from lake_assets.partitions import service_partitions, trip_month_partitions
from lake_assets.resources import build_resources
from lake_assets.settings import Settings, load_settings


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    partitions = service_partitions(settings.publication_lag_months)
    assets: list[dg.AssetsDefinition] = []
    for service in SERVICES:
        raw = build_raw_asset(service, partitions[service], settings)
        conformed = build_conformed_asset(service, partitions[service], raw)
        assets += [raw, conformed, build_external_table_asset(service, conformed)]
    return assets + build_dbt_assets(trip_month_partitions(settings.publication_lag_months))


def build_definitions(settings: Settings) -> dg.Definitions:
    # dbt runs as a subprocess in dbt_project/: hand it the warehouse path resolved here.
    os.environ["DUCKDB_PATH"] = str(settings.duckdb_path)
    return dg.Definitions(assets=build_assets(settings), resources=build_resources(settings))


defs = build_definitions(load_settings())
