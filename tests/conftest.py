"""Shared fixtures: the real TLC files in ../shared, file:// mirrors of them, and a lakehouse in tmp."""

import gzip
import os
from pathlib import Path

import pytest

from lake_assets.settings import PROJECT_ROOT

SHARED_TLC = PROJECT_ROOT.parent / "shared" / "data" / "tlc"
GREEN_2020_10 = SHARED_TLC / "green" / "green_tripdata_2020-10.csv.gz"  # 95,120 rows, community CSV
GREEN_2023_12 = SHARED_TLC / "green" / "green_tripdata_2023-12.parquet"  # 64,215 rows, official Parquet
SAMPLE_MIRROR = PROJECT_ROOT / "data" / "tlc_sample"

# The session's lakehouses, built once and copied (tests/lakehouses.py).
pytest_plugins = ["tests.lakehouses"]

# Tiers whose tests share servers started once (emulators, a daemon and webserver, a deployment).
SHARED_SERVER_TIERS = {"gcp", "e2e", "deploy"}


def pytest_xdist_make_scheduler(config, log):
    """The units `make test`'s workers take (pytest-xdist): a tier of shared servers whole, so they start
    once; any other module whole, so its module fixtures are built once. (A scheduler of our own, not
    xdist_group marks: xdist 3.8 marks a group in the test's nodeid, which pytest 9 no longer lets it set.)"""
    from xdist.scheduler import LoadScopeScheduling

    class TierScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::")[0]  # tests/<tier>/test_x.py
            tier = module.split("/")[1]
            return tier if tier in SHARED_SERVER_TIERS else module

    return TierScheduling(config, log)


@pytest.fixture(scope="session")
def shared_tlc() -> Path:
    if not GREEN_2020_10.is_file():
        pytest.fail(f"the real TLC files are missing: expected {SHARED_TLC} beside the project")
    return SHARED_TLC


def mirror_template(root: Path) -> str:
    return root.as_uri() + "/{service}/{service}_tripdata_{year}-{month}.{ext}"


@pytest.fixture
def green_mirror(tmp_path, shared_tlc) -> Path:
    """A file:// mirror holding the two whole real green months (links to ../shared, not copies)."""
    root = tmp_path / "mirror"
    (root / "green").mkdir(parents=True)
    for src in (GREEN_2020_10, GREEN_2023_12):
        (root / "green" / src.name).symlink_to(src)
    return root


def write_csv_gz(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", newline="") as f:
        f.write(text)
    return path


@pytest.fixture
def lakehouse_env(tmp_path, monkeypatch):
    """Points every setting at tmp_path; returns a function that sets the source mirror."""
    monkeypatch.setenv("LAKEHOUSE_TARGET", "local")
    monkeypatch.setenv("LAKE_URL", str(tmp_path / "lake"))
    monkeypatch.setenv("DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("TLC_SOURCE_URL", mirror_template(SAMPLE_MIRROR))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)

    def use_mirror(root: Path) -> None:
        monkeypatch.setenv("TLC_SOURCE_URL", mirror_template(root))

    use_mirror.tmp_path = tmp_path
    return use_mirror


@pytest.fixture
def venv_env(tmp_path) -> dict:
    """The environment for subprocesses: the project venv's bin first on PATH, a Dagster home in tmp."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(PROJECT_ROOT / ".venv" / "bin"), env.get("PATH", "")])
    env["DAGSTER_HOME"] = str(tmp_path / "dagster_home")
    (tmp_path / "dagster_home").mkdir(exist_ok=True)
    return env
