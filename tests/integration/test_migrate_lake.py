"""A lake the plain-Parquet code built, converted in place by the documented command (make migrate-lake).

The old lake is made as the code before the Delta table made it: the raw files in raw/green/ and, for
each month, the conform's Parquet (conform_month, unchanged) published at conformed/green/year=YYYY/
month=MM/part-0.parquet. Nothing is downloaded: the lakehouse has no mirror.
"""

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
from tests.helpers import conformed_files, conformed_month, load_defs, materialize, query, same_rows, sha256
from tests.lakehouses import Lakehouse, point_at

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


def test_the_old_lake_is_converted_in_place_once_and_the_warehouse_reads_it(tmp_path, venv_env, monkeypatch):
    lakehouse = Lakehouse(tmp_path)  # its mirror is never made: nothing to download
    point_at(monkeypatch, lakehouse)
    old = old_lake(lakehouse.lake)
    env = {**venv_env, **lakehouse.settings_env()}
    done = migrate(env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "green: 2 months converted, 2 raw versions kept" in done.stdout
    assert list((lakehouse.lake / "conformed" / "green").rglob("part-0.parquet")) == []
    for key, rows in MONTHS.items():
        month = conformed_month(lakehouse.lake, "green", key)
        assert month.height == rows and same_rows(month, old[key])
        sha = sha256(SHARED_TLC / "green" / f"green_tripdata_{key}.parquet")
        assert (lakehouse.lake / "raw_versions" / "green" / key / f"{sha}.parquet").is_file()
        [commit] = month_history(open_table(LocalLake(lakehouse.lake), "green"), Month.parse(key))
        assert commit.operation == "migrate" and commit.metadata["lakehouse.source_sha256"] == sha
    files = conformed_files(lakehouse.lake)
    again = migrate(env)
    assert again.returncode == 0 and "green: 0 months converted, 0 raw versions kept" in again.stdout
    assert conformed_files(lakehouse.lake) == files and open_table(LocalLake(lakehouse.lake), "green").version() == 2
    materialize(load_defs(), ["ext_green_tripdata"])
    assert query(lakehouse.warehouse, "select year, month, count(*) from lake.ext_green_tripdata "
                                      "group by all order by all") == [(2021, 1, 76_518), (2021, 2, 64_572)]
