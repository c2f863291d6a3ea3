"""Temporary lakehouses: built once per session from a mirror, then copied into each test that changes one.

A lakehouse is a folder holding the mirror it was fed from, its lake and its DuckDB warehouse. Building
one runs the real pipeline (land, conform, register, dbt); a copy costs a file copy and a new
registration of the external tables. A conformed Delta table's log names its files relative to the
table, so the copied table reads its own files; the views name the current snapshot's files by absolute
path, so they are registered again over the copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from lake_assets.catalog import SERVICES
from lake_assets.settings import PROJECT_ROOT
from tests.conftest import SAMPLE_MIRROR, mirror_template
from tests.helpers import load_defs, materialize, monthly_keys, query, unpartitioned_keys

EXTERNAL_TABLES = [f"ext_{service}_tripdata" for service in SERVICES]
PROJECT_SETTING_PREFIXES = ("LAKE", "TLC_", "DUCKDB_", "DBT_", "BQ", "BIGQUERY_", "GCP_", "DAGSTER_")


@dataclass(frozen=True)
class Lakehouse:
    root: Path

    @property
    def mirror(self) -> Path:
        return self.root / "mirror"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    def settings_env(self) -> dict[str, str]:
        return {"LAKEHOUSE_TARGET": "local", "LAKE_URL": str(self.lake), "DUCKDB_PATH": str(self.warehouse),
                "TLC_SOURCE_URL": mirror_template(self.mirror)}


def point_at(env: pytest.MonkeyPatch, lakehouse: Lakehouse) -> None:
    """Every setting at `lakehouse` (no DAGSTER_HOME: runs use an ephemeral instance)."""
    for name, value in lakehouse.settings_env().items():
        env.setenv(name, value)
    env.delenv("DAGSTER_HOME", raising=False)


@contextmanager
def pointed_at(lakehouse: Lakehouse) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as env:
        point_at(env, lakehouse)
        yield


def build(lakehouse: Lakehouse, service: str, months: list[str]) -> None:
    """The months of `service` in the mirror through the whole graph, as `make run` builds them: each
    month landed and conformed, the external tables and seeds, the monthly models in one batch, the
    charts."""
    with pointed_at(lakehouse):
        defs = load_defs()
        for month in months:
            materialize(defs, [f"raw_{service}_tripdata", f"{service}_tripdata"], partition_key=month)
        materialize(defs, unpartitioned_keys(defs, downstream_of_monthly=False))
        materialize(defs, monthly_keys(defs), tags={"dagster/asset_partition_range_start": min(months),
                                                    "dagster/asset_partition_range_end": max(months)})
        materialize(defs, unpartitioned_keys(defs, downstream_of_monthly=True))


def copy(golden: Lakehouse, root: Path, monkeypatch: pytest.MonkeyPatch) -> Lakehouse:
    """A copy of `golden` at `root`, the test's settings pointed at it, its views over its own lake."""
    shutil.copytree(golden.root, root, symlinks=True, dirs_exist_ok=True)  # the mirror may link to ../shared
    lakehouse = Lakehouse(root)
    point_at(monkeypatch, lakehouse)
    materialize(load_defs(), EXTERNAL_TABLES)
    # A view still over the golden's files (such as a version view, lake.ext_*_at_version_N, which no
    # asset registers again) would let a test read or change the wrong lake.
    stale = query(lakehouse.warehouse, f"select view_name from duckdb_views() where contains(sql, '{golden.root}/')")
    assert not stale, f"views of the copy at {root} read the files of {golden.root}: {stale}"
    return lakehouse


@pytest.fixture(scope="session")
def sample_green_lakehouse(tmp_path_factory) -> Lakehouse:
    """The sample's two green months (real rows, see data/make_sample_mirror.py) through the whole
    graph, once a session."""
    golden = Lakehouse(tmp_path_factory.mktemp("sample_green"))
    shutil.copytree(SAMPLE_MIRROR / "green", golden.mirror / "green")
    build(golden, "green", ["2020-10", "2023-12"])
    return golden


@dataclass(frozen=True)
class MakeRun:
    lakehouse: Lakehouse  # its mirror is the shipped sample's, not a copy
    dagster_home: Path
    result: subprocess.CompletedProcess


@pytest.fixture(scope="session")
def sample_make_run(tmp_path_factory) -> MakeRun:
    """`make run`'s driver on the whole sample mirror, as a subprocess, once a session: the test of the
    command reads its output, the emulator tier compares its warehouse with BigQuery's."""
    lakehouse = Lakehouse(tmp_path_factory.mktemp("make_run"))
    home = lakehouse.root / "dagster_home"
    home.mkdir()
    # The project's settings only from here, whichever test's environment asked for it first.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(PROJECT_SETTING_PREFIXES)}
    env = {**inherited, **lakehouse.settings_env(), "TLC_SOURCE_URL": "sample", "DAGSTER_HOME": str(home),
           "PATH": os.pathsep.join([str(PROJECT_ROOT / ".venv" / "bin"), os.environ.get("PATH", "")])}
    result = subprocess.run([sys.executable, "-m", "lake_assets.materialize_all"], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, check=False, timeout=900)
    return MakeRun(lakehouse, home, result)
