"""ext_<service>_tripdata: the conformed lake registered in the warehouse, schema on read."""


import dagster as dg

from lake_assets.asset_keys import external_table_asset_key
from lake_assets.automation.conditions import on_missing_or_conformed_update
from lake_assets.graph_names import WAREHOUSE_GROUP, WAREHOUSE_POOL
from lake_assets.lake_counts import lake_counts
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
        group_name=WAREHOUSE_GROUP,
        kinds={"duckdb", "bigquery"},
        description=DESCRIPTION.format(service=service),
        tags={"service": service},
        automation_condition=on_missing_or_conformed_update(),
        pool=WAREHOUSE_POOL,
    )
    def external_table(context: dg.AssetExecutionContext, lake: LakeResource, warehouse: WarehouseResource):
        the_lake = lake.get_lake()
        registered = warehouse.register_external_table(service, the_lake)
        # The figures are the lake's (its listing, the conformed months' recorded row counts): the
        # registration reads no row.
        counts = lake_counts(context.instance, the_lake, service, conformed_asset.key)
        if counts.counted_from_files:
            context.log.info(f"no recorded row count for {', '.join(counts.counted_from_files)}: counted from the files")
        context.log.info(f"registered {registered['table']}: {counts.rows:,} rows in {len(counts.months)} months")
        cost = {f"bigquery/{name}": registered[name] for name in ("bytes_processed", "bytes_billed") if name in registered}
        return dg.MaterializeResult(
            metadata={
                "table": registered["table"],
                "location": registered["location"],
                "months": len(counts.months),
                "dagster/row_count": counts.rows,
                "rows_counted_from_files": dg.MetadataValue.json(counts.counted_from_files),
                **cost,
            }
        )

    return external_table
