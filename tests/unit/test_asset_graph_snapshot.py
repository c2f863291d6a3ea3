"""The asset graph against its committed snapshot, so that a change to the graph is a reviewed change.

After an intended change, regenerate the snapshot and commit it with the change:
    make snapshot      (UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest tests/unit/test_asset_graph_snapshot.py)
"""

import difflib
import json
import os
from pathlib import Path

import dagster as dg
import pytest

from lake_assets.definitions import build_definitions
from lake_assets.settings import load_settings

SNAPSHOT = Path(__file__).with_name("asset_graph_snapshot.json")
REGENERATE = "make snapshot (or UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest tests/unit/test_asset_graph_snapshot.py)"


def _condition(condition: dg.AutomationCondition | None) -> str | None:
    """Its label; an unlabelled condition as the tree of its operators' names, which is as stable."""
    if condition is None:
        return None
    if condition.get_label():
        return condition.get_label()
    children = [_condition(child) for child in condition.children]
    return f"{condition.name}({', '.join(children)})" if children else condition.name


def _partitions(partitions_def: dg.PartitionsDefinition | None) -> dict | None:
    if partitions_def is None:
        return None
    described: dict = {"type": type(partitions_def).__name__}
    if isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        described |= {"start": partitions_def.start.isoformat(), "end_offset": partitions_def.end_offset,
                      "fmt": partitions_def.fmt}
    return described


def asset_graph_snapshot(defs: dg.Definitions) -> dict[str, dict]:
    """One entry per asset key, every list sorted: a change shows as the lines of the assets it touches."""
    graph = defs.resolve_asset_graph()
    snapshot = {}
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        snapshot[key.to_user_string()] = {
            "group": node.group_name,
            "partitions": _partitions(node.partitions_def),
            "deps": sorted(parent.to_user_string() for parent in node.parent_keys),
            "automation_condition": _condition(node.automation_condition),
            "pools": sorted(node.pools),
            "checks": sorted(check.name for check in node.check_keys),
        }
    return snapshot


def _as_text(snapshot: dict) -> str:
    return json.dumps(snapshot, indent=2, sort_keys=True) + "\n"


def test_the_asset_graph_matches_its_snapshot():
    # The default settings (not the environment's): the partitions' end offset follows the publication lag.
    current = _as_text(asset_graph_snapshot(build_definitions(load_settings({}))))
    if os.environ.get("UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(current)
        pytest.skip(f"wrote {SNAPSHOT}: review its diff and commit it")
    committed = SNAPSHOT.read_text() if SNAPSHOT.exists() else ""
    diff = "".join(difflib.unified_diff(committed.splitlines(keepends=True), current.splitlines(keepends=True),
                                        f"{SNAPSHOT.name} (committed)", f"{SNAPSHOT.name} (the code's graph)"))
    assert not diff, f"the asset graph differs from its snapshot; if the change is intended: {REGENERATE}\n{diff}"
