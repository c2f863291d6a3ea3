"""Bad configuration is rejected before any work, with a message that says what to fix."""

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from lake_assets import materialize_all
from lake_assets.catalog import newest_expected_month
from lake_assets.settings import PROJECT_ROOT, load_settings
from tests.conftest import GREEN_2023_12, mirror_template

pytestmark = pytest.mark.faults
PAST_NEWEST = newest_expected_month(datetime.now(UTC), load_settings({}).publication_lag_months).shift(1)


def run_make_run_driver(tmp_path, venv_env, args=(), **env):
    venv_env.update({"LAKE_URL": str(tmp_path / "lake"), "DUCKDB_PATH": str(tmp_path / "wh.duckdb"), **env})
    return subprocess.run([sys.executable, "-m", "lake_assets.materialize_all", *args], cwd=PROJECT_ROOT,
                          env=venv_env, capture_output=True, text=True, check=False, timeout=300)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--service", "hvfhs"], {}, "invalid choice: 'hvfhs'"),
        (["--month", "2021-13"], {}, "month '2021-13' is not a month in the form YYYY-MM"),
        (["--service", "green", "--month", str(PAST_NEWEST)], {},
         f"green month {PAST_NEWEST} is out of range: green has months from 2013-08 to {PAST_NEWEST.shift(-1)}"),
        (["--month", "2014-01"], {}, "fhv month 2014-01 is out of range: fhv has months from 2015-01 to"),
        ([], {"TLC_SOURCE_URL": "file:///data/green_tripdata.parquet"}, "lacks the placeholder(s) {service}, {year}, {month}"),
        ([], {"BQ_DATASET": "raw`; DROP SCHEMA core; --"}, "is not a valid BigQuery dataset name"),
        ([], {"LAKEHOUSE_TARGET": "aws"}, "LAKEHOUSE_TARGET='aws' is not one of local, gcp"),
    ],
    ids=["unknown-service", "month-13", "past-newest", "before-first", "url-without-placeholders", "dataset-with-sql", "unknown-target"],
)
def test_bad_settings_and_arguments_are_rejected_before_any_work(tmp_path, monkeypatch, capsys, args, env, message):
    """In-process, as `make run` calls it (its exit code through a real process: the test below)."""
    for name, value in {"LAKE_URL": str(tmp_path / "lake"), "DUCKDB_PATH": str(tmp_path / "wh.duckdb"), **env}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        materialize_all.main(args)
    assert exited.value.code == 2
    stderr = capsys.readouterr().err
    assert message in stderr
    assert "Traceback" not in stderr
    assert not (tmp_path / "lake").exists() and not (tmp_path / "wh.duckdb").exists()


def test_make_runs_driver_exits_2_on_a_bad_setting_with_a_message_and_no_traceback(tmp_path, venv_env):
    result = run_make_run_driver(tmp_path, venv_env, LAKEHOUSE_TARGET="aws")
    assert result.returncode == 2
    assert "LAKEHOUSE_TARGET='aws' is not one of local, gcp" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "lake").exists() and not (tmp_path / "wh.duckdb").exists()


def test_a_lake_url_that_cannot_be_written_is_rejected(tmp_path, venv_env):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the lake's parent folder should be")
    result = run_make_run_driver(tmp_path, venv_env, LAKE_URL=str(blocker / "lake"))
    assert result.returncode == 2
    assert f"LAKE_URL='{blocker / 'lake'}': cannot create or write the folder" in result.stderr
    assert "point it at a folder you can write" in result.stderr


@pytest.mark.parametrize("partition", ["2021-13", str(PAST_NEWEST)], ids=["month-13", "past-newest"])
def test_the_dagster_cli_rejects_a_partition_outside_the_calendar(tmp_path, venv_env, partition):
    venv_env.update(LAKE_URL=str(tmp_path / "lake"), DUCKDB_PATH=str(tmp_path / "wh.duckdb"))
    result = subprocess.run(
        [str(PROJECT_ROOT / ".venv/bin/dagster"), "asset", "materialize", "-m", "lake_assets.definitions",
         "--select", "raw_green_tripdata", "--partition", partition],
        cwd=PROJECT_ROOT, env=venv_env, capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode != 0
    assert f"partition key `{partition}`" in result.stderr + result.stdout
    assert not (tmp_path / "lake").exists()


def test_make_dev_binds_the_webserver_to_loopback():
    dry_run = subprocess.run(["make", "-n", "dev"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             check=True, timeout=60).stdout
    dev_line = next(line for line in dry_run.splitlines() if "dagster dev" in line)
    assert "-h 127.0.0.1" in dev_line


def test_a_mirror_month_past_the_newest_is_left_out_and_named(tmp_path, venv_env):
    (tmp_path / "mirror/green").mkdir(parents=True)
    (tmp_path / f"mirror/green/green_tripdata_{PAST_NEWEST}.parquet").write_bytes(GREEN_2023_12.read_bytes())
    result = run_make_run_driver(tmp_path, venv_env, ["--service", "green"],
                                 TLC_SOURCE_URL=mirror_template(tmp_path / "mirror"))
    assert f"left out: green month {PAST_NEWEST} is out of range: green has months from 2013-08 to" in result.stderr
    assert result.returncode == 1 and "holds no month for green" in result.stderr
    assert not (tmp_path / "lake").exists()
