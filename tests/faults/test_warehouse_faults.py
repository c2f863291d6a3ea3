"""A dbt test failing on bad data stops what depends on it; the tables built before stay queryable."""

import shutil

import polars as pl
import pytest

from tests.conftest import SAMPLE_MIRROR, write_csv_gz
from tests.helpers import load_defs, materialize, monthly_keys, query, unpartitioned_keys

pytestmark = pytest.mark.faults


def test_a_failing_dbt_test_blocks_downstream_and_keeps_the_previous_tables(lakehouse_env, tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(SAMPLE_MIRROR, mirror)
    lakehouse_env(mirror)
    db = tmp_path / "warehouse.duckdb"
    defs = load_defs()
    for service, month in (("green", "2020-10"), ("fhv", "2020-10")):
        materialize(defs, [f"raw_{service}_tripdata", f"{service}_tripdata"], partition_key=month)
    materialize(defs, unpartitioned_keys(defs, downstream_of_monthly=False))
    materialize(defs, monthly_keys(defs), partition_key="2020-10")
    materialize(defs, unpartitioned_keys(defs, downstream_of_monthly=True))
    fhv_before = query(db, "select count(*) from core.fact_fhv_trips")[0][0]
    marts_before = query(db, "select count(*), sum(total_monthly_trips) from marts.dm_monthly_zone_revenue")

    # FHV 2020-11 arrives with pickup zones that do not exist (made from the sample's made-up FHV month,
    # under another base so that its trips are new ones).
    bad = pl.read_csv(mirror / "fhv/fhv_tripdata_2020-10.csv.gz", infer_schema=False).with_columns(
        pl.lit("B00099").alias("dispatching_base_num"),
        pl.when(pl.int_range(pl.len()) % 10 == 0).then(pl.lit("999")).otherwise(pl.col("PUlocationID"))
        .alias("PUlocationID"),
    )
    write_csv_gz(mirror / "fhv/fhv_tripdata_2020-11.csv.gz", bad.write_csv())
    materialize(defs, ["raw_fhv_tripdata", "fhv_tripdata"], partition_key="2020-11")
    materialize(defs, unpartitioned_keys(defs, downstream_of_monthly=False))
    result = materialize(defs, monthly_keys(defs), partition_key="2020-11", raise_on_error=False)

    assert not result.success
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    failed = [name for name, check in checks.items() if not check.passed]
    assert failed == ["relationships_stg_fhv_tripdata_pickup_location_id__LocationID__ref_taxi_zone_lookup_"]
    built = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "stg_fhv_tripdata" in built and "fact_fhv_trips" not in built  # dbt skipped what reads the bad month
    assert query(db, "select count(*) from core.fact_fhv_trips")[0][0] == fhv_before
    assert query(db, "select count(*) from core.fact_fhv_trips where source_month = date '2020-11-01'")[0][0] == 0
    assert query(db, "select count(*), sum(total_monthly_trips) from marts.dm_monthly_zone_revenue") == marts_before
