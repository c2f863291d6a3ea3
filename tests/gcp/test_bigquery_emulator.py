"""The gcp target end to end on the emulators: the lake in fake-gcs-server, the warehouse in bqemulator,
dbt on dbt-bigquery (`--target emulator`), against the same graph run on the local target. What the
project sends BigQuery on the way is recorded (tests/gcp/bigquery_recorder.py): bqemulator does not
enforce require_partition_filter, so the test checks that every query of a table that requires it
names its months."""

import json
import re
import subprocess

import dagster as dg
import polars as pl
import pytest

from lake_assets import materialize_all
from lake_assets.settings import PROJECT_ROOT
from tests.conftest import SAMPLE_MIRROR
from tests.gcp.bigquery_recorder import reads_without_partition_filter
from tests.gcp.conftest import BUCKET, PROJECT
from tests.gcp.test_bigquery_pruning import REQUIRE_PARTITION_FILTER
from tests.helpers import load_defs, materialize, query

pytestmark = pytest.mark.gcp

DBT_PROJECT = PROJECT_ROOT / "dbt_project"


def warehouse_relations() -> list[str]:
    """Every model and seed of the dbt project, as schema.name (datasets on BigQuery)."""
    manifest = json.loads((DBT_PROJECT / "target" / "manifest.json").read_text())
    return sorted(f"{n['schema']}.{n['alias']}" for n in manifest["nodes"].values()
                  if n["resource_type"] in ("model", "seed"))


def emulator_figures(emulator, relations: list[str]) -> dict[str, int]:
    figures = {r: emulator.rows(f"select count(*) from `{PROJECT}.{r}`")[0][0] for r in relations}
    figures["fact_trips total_amount (cents)"] = round(
        emulator.rows(f"select sum(total_amount) from `{PROJECT}.core.fact_trips`")[0][0] * 100)
    return figures


def local_figures(duckdb_path, relations: list[str]) -> dict[str, int]:
    figures = {r: query(duckdb_path, f"select count(*) from {r}")[0][0] for r in relations}
    figures["fact_trips total_amount (cents)"] = round(
        query(duckdb_path, "select sum(total_amount) from core.fact_trips")[0][0] * 100)
    return figures


def dbt_cli(args: list[str], env: dict, target_path) -> list[dict]:
    """The plain dbt CLI in dbt_project/, its artifacts kept out of the project's own target/."""
    out = subprocess.run(["dbt", *args, "--target", "emulator", "--target-path", str(target_path),
                          "--log-path", str(target_path)],
                         cwd=DBT_PROJECT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stdout[-4000:]
    return json.loads((target_path / "run_results.json").read_text())["results"]


def assert_dbt_metadata_and_charts_on_the_emulators(bucket, emulator) -> None:
    """What dbt-bigquery gives dagster-dbt on bqemulator: row counts of tables, column types, lineage."""
    instance = dg.DagsterInstance.get()
    seen = {}
    for name in ("fact_trips", "int_zone_revenue_by_source_month", "dm_monthly_zone_revenue", "dim_zones",
                 "stg_green_tripdata"):
        metadata = instance.get_latest_materialization_event(dg.AssetKey(name)).asset_materialization.metadata
        schema = metadata.get("dagster/column_schema")
        seen[name] = {"row_count": metadata.get("dagster/row_count"),
                      "types": schema and {c.name: c.type for c in schema.schema.columns},
                      "lineage": metadata.get("dagster/column_lineage")}
    print("dbt metadata on the emulator:", seen)
    for service in ("green", "yellow", "fhv", "fhvhv"):  # registered from the lake's figures, scanning nothing
        registered = instance.get_latest_materialization_event(
            dg.AssetKey(f"ext_{service}_tripdata")).asset_materialization.metadata
        assert registered["rows_counted_from_files"].value == [] and registered["dagster/row_count"].value > 0
        assert registered["bigquery/bytes_processed"].value == 0  # what bqemulator reports for every job
    rows = emulator.rows(f"select count(*) from `{PROJECT}.core.fact_trips`")[0][0]
    assert seen["fact_trips"]["row_count"].value == rows
    assert seen["dim_zones"]["row_count"].value == 265
    staged = emulator.rows(f"select count(*) from `{PROJECT}.staging.stg_green_tripdata`")[0][0]
    assert seen["stg_green_tripdata"]["row_count"].value == staged > 0  # stored per month, counted
    assert len(seen["fact_trips"]["types"]) == 30
    assert seen["fact_trips"]["types"]["pickup_datetime"] == "DATETIME"
    assert seen["fact_trips"]["types"]["vendor_id"] == "INT64"
    lineage = seen["dm_monthly_zone_revenue"]["lineage"].column_lineage.deps_by_column
    assert [(d.asset_key, d.column_name) for d in lineage["revenue_monthly_fare"]] == [
        (dg.AssetKey("int_zone_revenue_by_source_month"), "revenue_monthly_fare")]
    lineage = seen["int_zone_revenue_by_source_month"]["lineage"].column_lineage.deps_by_column
    assert [(d.asset_key, d.column_name) for d in lineage["revenue_monthly_fare"]] == [
        (dg.AssetKey("fact_trips"), "fare_amount")]
    charts = {b.name: b for b in bucket.client.list_blobs(BUCKET, prefix="lakehouse/reports/mart_charts/")}
    assert set(charts) == {"lakehouse/reports/mart_charts/revenue_and_trips_by_month.svg",
                           "lakehouse/reports/mart_charts/top_pickup_zones_latest_month.svg"}
    svg = charts["lakehouse/reports/mart_charts/revenue_and_trips_by_month.svg"].download_as_text()
    assert ">2020-10<" in svg and ">Yellow<" in svg  # drawn from the mart in BigQuery


def tables_requiring_a_partition_filter(emulator, relations: list[str]) -> set[str]:
    """The tables whose metadata (tables.get) says a query must filter on their partition column; bqemulator
    keeps the option where BigQuery once did, in timePartitioning, not at the table's top level."""
    client = emulator.client()
    found = {r.split(".")[1]: client.get_table(f"{PROJECT}.{r}").to_api_repr() for r in relations}
    return {name for name, table in found.items() if table.get("requirePartitionFilter")
            or table.get("timePartitioning", {}).get("requirePartitionFilter")}


def test_the_whole_graph_on_the_emulators_gives_the_local_targets_figures(
    bigquery_lakehouse, bigquery_emulator, recorded_bigquery, bucket, monkeypatch, tmp_path, venv_env, capsys,
    sample_make_run
):
    bigquery_lakehouse(SAMPLE_MIRROR)
    (tmp_path / "dagster_home").mkdir(exist_ok=True)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))  # keep the runs, to read their metadata
    materialize_all.main([])  # LAKEHOUSE_TARGET=gcp: GCS lake, bqemulator (through the recorder), dbt --target emulator
    assert "core.fact_trips" in capsys.readouterr().out
    assert_dbt_metadata_and_charts_on_the_emulators(bucket, bigquery_emulator)

    layout = {b.name for b in bucket.client.list_blobs(BUCKET, prefix="lakehouse/conformed/")}
    assert "lakehouse/conformed/yellow/year=2020/month=11/part-0.parquet" in layout and len(layout) == 7
    assert "lakehouse/conformed/fhvhv/year=2020/month=10/part-0.parquet" in layout

    # The local target's figures: `make run` on the same sample (the session's, tests/lakehouses.py).
    assert sample_make_run.result.returncode == 0, sample_make_run.result.stderr[-3000:]
    relations = warehouse_relations()
    assert {"core.fact_trips", "core.fact_fhv_trips", "marts.dm_monthly_zone_revenue", "core.taxi_zone_lookup",
            "staging.stg_green_tripdata"} <= set(relations)
    local = local_figures(sample_make_run.lakehouse.warehouse, relations)
    assert local["core.fact_trips"] > 10_000 and local["marts.dm_monthly_zone_revenue"] > 0
    assert emulator_figures(bigquery_emulator, relations) == local
    # The tables Dagster's runs created carry the option (staging and the facts, not the sums the marts read whole).
    assert tables_requiring_a_partition_filter(bigquery_emulator, relations) == REQUIRE_PARTITION_FILTER

    # The plain dbt CLI on the emulator, from empty dbt datasets: every model, seed and test passes.
    client = bigquery_emulator.client()
    for dataset in ("staging", "core", "marts"):
        client.delete_dataset(dataset, delete_contents=True)
    env = {**venv_env, "DBT_TARGET": "emulator", "BIGQUERY_EMULATOR_URL": recorded_bigquery.url,
           "GCP_PROJECT": PROJECT, "BQ_DATASET": "lake"}
    results = dbt_cli(["build"], env, tmp_path / "dbt-build")
    kinds = {r["unique_id"].split(".")[0] for r in results}
    assert kinds == {"model", "seed", "test"} and len(results) >= 30
    assert {r["status"] for r in results} == {"success", "pass"}, [r for r in results if r["status"] not in
                                                                    ("success", "pass")]
    assert emulator_figures(bigquery_emulator, relations) == local

    # Three months in one run, as Dagster runs a batch (the months read at execution from the environment,
    # so dbt parses nothing again): insert_overwrite replaces exactly those three partitions, and the
    # tables are those of the month-by-month build.
    batch = {**env, "LAKEHOUSE_MIN_MONTH": "2020-10-01", "LAKEHOUSE_MAX_MONTH": "2021-01-01"}
    results = dbt_cli(["build", "--select", "tag:monthly"], batch, tmp_path / "dbt-batch")
    assert {r["status"] for r in results} == {"success", "pass"}
    merged = (tmp_path / "dbt-batch" / "run" / "taxi_lakehouse" / "models" / "core" / "fact_trips.sql").read_text()
    # static partitions: the merge replaces exactly the three months
    assert re.search(r"in \(\s*date '2020-10-01', date '2020-11-01', date '2020-12-01'\s*\)", merged.lower()), merged
    assert emulator_figures(bigquery_emulator, relations) == local

    # One month again, as Dagster runs a partition: insert_overwrite replaces that month's partition only.
    months = dict(bigquery_emulator.rows(
        f"select cast(source_month as string), count(*) from `{PROJECT}.core.fact_trips` group by 1"))
    dbt_cli(["build", "--select", "fact_trips", "--vars", '{"min_month": "2020-11-01", "max_month": "2020-12-01"}'],
            env, tmp_path / "dbt-month")
    compiled = (tmp_path / "dbt-month" / "run" / "taxi_lakehouse" / "models" / "core" / "fact_trips.sql").read_text()
    assert "date '2020-11-01'" in compiled and "date '2020-10-01'" not in compiled  # a static, one-month overwrite
    assert dict(bigquery_emulator.rows(
        f"select cast(source_month as string), count(*) from `{PROJECT}.core.fact_trips` group by 1")) == months
    created = (tmp_path / "dbt-build" / "run" / "taxi_lakehouse" / "models" / "core" / "fact_trips.sql").read_text()
    assert "partition by date_trunc(source_month, month)" in created.lower()
    assert "cluster by service_type, pickup_location_id" in created.lower()
    assert "require_partition_filter=true" in created.lower()  # the DDL BigQuery gets
    sums = (tmp_path / "dbt-build" / "run" / "taxi_lakehouse" / "models" / "intermediate"
            / "int_zone_revenue_by_source_month.sql").read_text()
    assert "require_partition_filter=false" in sums.lower()

    # Every query sent on the way (Dagster's runs and their row counts, the charts, dbt's models, tests
    # and merges, with months and without) filters the tables that require it on source_month.
    sent = [q.sql for q in recorded_bigquery.take()]
    assert [sql for sql in sent if reads_without_partition_filter(sql, REQUIRE_PARTITION_FILTER)] == []
    # among them a merge of months, a read of every month and a row count
    assert any("dbt_internal_dest.source_month >= date '2020-" in sql.lower() for sql in sent)
    assert any("source_month >= date '1900-01-01'" in sql for sql in sent)
    assert any(sql.startswith(f"SELECT count(*) FROM `{PROJECT}.staging.stg_green_tripdata` WHERE") for sql in sent)


def test_the_emulators_stand_in_for_the_external_table_yields_the_rows_of_the_files(
    bigquery_lakehouse, bigquery_emulator, green_mirror, bucket, tmp_path
):
    bigquery_lakehouse(green_mirror)
    defs = load_defs()
    for month in ("2020-10", "2023-12"):
        materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key=month)
    result = materialize(defs, ["ext_green_tripdata"])
    metadata = result.asset_materializations_for_node("ext_green_tripdata")[0].metadata
    assert metadata["dagster/row_count"].value == 95_120 + 64_215 and metadata["months"].value == 2
    assert metadata["location"].value == f"gs://{BUCKET}/lakehouse/conformed/green"

    files = []
    for blob in bucket.client.list_blobs(BUCKET, prefix="lakehouse/conformed/green/"):
        path = tmp_path / blob.name.replace("/", "_")
        blob.download_to_filename(str(path))
        year, month = (int(part.split("=")[1]) for part in blob.name.split("/")[3:5])
        files.append(pl.read_parquet(path).with_columns(year=pl.lit(year), month=pl.lit(month)))
    expected = (pl.concat(files).group_by("year", "month")
                .agg(pl.len(), (pl.col("total_amount") * 100).round().cast(pl.Int64).sum(), pl.col("PULocationID").sum(),
                     pl.col("lpep_pickup_datetime").min().alias("first"),
                     pl.col("lpep_pickup_datetime").max().alias("last"))
                .sort("year", "month").rows())
    observed = bigquery_emulator.rows(
        f"select year, month, count(*), sum(cast(round(total_amount * 100) as int64)), sum(PULocationID), "
        f"min(lpep_pickup_datetime), "
        f"max(lpep_pickup_datetime) from `{PROJECT}.lake.ext_green_tripdata` where year in (2020, 2023) "
        "group by 1, 2 order by 1, 2")  # a partition filter, as BigQuery's external table requires
    assert observed == expected
