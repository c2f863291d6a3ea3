"""Every dbt model, seed, source and column is described, and the sources list the lake's columns.

Reads the manifest Dagster uses (dbt_project/target/manifest.json, prepared by `make manifest`), so a model or column
added later without a description fails here. That each model's yml lists all its SQL output columns is
checked against the columns dbt finds in a built warehouse: tests/integration/test_dbt_docs.py.
"""

import csv
import json

import pytest

from lake_assets.project import DBT_PROJECT_DIR, dbt_project
from lake_assets.schemas import CANONICAL_SCHEMAS, PARTITION_COLUMNS

PACKAGE = "taxi_lakehouse"


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(dbt_project.manifest_path.read_text())


def project_resources(manifest: dict) -> list[dict]:
    nodes = [n for n in manifest["nodes"].values()
             if n["package_name"] == PACKAGE and n["resource_type"] in ("model", "seed")]
    sources = [s for s in manifest["sources"].values() if s["package_name"] == PACKAGE]
    return nodes + sources


def test_every_model_seed_and_source_and_each_of_their_columns_is_described(manifest):
    resources = project_resources(manifest)
    assert {r["resource_type"] for r in resources} == {"model", "seed", "source"}
    undescribed = [r["unique_id"] for r in resources if not r["description"].strip()]
    undescribed += [f'{r["unique_id"]}.{c}' for r in resources for c, col in r["columns"].items()
                    if not col["description"].strip()]
    assert not undescribed, f"describe these in the models' yml (long texts in models/docs.md): {undescribed}"
    sources = [r for r in resources if r["resource_type"] == "source"]
    assert all(s["source_description"].strip() for s in sources)


def test_every_model_and_seed_lists_its_columns(manifest):
    unlisted = [r["unique_id"] for r in project_resources(manifest)
                if r["resource_type"] != "source" and not r["columns"]]
    assert not unlisted


def test_each_source_lists_the_canonical_columns_of_its_service_and_the_lake_partition(manifest):
    for source in (s for s in manifest["sources"].values() if s["package_name"] == PACKAGE):
        service = source["name"].removeprefix("ext_").removesuffix("_tripdata")
        assert list(source["columns"]) == [*CANONICAL_SCHEMAS[service], *PARTITION_COLUMNS], source["name"]


def test_the_seed_lists_the_columns_of_its_csv(manifest):
    for seed in (n for n in manifest["nodes"].values() if n["resource_type"] == "seed"):
        with open(DBT_PROJECT_DIR / seed["original_file_path"], newline="") as f:
            header = next(csv.reader(f))
        assert list(seed["columns"]) == header, seed["name"]


def test_a_column_shared_by_models_has_one_text(manifest):
    # Descriptions are doc blocks, written once: the same column name reads the same in every model.
    texts: dict[str, set[str]] = {}
    for node in project_resources(manifest):
        if node["resource_type"] == "model":
            for name, column in node["columns"].items():
                texts.setdefault(name, set()).add(column["description"])
    assert {name: t for name, t in texts.items() if len(t) > 1} == {}
