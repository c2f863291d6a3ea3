"""<service>_tripdata: the month conformed onto the service's canonical schema, as hive-partitioned Parquet."""


from pathlib import Path

import dagster as dg

from lake_assets.asset_keys import conformed_asset_key, raw_asset_key
from lake_assets.catalog import FORMATS, Month, file_name, format_of
from lake_assets.checks import conformed_check_results, conformed_check_specs
from lake_assets.conform import RawFile, conform_month
from lake_assets.graph_names import CONFORMED_GROUP
from lake_assets.lake import Lake, conformed_object_key, raw_object_key
from lake_assets.resources import LakeResource
from lake_assets.schemas import CANONICAL_SCHEMAS

DESCRIPTION = (
    "{service} trips of the month on the canonical {service} schema: typed, columns the TLC had not "
    "published yet as nulls, nothing dropped. conformed/{service}/year=YYYY/month=MM/part-0.parquet."
)


def find_raw_file(lake: Lake, service: str, month: Month) -> str:
    for ext in FORMATS:
        key = raw_object_key(service, file_name(service, month, ext))
        if lake.exists(key):
            return key
    raise FileNotFoundError(
        f"no raw {service} file for {month} in the lake at {lake.url}: "
        f"materialize {raw_asset_key(service).to_user_string()} first."
    )


def landed_sha256_and_rows(context: dg.AssetExecutionContext, raw_asset: dg.AssetKey) -> tuple[str, int] | None:
    """(sha256, rows) of the partition's raw file as its landing counted them, if recorded."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=raw_asset, asset_partitions=[context.partition_key]), limit=1
    ).records
    metadata = records[0].asset_materialization.metadata if records else {}
    if "sha256" not in metadata or "rows" not in metadata:
        return None
    return metadata["sha256"].value, metadata["rows"].value


def build_conformed_asset(
    service: str, partitions_def: dg.PartitionsDefinition, raw_asset: dg.AssetsDefinition
) -> dg.AssetsDefinition:
    asset_key = conformed_asset_key(service)

    @dg.asset(
        key=asset_key,
        partitions_def=partitions_def,
        deps=[raw_asset],
        group_name=CONFORMED_GROUP,
        kinds={"parquet", "polars"},
        description=DESCRIPTION.format(service=service),
        check_specs=conformed_check_specs(asset_key),
        tags={"service": service},
    )
    def conformed_tripdata(context: dg.AssetExecutionContext, lake: LakeResource):
        month = Month.parse(context.partition_key)
        the_lake = lake.get_lake()
        raw = find_raw_file(the_lake, service, month)
        raw_name = Path(raw).name
        key = conformed_object_key(service, month.year, month.month)
        landed = landed_sha256_and_rows(context, raw_asset.key)
        with the_lake.local_copy(raw) as raw_path, the_lake.staged() as tmp:
            report, raw_rows, raw_sha256 = conform_month(
                RawFile(raw_path, format_of(raw_name), raw_name, service, month), tmp, landed=landed)
            the_lake.publish(tmp, key)
        context.log.info(f"conformed {raw_name}: {report.rows:,} rows -> {key}")
        yield dg.MaterializeResult(
            metadata={
                "dagster/row_count": report.rows,
                "dagster/column_schema": dg.TableSchema(
                    columns=[dg.TableColumn(n, str(t)) for n, t in CANONICAL_SCHEMAS[service].items()]
                ),
                "lake_uri": the_lake.uri(key),
                "source_file": raw_name,
                "source_sha256": raw_sha256,
                "pickup_min": str(report.pickup_min),
                "pickup_max": str(report.pickup_max),
                "rows_outside_month": report.rows_outside_month,
                "columns_missing": dg.MetadataValue.json(report.columns_missing),
                # why each missing column is drift, not damage (the TLC's schema history)
                "layout": report.layout,
                "columns_not_published": dg.MetadataValue.json(report.columns_not_published),
                "columns_extra": dg.MetadataValue.json(report.columns_extra),
                "columns_cast": dg.MetadataValue.json(report.columns_cast),
            },
            check_results=conformed_check_results(the_lake, key, raw_rows, report),
        )

    return conformed_tripdata
