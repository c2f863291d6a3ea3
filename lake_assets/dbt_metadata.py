"""What a dbt run's models carry in Dagster: row count, column schema and column lineage.

dagster-dbt can fetch these itself (`fetch_row_counts`, `fetch_column_metadata`) through a dbt adapter
it sets up in the run's process: dbt's project, profile and macros loaded once more (3-4 s a run, before
dbt starts) and, on DuckDB, a second connection to the warehouse configured unlike the project's. Here
the warehouse resource answers the same questions once dbt has exited: one query for every column of
the models and their parents (table metadata on BigQuery, which bills no bytes for it), a count of
each built model.

Column lineage is derived as dagster-dbt derives it (sqlglot, from the model's compiled SQL and its
parents' columns), once per version of a model: it does not change with the months a run builds (only
the compiled SQL's date literals do), so it is kept in LINEAGE_CACHE_DIR under a key of what it depends
on: the model's checksum (its SQL file), its own and its parents' columns and types, the dialect and
dagster-dbt's version. A changed model, a new column upstream or another adapter is a new key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.metadata import TableMetadataSet
from dagster._serdes import deserialize_value, serialize_value
from dagster_dbt.asset_utils import default_metadata_from_dbt_resource_props
from dagster_dbt.core.dbt_cli_event import EventHistoryMetadata, _build_column_lineage_metadata
from dagster_dbt.version import __version__ as dagster_dbt_version

from lake_assets.settings import DBT_PROJECT_DIR
from lake_assets.warehouse import WarehouseResource

LINEAGE_CACHE_DIR = DBT_PROJECT_DIR / "target" / "column_lineage"
COLUMN_LINEAGE = "dagster/column_lineage"
log = logging.getLogger(__name__)


def _table(node: dict[str, Any]) -> tuple[str, str, str]:
    name = node["identifier"] if node["resource_type"] == "source" else node["alias"]
    return node["database"], node["schema"], name


def _partition_filter(node: dict[str, Any]) -> str | None:
    """The column a query of the node's table must filter on: its partition column where the table
    requires a partition filter (BigQuery, dbt_project/macros/monthly_incremental.sql)."""
    config = node.get("config") or {}
    return config["partition_by"]["field"] if config.get("require_partition_filter") else None


def _built_model(invocation, event) -> dict[str, Any] | None:
    if not isinstance(event, (dg.Output, dg.AssetMaterialization)) or "unique_id" not in event.metadata:
        return None
    node = invocation.manifest["nodes"].get(event.metadata["unique_id"].text)
    return node if node and node["resource_type"] in ("model", "seed") else None


def with_table_metadata(invocation, warehouse: WarehouseResource, cache_dir: Path = LINEAGE_CACHE_DIR) -> Iterator:
    """The invocation's events once dbt has exited, each built model's and seed's with its row count,
    column schema and (models) column lineage."""
    events = list(invocation.stream())
    manifest = invocation.manifest
    built = {id(event): node for event in events if (node := _built_model(invocation, event))}
    parents = {parent for node in built.values() for parent in manifest["parent_map"].get(node["unique_id"], [])}
    nodes = {node["unique_id"]: node for node in built.values()}
    nodes |= {p: manifest["nodes"].get(p) or manifest["sources"][p] for p in parents if p not in nodes}
    # Nothing built (a run that failed before its first node, e.g. on DuckDB's lock): nothing to ask.
    described = warehouse.describe_tables(sorted({_table(n) for n in nodes.values()}),
                                          counted={_table(n): _partition_filter(n) for n in built.values()}
                                          ) if built else {}
    columns = {unique_id: described[_table(node)].columns for unique_id, node in nodes.items()
               if _table(node) in described}
    for event in events:
        node = built.get(id(event))
        table = node and described.get(_table(node))
        if table is None:
            yield event
            continue
        metadata = {**TableMetadataSet(row_count=table.rows, storage_kind=manifest["metadata"]["adapter_type"]),
                    **default_metadata_from_dbt_resource_props({"columns": _typed(table.columns)})}
        if node["resource_type"] == "model":
            metadata |= column_lineage(invocation, node, columns, cache_dir)
        yield event.with_metadata({**event.metadata, **metadata})


def _typed(columns: dict[str, str]) -> dict[str, dict[str, str]]:
    return {name: {"data_type": data_type} for name, data_type in columns.items()}


def lineage_key(node: dict[str, Any], columns: dict, parents: dict, dialect: str) -> str:
    """What a model's column lineage depends on, hashed."""
    described = json.dumps([node["checksum"]["checksum"], columns, parents, dialect, dagster_dbt_version],
                           sort_keys=True)
    return hashlib.sha256(described.encode()).hexdigest()


def column_lineage(invocation, node: dict[str, Any], columns: dict[str, dict[str, str]], cache_dir: Path) -> dict:
    """{dagster/column_lineage: ...} of a built model, from the cache or derived and cached; {} when it
    cannot be derived (lineage is an aid: the model materializes without it, as in dagster-dbt)."""
    manifest = invocation.manifest
    parents = {}
    for parent_id in manifest["parent_map"].get(node["unique_id"], []):
        parent = manifest["nodes"].get(parent_id) or manifest["sources"][parent_id]
        parents[parent["relation_name"]] = _typed(columns.get(parent_id, {}))
    own = _typed(columns[node["unique_id"]])
    dialect = manifest["metadata"]["adapter_type"]
    path = cache_dir / f"{lineage_key(node, own, parents, dialect)}.json"
    if path.is_file():
        return {COLUMN_LINEAGE: deserialize_value(path.read_text(), dg.TableColumnLineage)}
    try:
        metadata = _build_column_lineage_metadata(
            event_history_metadata=EventHistoryMetadata(columns=own, parents=parents),
            dbt_resource_props=node, manifest=manifest, dagster_dbt_translator=invocation.dagster_dbt_translator,
            target_path=invocation.target_path, project=invocation.project,
        )
    except Exception:
        log.warning(f"column lineage of {node['unique_id']} could not be derived; it is left out", exc_info=True)
        return {}
    if COLUMN_LINEAGE in metadata:
        _write_atomically(path, serialize_value(metadata[COLUMN_LINEAGE]))
    return metadata


def _write_atomically(path: Path, text: str) -> None:
    """Runs of several processes share the cache: a file is whole or absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as file:
        file.write(text)
    os.replace(file.name, path)
