"""The dbt models as Dagster assets: fact_trips partitioned by month, the rest unpartitioned.

dbt sources point at the ext_<service>_tripdata assets (their `meta.dagster.asset_key`), so the
external tables are in the graph; dbt tests become asset checks.
"""


import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from lake_assets.automation.conditions import (
    on_conformed_month_update,
    on_missing_or_code_change,
    on_upstream_update,
)
from lake_assets.project import dbt_project

PARTITIONED_MODELS = "fact_trips"
# DuckDB takes one writer at a time: every asset that writes the warehouse shares this pool (limit 1).
WAREHOUSE_POOL = "warehouse"
# The fact tables read these conformed assets month for month; the dependency is declared so that
# automation can rebuild exactly the months that changed.
FACT_SOURCES = {"fact_trips": ("green_tripdata", "yellow_tripdata"), "fact_fhv_trips": ("fhv_tripdata",),
                "fact_fhvhv_trips": ("fhvhv_tripdata",)}


class LakehouseDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        # Models and seeds are known by their names (stg_green_tripdata, not staging/stg_green_tripdata);
        # sources by their `meta.dagster.asset_key`, the ext_<service>_tripdata assets.
        if dbt_resource_props["resource_type"] in ("model", "seed"):
            return dg.AssetKey(dbt_resource_props["name"])
        return super().get_asset_key(dbt_resource_props)

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        sources = FACT_SOURCES.get(spec.key.to_user_string(), ())
        if not sources:
            return spec
        # fact_trips month M reads conformed month M; unpartitioned fact_fhv(hv)_trips read every month.
        mapping = dg.TimeWindowPartitionMapping() if spec.key.to_user_string() == PARTITIONED_MODELS else None
        extra = [dg.AssetDep(name, partition_mapping=mapping) for name in sources]
        return spec.replace_attributes(deps=[*spec.deps, *extra])

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        name = dbt_resource_props["name"]
        if name == "fact_trips":
            return on_conformed_month_update()
        if name.startswith(("stg_", "dim_")) or dbt_resource_props["resource_type"] == "seed":
            return on_missing_or_code_change()
        return on_upstream_update()

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        # models/<layer>/...: the layer is the group; seeds sit with core.
        if dbt_resource_props["resource_type"] == "seed":
            return "core"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


def partition_vars(window: dg.TimeWindow) -> dict[str, str]:
    """The months fact_trips rebuilds: [min_month, max_month), from a partition (range)'s time window."""
    return {"min_month": window.start.strftime("%Y-%m-%d"), "max_month": window.end.strftime("%Y-%m-%d")}


def build_dbt_assets(trip_month_partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    translator = LakehouseDbtTranslator()

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        select=PARTITIONED_MODELS,
        partitions_def=trip_month_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        dagster_dbt_translator=translator,
        name="dbt_monthly_models",
        pool=WAREHOUSE_POOL,
    )
    def dbt_monthly_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        dbt_vars = partition_vars(context.partition_time_window)
        yield from dbt.cli(["build", "--vars", json.dumps(dbt_vars)], context=context).stream()

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        exclude=PARTITIONED_MODELS,
        dagster_dbt_translator=translator,
        name="dbt_models",
        pool=WAREHOUSE_POOL,
    )
    def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        yield from dbt.cli(["build"], context=context).stream()

    return [dbt_monthly_models, dbt_models]
