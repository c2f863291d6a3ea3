"""The same assets on the GCS lake: the real google-cloud-storage client against fake-gcs-server."""

import hashlib

import polars as pl
import pytest

from lake_assets.automation.landing_sensor import plan_landing_runs
from lake_assets.gcs_lake import GcsLake
from lake_assets.lake import LakeWriteError
from lake_assets.settings import load_settings
from tests.conftest import GREEN_2020_10, GREEN_2023_12, write_csv_gz
from tests.gcp.conftest import BUCKET
from tests.helpers import load_defs, materialize, sha256, step_errors

pytestmark = pytest.mark.gcp

# On GCS the conformed layer is plain Parquet partitions (lake_assets/plain_conformed.py); raw versions are kept.
EXPECTED = {
    "lakehouse/raw/green/green_tripdata_2020-10.csv.gz",
    "lakehouse/raw/green/green_tripdata_2023-12.parquet",
    f"lakehouse/raw_versions/green/2020-10/{sha256(GREEN_2020_10)}.csv.gz",
    f"lakehouse/raw_versions/green/2023-12/{sha256(GREEN_2023_12)}.parquet",
    "lakehouse/conformed/green/year=2020/month=10/part-0.parquet",
    "lakehouse/conformed/green/year=2023/month=12/part-0.parquet",
}


def objects(bucket) -> dict[str, int]:
    return {blob.name: blob.generation for blob in bucket.client.list_blobs(BUCKET)}


def rows_of(bucket, name: str, tmp_path) -> int:
    path = tmp_path / name.replace("/", "_")
    bucket.blob(name).download_to_filename(str(path))
    return pl.scan_parquet(path).select(pl.len()).collect().item()


def test_real_green_months_land_in_the_bucket_with_the_local_layout_and_rerun_idempotently(
    gcp_lakehouse, green_mirror, bucket, tmp_path
):
    gcp_lakehouse(green_mirror)
    defs = load_defs()
    for month in ("2020-10", "2023-12"):
        materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key=month)
    first = objects(bucket)
    assert set(first) == EXPECTED
    raw = bucket.blob("lakehouse/raw/green/green_tripdata_2020-10.csv.gz").download_as_bytes()
    assert hashlib.sha256(raw).hexdigest() == hashlib.sha256(GREEN_2020_10.read_bytes()).hexdigest()
    assert rows_of(bucket, "lakehouse/conformed/green/year=2020/month=10/part-0.parquet", tmp_path) == 95_120
    assert rows_of(bucket, "lakehouse/conformed/green/year=2023/month=12/part-0.parquet", tmp_path) == 64_215

    materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key="2020-10")
    again = objects(bucket)
    assert set(again) == EXPECTED  # replaced, not duplicated
    raw_keys = [k for k in EXPECTED if "/raw" in k and "2020-10" in k]
    assert [again[k] for k in raw_keys] == [first[k] for k in raw_keys]  # the same bytes again: nothing written
    assert again["lakehouse/conformed/green/year=2020/month=10/part-0.parquet"] != \
        first["lakehouse/conformed/green/year=2020/month=10/part-0.parquet"]
    assert again["lakehouse/conformed/green/year=2023/month=12/part-0.parquet"] == \
        first["lakehouse/conformed/green/year=2023/month=12/part-0.parquet"]
    assert rows_of(bucket, "lakehouse/conformed/green/year=2020/month=10/part-0.parquet", tmp_path) == 95_120


def test_a_bad_file_leaves_every_object_in_the_bucket_as_it_was(gcp_lakehouse, green_mirror, bucket):
    gcp_lakehouse(green_mirror)
    defs = load_defs()
    materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key="2020-10")
    before = objects(bucket)
    (green_mirror / "green/green_tripdata_2020-10.csv.gz").unlink()
    bad = pl.read_csv(GREEN_2020_10, infer_schema=False, n_rows=300).drop("lpep_pickup_datetime")
    write_csv_gz(green_mirror / "green/green_tripdata_2020-10.csv.gz", bad.write_csv())
    result = materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key="2020-10", raise_on_error=False)
    assert not result.success and "'lpep_pickup_datetime'" in step_errors(result)
    assert objects(bucket) == before


class RacedLake(GcsLake):
    """A lake whose view of an object is stale: another writer replaces it before the upload."""

    def current_generation(self, key: str) -> int:
        seen = super().current_generation(key)
        self.bucket.blob(self._name(key)).upload_from_string(b"written by the other writer")
        return seen


def test_a_publish_that_lost_a_race_fails_and_overwrites_nothing(bucket, tmp_path):
    lake = RacedLake(f"gs://{BUCKET}/lakehouse", bucket.client)
    staged = tmp_path / "staged"
    staged.write_bytes(b"our version")
    with pytest.raises(LakeWriteError, match="replaced by another writer"):
        lake.publish(staged, "raw/green/green_tripdata_2020-10.csv.gz")
    assert bucket.blob("lakehouse/raw/green/green_tripdata_2020-10.csv.gz").download_as_bytes() == \
        b"written by the other writer"


def test_an_interrupted_upload_leaves_the_previous_object_readable(bucket, tmp_path):
    lake = GcsLake(f"gs://{BUCKET}/lakehouse", bucket.client)
    with lake.writer("conformed/green/year=2020/month=10/part-0.parquet") as staged:
        staged.write_bytes(b"the good month")
    with pytest.raises(RuntimeError), lake.writer("conformed/green/year=2020/month=10/part-0.parquet") as staged:
        staged.write_bytes(b"half of the new")
        raise RuntimeError("worker died before the upload finished")
    assert bucket.blob("lakehouse/conformed/green/year=2020/month=10/part-0.parquet").download_as_bytes() == \
        b"the good month"


def test_a_bad_drop_in_the_bucket_is_set_aside_with_its_reason_and_the_good_one_requested(bucket, tmp_path):
    # The landing sensor's plan on the GCS lake: head() of a CSV posing as Parquet and of an empty object.
    lake = GcsLake(f"gs://{BUCKET}/lakehouse", bucket.client)
    drops = {"green_tripdata_2020-10.csv.gz": GREEN_2020_10.read_bytes(), "green_tripdata_2023-12.parquet": b"a,b\n1,2\n",
             "green_tripdata_2021-01.parquet": b""}
    for name, data in drops.items():
        bucket.blob(f"lakehouse/landing/{name}").upload_from_string(data)
    requests, rejected = plan_landing_runs(lake, load_settings({}))
    assert [r.partition_key for r in requests] == ["2020-10"]
    assert len(rejected) == 2
    assert lake.head("landing/rejected/green_tripdata_2023-12.parquet", 100) == b"a,b\n1,2\n"
    assert b"is empty" in lake.head("landing/rejected/green_tripdata_2021-01.parquet.reason.txt", 1000)
    assert sorted(lake.list("landing")) == sorted(
        ["landing/green_tripdata_2020-10.csv.gz"] + [f"landing/rejected/{n}{s}" for n in list(drops)[1:]
                                                     for s in ("", ".reason.txt")])
