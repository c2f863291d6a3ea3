"""The dbt models' BigQuery bytes, from run_results.json's adapter responses, in their materializations."""

import dagster as dg

from lake_assets.dbt_cost import costs_by_node, with_costs

# run_results.json as dbt-bigquery writes it (adapter_response: BigQueryAdapterResponse), and as
# dbt-duckdb does (no bytes).
RUN_RESULTS = {"results": [
    {"unique_id": "model.taxi_lakehouse.fact_trips", "status": "success",
     "adapter_response": {"_message": "MERGE (13.8k rows, 2.1 MiB processed)", "code": "MERGE",
                          "rows_affected": 13769, "bytes_processed": 2_202_009, "bytes_billed": 10_485_760,
                          "location": "US", "project_id": "my-project", "job_id": "j1", "slot_ms": 1200}},
    {"unique_id": "model.taxi_lakehouse.stg_green_tripdata", "status": "success",
     "adapter_response": {"_message": "CREATE TABLE", "code": "CREATE TABLE", "bytes_processed": 0,
                          "bytes_billed": None}},
    {"unique_id": "model.taxi_lakehouse.dim_zones", "status": "success",
     "adapter_response": {"_message": "OK", "code": "OK", "rows_affected": 265}},
    {"unique_id": "test.taxi_lakehouse.not_null_fact_trips_trip_id.abc", "status": "pass", "adapter_response": {}},
]}


def test_the_nodes_bytes_are_those_their_adapter_response_reports():
    assert costs_by_node(RUN_RESULTS) == {
        "model.taxi_lakehouse.fact_trips": {"bigquery/bytes_processed": 2_202_009, "bigquery/bytes_billed": 10_485_760},
        "model.taxi_lakehouse.stg_green_tripdata": {"bigquery/bytes_processed": 0},
    }


def test_each_models_materialization_gets_its_bytes_and_other_events_pass_unchanged():
    def output(name):
        return dg.Output(None, output_name=name, metadata={"unique_id": f"model.taxi_lakehouse.{name}"})

    check = dg.AssetCheckResult(asset_key="fact_trips", check_name="not_null", passed=True)
    fact, zones, staged = output("fact_trips"), output("dim_zones"), dg.AssetMaterialization(
        "stg_green_tripdata", partition="2023-12", metadata={"unique_id": "model.taxi_lakehouse.stg_green_tripdata"})
    events = list(with_costs([fact, zones, staged, check], costs_by_node(RUN_RESULTS)))
    assert events[0].metadata["bigquery/bytes_processed"].value == 2_202_009
    assert events[0].metadata["bigquery/bytes_billed"].value == 10_485_760
    assert events[0].metadata["unique_id"].value == "model.taxi_lakehouse.fact_trips"
    assert events[1] is zones and events[3] is check
    assert events[2].metadata["bigquery/bytes_processed"].value == 0 and events[2].partition == "2023-12"
