"""The keys of the assets that Python code names, in one place.

A service's three lake assets are named after it: raw_<service>_tripdata (the file as published),
<service>_tripdata (conformed) and ext_<service>_tripdata (the external table, keyed by its table
name, which dbt's sources name in `meta.dagster.asset_key`). The dbt models are keyed by their dbt
names. These are asset keys, the names in Dagster's graph; where an object sits in the lake is
lake.raw_object_key / lake.conformed_object_key.
"""

import dagster as dg

from lake_assets.warehouse import external_table_name

FACT_TRIPS = dg.AssetKey("fact_trips")
FHV_FACT_TRIPS = dg.AssetKey("fact_fhv_trips")
FHVHV_FACT_TRIPS = dg.AssetKey("fact_fhvhv_trips")
ZONE_REVENUE_MART = dg.AssetKey("dm_monthly_zone_revenue")
FHVHV_ZONE_REVENUE_MART = dg.AssetKey("dm_monthly_fhvhv_zone_revenue")
SERVICE_REVENUE_MART = dg.AssetKey("dm_monthly_service_revenue")
MART_CHARTS = dg.AssetKey("mart_charts")


def raw_asset_key(service: str) -> dg.AssetKey:
    return dg.AssetKey(f"raw_{service}_tripdata")


def conformed_asset_key(service: str) -> dg.AssetKey:
    return dg.AssetKey(f"{service}_tripdata")


def external_table_asset_key(service: str) -> dg.AssetKey:
    return dg.AssetKey(external_table_name(service))


def lake_asset_keys(service: str) -> list[dg.AssetKey]:
    """What lands and conforms one month of a service: its raw and conformed assets."""
    return [raw_asset_key(service), conformed_asset_key(service)]
