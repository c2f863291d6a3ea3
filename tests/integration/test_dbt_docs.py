"""dbt's docs site on a small built warehouse: the catalog lists every model's columns, the yml lists
every column a model's SQL outputs (and no other), and `dbt docs serve` serves it on 127.0.0.1."""

import json
import os
import subprocess
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from lake_assets.catalog import SERVICES
from lake_assets.lake import LocalLake
from lake_assets.project import DBT_PROJECT_DIR
from lake_assets.settings import PROJECT_ROOT
from lake_assets.warehouse import LAKE_SCHEMA, duckdb_view_sql
from tests.processes import free_port, start_server, stop

DBT = str(PROJECT_ROOT / ".venv/bin/dbt")
PACKAGE = "taxi_lakehouse"


@pytest.fixture(scope="module")
def docs_site(tmp_path_factory) -> tuple[Path, dict]:
    """The lake's (empty) external views, every model built on them by `dbt build`, then `dbt docs generate`,
    all in a temporary warehouse and target folder (dbt_project/target, Dagster's, is left alone)."""
    root = tmp_path_factory.mktemp("dbt_docs")
    warehouse = root / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute(f"create schema {LAKE_SCHEMA}")
        for service in SERVICES:
            conn.execute(duckdb_view_sql(service, LocalLake(root / "lake")))
    env = {**os.environ, "DUCKDB_PATH": str(warehouse), "DBT_TARGET": "local"}
    target = root / "target"
    for command in (["build"], ["docs", "generate"]):
        result = subprocess.run([DBT, *command, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                                 str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path", str(root)],
                                env=env, capture_output=True, text=True, timeout=600, check=False)
        assert result.returncode == 0, result.stdout[-3000:]
    return target, env


def load(target: Path, name: str) -> dict:
    return json.loads((target / name).read_text())


def test_the_catalog_lists_the_columns_of_every_model_and_seed_and_the_yml_lists_the_same(docs_site):
    target, _ = docs_site
    manifest, catalog = load(target, "manifest.json"), load(target, "catalog.json")
    models = {uid: n for uid, n in manifest["nodes"].items()
              if n["package_name"] == PACKAGE and n["resource_type"] in ("model", "seed")}
    assert {"model.taxi_lakehouse.fact_trips", "model.taxi_lakehouse.dm_monthly_zone_revenue",
            "seed.taxi_lakehouse.taxi_zone_lookup"} <= set(models)
    mismatched = {}
    for uid, node in models.items():
        built = {c.lower() for c in catalog["nodes"][uid]["columns"]}  # what the model's SQL outputs
        listed = {c.lower() for c in node["columns"]}  # what its yml describes
        if built != listed:
            mismatched[uid] = {"not in the yml": sorted(built - listed), "not in the table": sorted(listed - built)}
    assert mismatched == {}
    fact_trips = catalog["nodes"]["model.taxi_lakehouse.fact_trips"]["columns"]
    assert len(fact_trips) == 30 and fact_trips["pickup_datetime"]["type"] == "TIMESTAMP"


def test_the_catalog_lists_the_sources_columns_as_the_yml_does(docs_site):
    target, _ = docs_site
    manifest, catalog = load(target, "manifest.json"), load(target, "catalog.json")
    for uid, source in manifest["sources"].items():
        assert {c.lower() for c in catalog["sources"][uid]["columns"]} == {c.lower() for c in source["columns"]}


def test_dbt_docs_serve_serves_the_site_on_localhost(docs_site):
    target, env = docs_site
    port = free_port()
    server = start_server([DBT, "docs", "serve", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                           str(DBT_PROJECT_DIR), "--target-path", str(target), "--host", "127.0.0.1",
                           "--port", str(port), "--no-browser"],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                index = httpx.get(f"{url}/index.html", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "dbt docs serve did not answer"
                time.sleep(0.5)
        assert index.status_code == 200 and "dbt" in index.text
        catalog = httpx.get(f"{url}/catalog.json", timeout=5).json()
        assert "trip_id" in catalog["nodes"]["model.taxi_lakehouse.fact_trips"]["columns"]
        manifest = httpx.get(f"{url}/manifest.json", timeout=5).json()
        assert manifest["nodes"]["model.taxi_lakehouse.fact_trips"]["columns"]["fare_amount"]["description"]
    finally:
        # dbt docs serve usually exits on SIGTERM; once in a loaded CI run it did not within 30 s
        stop(server, timeout=15)
