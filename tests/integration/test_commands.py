"""The commands a user types: `dagster asset materialize` and `make run`'s driver, as subprocesses."""

import subprocess

from lake_assets.catalog import Month
from lake_assets.settings import PROJECT_ROOT
from tests.conftest import mirror_template
from tests.helpers import conformed_month, query


def test_dagster_cli_materializes_a_partition(tmp_path, green_mirror, venv_env):
    venv_env.update(LAKE_URL=str(tmp_path / "lake"), DUCKDB_PATH=str(tmp_path / "wh.duckdb"),
                    TLC_SOURCE_URL=mirror_template(green_mirror))
    result = subprocess.run(
        ["dagster", "asset", "materialize", "-m", "lake_assets.definitions",
         "--select", "raw_green_tripdata,green_tripdata", "--partition", "2023-12"],
        cwd=PROJECT_ROOT, env=venv_env, capture_output=True, text=True, check=False, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert conformed_month(tmp_path / "lake", "green", "2023-12").height == 64_215


def month_range(first: Month, last: Month) -> list[Month]:
    months = [first]
    while months[-1] < last:
        months.append(months[-1].shift(1))
    return months


def test_make_run_driver_loads_the_sample_mirror_and_prints_a_summary(sample_make_run):
    result, home = sample_make_run.result, sample_make_run.dagster_home
    assert result.returncode == 0, result.stderr[-3000:]
    sample = sorted(p.name for p in (PROJECT_ROOT / "data" / "tlc_sample").rglob("*_tripdata_*"))
    for name in sample:  # every month of the mirror is in the lake and in the summary
        service, month = name.split("_tripdata_")[0], name.split("_tripdata_")[1][:7]
        assert f"{service:<7} {month}" in result.stdout
    fact_rows = query(sample_make_run.lakehouse.warehouse, "select count(*) from core.fact_trips")[0][0]
    assert f"core.fact_trips{'':<18}{fact_rows:>9,}".replace(" ", "") in result.stdout.replace(" ", "")
    assert fact_rows > 0
    # The runs were recorded in the instance, so `make dev` shows them.
    assert any(home.rglob("*.db"))
    # The console shows one progress line per run, not Dagster's and dbt's events (they go to the
    # instance and the log file).
    lake_lines = [line for line in result.stdout.splitlines() if line.startswith("[lake ")]
    assert len(lake_lines) == len(sample) and lake_lines[-1].startswith(f"[lake {len(sample)}/{len(sample)}]")
    assert all(" rows/s " in line for line in lake_lines)
    months = {name.split("_tripdata_")[1][:7] for name in sample}
    warehouse_lines = [line for line in result.stdout.splitlines() if line.startswith("[warehouse ")]
    # One line per batch of consecutive months (DBT_MONTHS_PER_RUN, default 12): the sample's
    # 2020-10..2020-12 in one run, 2023-12 in another.
    batches = [line.split()[5].split("..") for line in warehouse_lines]
    covered = [month.key for first, *last in batches
               for month in month_range(Month.parse(first), Month.parse(last[0] if last else first))]
    assert covered == sorted(months) and len(batches) == 2
    assert "DEBUG" not in result.stdout and "PASS=" not in result.stdout
    assert "PASS=" in (home / "materialize_all.log").read_text()
