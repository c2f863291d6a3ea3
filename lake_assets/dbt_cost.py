"""What each dbt model cost on BigQuery, in its materialization's metadata.

dbt-bigquery reports the bytes a node's main statement processed and billed (BigQuery's job
statistics) in its adapter response, kept in run_results.json; dagster-dbt does not carry them into
the materializations. Keys as the registration's: bigquery/bytes_processed, bigquery/bytes_billed.
Other adapters (dbt-duckdb) report neither, and their events pass unchanged.
"""

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliInvocation

COST_FIELDS = ("bytes_processed", "bytes_billed")


def costs_by_node(run_results: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """unique_id -> {"bigquery/bytes_processed": n, "bigquery/bytes_billed": n}, for the nodes whose
    adapter response says them."""
    costs = {}
    for result in run_results.get("results", []):
        response = result.get("adapter_response") or {}
        cost = {f"bigquery/{f}": response[f] for f in COST_FIELDS if isinstance(response.get(f), int)}
        if cost:
            costs[result["unique_id"]] = cost
    return costs


def with_costs(events: Iterable, costs: Mapping[str, Mapping[str, int]]) -> Iterator:
    """The events, each model's Output or AssetMaterialization with its node's cost added."""
    for event in events:
        unique_id = event.metadata.get("unique_id") if isinstance(event, (dg.Output, dg.AssetMaterialization)) else None
        cost = costs.get(unique_id.value) if unique_id is not None else None
        yield event.with_metadata({**event.metadata, **cost}) if cost else event


def with_bigquery_cost(invocation: DbtCliInvocation, events: Iterable) -> Iterator:
    """with_costs from the invocation's run_results.json. dbt writes it when its process exits: call
    this on the events of an invocation that has finished (e.g. after invocation.is_successful(), as
    with_table_metadata does); before, no cost is found and the events pass unchanged."""
    path = invocation.target_path / "run_results.json"
    costs = costs_by_node(json.loads(path.read_text())) if path.is_file() else {}
    yield from with_costs(events, costs)
