"""A lake the plain-Parquet code built, converted in place by the documented command (make migrate-lake).

The old lake is made as the code before the Delta table made it: the raw files in raw/green/ and, for
each month, the conform's Parquet (conform_month, unchanged) published at conformed/green/year=YYYY/
month=MM/part-0.parquet. Nothing is downloaded: the mirror is removed before the conversion.
"""

import hashlib
import shutil
import subprocess
import sys

import polars as pl

from lake_assets.catalog import Month
from lake_assets.conform import RawFile, conform_month
from lake_assets.conformed_table import month_history, open_table
from lake_assets.lake import LocalLake
from lake_assets.settings import PROJECT_ROOT
from tests.conftest import SHARED_TLC
from tests.helpers import conformed_files, conformed_month, load_defs, materialize, query, same_rows

MONTHS = {"2021-01": 76_518, "2021-02": 64_572}


def old_lake(root) -> dict[str, pl.DataFrame]:
    lake = LocalLake(root)
    frames = {}
    for key in MONTHS:
        month, name = Month.parse(key), f"green_tripdata_{key}.parquet"
        with lake.writer(f"raw/green/{name}") as staged:
            shutil.copyfile(SHARED_TLC / "green" / name, staged)
        with lake.writer(f"conformed/green/year={month.year:04d}/month={month.month:02d}/part-0.parquet") as staged:
            conform_month(RawFile(SHARED_TLC / "green" / name, "parquet", name, "green", month), staged)
            frames[key] = pl.read_parquet(staged)
    return frames


def migrate(env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lake_assets.migrate_lake", "--service", "green"], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=600, check=False)


def test_the_old_lake_is_converted_in_place_once_and_the_warehouse_reads_it(lakehouse_env, tmp_path, venv_env,
                                                                             monkeypatch):
    old = old_lake(tmp_path / "lake")
    no_source = (tmp_path / "no-mirror").as_uri() + "/{service}_tripdata_{year}-{month}.parquet"  # nothing to download
    monkeypatch.setenv("TLC_SOURCE_URL", no_source)
    env = {**venv_env, "LAKE_URL": str(tmp_path / "lake"), "DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
           "TLC_SOURCE_URL": no_source}
    done = migrate(env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "green: 2 months converted, 2 raw versions kept" in done.stdout
    assert list((tmp_path / "lake" / "conformed" / "green").rglob("part-0.parquet")) == []
    for key, rows in MONTHS.items():
        month = conformed_month(tmp_path / "lake", "green", key)
        assert month.height == rows and same_rows(month, old[key])
        sha = hashlib.sha256((SHARED_TLC / "green" / f"green_tripdata_{key}.parquet").read_bytes()).hexdigest()
        assert (tmp_path / "lake" / "raw_versions" / "green" / key / f"{sha}.parquet").is_file()
        [commit] = month_history(open_table(LocalLake(tmp_path / "lake"), "green"), Month.parse(key))
        assert commit.operation == "migrate" and commit.metadata["lakehouse.source_sha256"] == sha
    files = conformed_files(tmp_path / "lake")
    again = migrate(env)
    assert again.returncode == 0 and "green: 0 months converted, 0 raw versions kept" in again.stdout
    assert conformed_files(tmp_path / "lake") == files and open_table(LocalLake(tmp_path / "lake"), "green").version() == 2
    materialize(load_defs(), ["ext_green_tripdata"])
    assert query(tmp_path / "warehouse.duckdb", "select year, month, count(*) from lake.ext_green_tripdata "
                                                 "group by all order by all") == [(2021, 1, 76_518), (2021, 2, 64_572)]
