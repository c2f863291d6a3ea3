import pytest

from lake_assets.lake import LocalLake


def test_publish_replaces_the_object_in_one_step(tmp_path):
    lake = LocalLake(tmp_path / "lake")
    with lake.writer("raw/green/a.parquet") as tmp:
        tmp.write_bytes(b"first")
    with lake.writer("raw/green/a.parquet") as tmp:
        tmp.write_bytes(b"second")
    assert (tmp_path / "lake" / "raw/green/a.parquet").read_bytes() == b"second"
    assert lake.list("raw") == ["raw/green/a.parquet"]
    assert list((tmp_path / "lake" / ".tmp").iterdir()) == []


def test_a_failed_write_leaves_the_previous_object_and_no_debris(tmp_path):
    lake = LocalLake(tmp_path / "lake")
    with lake.writer("conformed/green/year=2020/month=10/part-0.parquet") as tmp:
        tmp.write_bytes(b"good")
    with pytest.raises(RuntimeError), lake.writer("conformed/green/year=2020/month=10/part-0.parquet") as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed mid-write")
    assert (tmp_path / "lake/conformed/green/year=2020/month=10/part-0.parquet").read_bytes() == b"good"
    assert list((tmp_path / "lake" / ".tmp").iterdir()) == []
