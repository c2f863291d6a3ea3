"""The dbt models as Dagster assets: the monthly models partitioned by month, the rest unpartitioned.

dbt sources point at the ext_<service>_tripdata assets (their `meta.dagster.asset_key`), so the
external tables are in the graph; dbt tests become asset checks. Which models are monthly is said by
the models themselves (the dbt tag `monthly`, set by macros/monthly_incremental.sql), and which lake
asset a staging model reads month for month by its `meta.conformed_asset`.
"""


from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliInvocation, dbt_assets

from lake_assets.automation.conditions import on_lake_month_update, on_missing_or_code_change
from lake_assets.dbt_cost import with_bigquery_cost
from lake_assets.dbt_metadata import with_table_metadata
from lake_assets.dbt_runs import stream_dbt
from lake_assets.graph_names import CORE_GROUP, DBT_GROUP, MONTHLY_TAG, WAREHOUSE_POOL
from lake_assets.project import dbt_project
from lake_assets.resources import WarehouseDbtResource
from lake_assets.warehouse import WarehouseResource

MONTHLY_SELECTOR = f"tag:{MONTHLY_TAG}"
# dbt's unit tests check the macros on fixed rows: `make test` runs them, production runs leave them out.
BUILD = ["build", "--exclude-resource-type", "unit_test"]


def is_monthly(dbt_resource_props: Mapping[str, Any]) -> bool:
    return MONTHLY_TAG in dbt_resource_props.get("tags", [])


class LakehouseDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        # Models and seeds are known by their names (stg_green_tripdata, not staging/stg_green_tripdata);
        # sources by their `meta.dagster.asset_key`, the ext_<service>_tripdata assets.
        if dbt_resource_props["resource_type"] in ("model", "seed"):
            return dg.AssetKey(dbt_resource_props["name"])
        return super().get_asset_key(dbt_resource_props)

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        conformed = manifest["nodes"].get(unique_id, {}).get("meta", {}).get("conformed_asset")
        if not conformed:
            return spec
        # Staging month M reads the conformed month M.
        dep = dg.AssetDep(conformed, partition_mapping=dg.TimeWindowPartitionMapping())
        return spec.replace_attributes(deps=[*spec.deps, dep])

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        if is_monthly(dbt_resource_props):
            return on_lake_month_update()
        return on_missing_or_code_change()

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        # models/<layer>/...: the layer is the group; seeds sit with core.
        if dbt_resource_props["resource_type"] == "seed":
            return CORE_GROUP
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else DBT_GROUP


class DbtBuildConfig(dg.Config):
    """Run config of the unpartitioned dbt models: full_refresh (`dbt build --full-refresh`) drops and
    reloads the seeds, needed when a seed's columns change. The monthly models take no full refresh
    from a month's run, which would rebuild them from that month alone; `make dbt ARGS="build
    --full-refresh"` rebuilds them from every month."""

    full_refresh: bool = False

    def build_args(self) -> list[str]:
        return [*BUILD, "--full-refresh"] if self.full_refresh else BUILD


def run_months(window: dg.TimeWindow) -> tuple[str, str]:
    """The months the monthly models rebuild, [first, end) as YYYY-MM-DD, from a run's time window
    (one partition, or the range of a batch)."""
    return window.start.strftime("%Y-%m-%d"), window.end.strftime("%Y-%m-%d")


def stream_with_metadata(invocation: DbtCliInvocation, dbt: WarehouseDbtResource, warehouse: WarehouseResource
                         ) -> Iterator:
    """dbt's events once dbt has exited, each built model's with its row count, column schema and column
    lineage (lake_assets/dbt_metadata.py) and, on BigQuery, the bytes it processed and billed
    (lake_assets/dbt_cost.py). DuckDB lets one process at a time open the warehouse file for
    writing: the warehouse is read only after the dbt process has exited (its events are kept)."""
    invocation.is_successful()
    dbt.keep_partial_parse(invocation)
    # Relations are named as in the manifest: take the one this run parsed, for its target (the manifest
    # Dagster loaded names the database of the target it was parsed for: a DuckDB file's name, or no
    # BigQuery project).
    if (invocation.target_path / "manifest.json").is_file():
        invocation.manifest = invocation.get_artifact("manifest.json")
    yield from with_bigquery_cost(invocation, with_table_metadata(invocation, warehouse))


def build_dbt_assets(trip_month_partitions: dg.PartitionsDefinition, months_per_run: int) -> list[dg.AssetsDefinition]:
    translator = LakehouseDbtTranslator()

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        select=MONTHLY_SELECTOR,
        partitions_def=trip_month_partitions,
        # A backfill runs DBT_MONTHS_PER_RUN months per dbt invocation: the fixed cost of a run is paid
        # once per batch, and memory stays bounded by DuckDB's limit and spill, not by the batch.
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=months_per_run),
        dagster_dbt_translator=translator,
        name="dbt_monthly_models",
        pool=WAREHOUSE_POOL,
    )
    def dbt_monthly_models(context: dg.AssetExecutionContext, dbt: WarehouseDbtResource, warehouse: WarehouseResource):
        yield from stream_dbt(context, dbt, BUILD, warehouse.writer_lock(), months=run_months(context.partition_time_window),
                              stream=lambda invocation: stream_with_metadata(invocation, dbt, warehouse))

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        exclude=MONTHLY_SELECTOR,
        dagster_dbt_translator=translator,
        name="dbt_models",
        pool=WAREHOUSE_POOL,
    )
    def dbt_models(
        context: dg.AssetExecutionContext, config: DbtBuildConfig, dbt: WarehouseDbtResource, warehouse: WarehouseResource
    ):
        yield from stream_dbt(context, dbt, config.build_args(), warehouse.writer_lock(),
                              stream=lambda invocation: stream_with_metadata(invocation, dbt, warehouse))

    return [dbt_monthly_models, dbt_models]
