"""ext_<service>_tripdata: the conformed lake registered in the warehouse, schema on read."""


import dagster as dg

from lake_assets.asset_keys import external_table_asset_key
from lake_assets.assets.dbt import WAREHOUSE_POOL
from lake_assets.automation.conditions import on_missing_or_conformed_update
from lake_assets.resources import LakeResource
from lake_assets.warehouse import WarehouseResource

DESCRIPTION = (
    "An external table (BigQuery) or view (DuckDB) over every conformed {service} month, "
    "with the hive partition columns year and month."
)


def build_external_table_asset(service: str, conformed_asset: dg.AssetsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=external_table_asset_key(service),
        deps=[conformed_asset],
        group_name="warehouse",
        kinds={"duckdb", "bigquery"},
        description=DESCRIPTION.format(service=service),
        tags={"service": service},
        automation_condition=on_missing_or_conformed_update(),
        pool=WAREHOUSE_POOL,
    )
    def external_table(context: dg.AssetExecutionContext, lake: LakeResource, warehouse: WarehouseResource):
        registered = warehouse.register_external_table(service, lake.get_lake())
        context.log.info(f"registered {registered['table']}: {registered['rows']:,} rows in {registered['months']} months")
        return dg.MaterializeResult(
            metadata={
                "table": registered["table"],
                "location": registered["location"],
                "months": registered["months"],
                "dagster/row_count": registered["rows"],
            }
        )

    return external_table
