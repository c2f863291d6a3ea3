"""What BigQuery is asked to run, seen on the wire (tests/gcp/bigquery_recorder.py): registration reads no
row, every query of the project's client and of dbt carries BQ_MAXIMUM_BYTES_BILLED, none reads an
external table without a filter on its partition columns, and the registration's cost is recorded."""

import dagster as dg
import pytest

from lake_assets.dbt_cost import with_bigquery_cost
from lake_assets.project import dbt_project
from lake_assets.resources import build_resources
from lake_assets.settings import load_settings
from tests.gcp.bigquery_recorder import unfiltered_reads
from tests.helpers import load_defs, materialize

pytestmark = pytest.mark.gcp

CAP = "123456789"


def test_the_partition_filter_check_sees_a_full_scan():
    # The registration's query before the lake counted its months: a full scan of the external table.
    assert unfiltered_reads("SELECT count(*), count(DISTINCT year * 100 + month) FROM `p.lake.ext_green_tripdata`") \
        == ["ext_green_tripdata"]
    assert unfiltered_reads("with s as (select * from `p.lake.ext_green_tripdata` where year = 2020 and month = 10) "
                            "select * from s join `p.lake.ext_fhv_tripdata` f using (x)") == ["ext_fhv_tripdata"]
    assert unfiltered_reads("select * from lake.ext_green_tripdata where date(year, month, 1) >= date '2020-10-01'") \
        == []


def test_registration_reads_no_row_is_capped_and_records_what_it_cost(
    bigquery_lakehouse, recorded_bigquery, green_mirror, monkeypatch
):
    monkeypatch.setenv("BQ_MAXIMUM_BYTES_BILLED", CAP)
    bigquery_lakehouse(green_mirror)
    with dg.instance_for_test() as instance:
        defs = load_defs()
        for month in ("2020-10", "2023-12"):
            materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key=month, instance=instance)
        recorded_bigquery.take()
        result = materialize(defs, ["ext_green_tripdata"], instance=instance)
        registration = recorded_bigquery.take()

        metadata = result.asset_materializations_for_node("ext_green_tripdata")[0].metadata
        assert metadata["dagster/row_count"].value == 95_120 + 64_215 and metadata["months"].value == 2
        assert metadata["rows_counted_from_files"].value == []  # both months' counts were recorded
        assert metadata["bigquery/bytes_processed"].value == 0  # bqemulator reports 0 for every job
        # One statement: the emulator's stand-in for CREATE EXTERNAL TABLE; no count, no scan.
        assert [q.sql.split("\n")[0] for q in registration] == ["CREATE OR REPLACE VIEW `local.lake.ext_green_tripdata` AS"]
        assert all(q.maximum_bytes_billed == CAP for q in registration)

        # dbt (its process, and the adapter dagster-dbt opens here for row counts and column types).
        materialize(defs, ["taxi_zone_lookup"], instance=instance)
        materialize(defs, ["stg_green_tripdata"], partition_key="2023-12", instance=instance)
        by_dbt = recorded_bigquery.take()
    assert any("ext_green_tripdata" in q.sql for q in by_dbt) and any("count(*)" in q.sql for q in by_dbt)
    assert {q.maximum_bytes_billed for q in by_dbt} == {CAP}
    assert [q.sql for q in registration + by_dbt if unfiltered_reads(q.sql)] == []


def test_dbt_models_bytes_reach_their_materializations_on_the_emulator(bigquery_lakehouse, green_mirror):
    bigquery_lakehouse(green_mirror)
    dbt = build_resources(load_settings())["dbt"]
    invocation = dbt.cli(["build", "--select", "taxi_zone_lookup dim_zones"], manifest=dbt_project.manifest_path)
    assert invocation.is_successful()
    events = {e.asset_key.path[-1]: e for e in with_bigquery_cost(invocation, invocation.stream())
              if isinstance(e, dg.AssetMaterialization)}
    assert set(events) == {"taxi_zone_lookup", "dim_zones"}
    assert events["dim_zones"].metadata["bigquery/bytes_processed"].value == 0  # bqemulator reports 0
    assert "bigquery/bytes_processed" not in events["taxi_zone_lookup"].metadata  # a seed's load job: none
