import os
import subprocess
import sys
from pathlib import Path

import pytest

from lake_assets.settings import PROJECT_ROOT, SOURCE_PRESETS, SettingsError, load_settings


def test_defaults_run_the_embedded_target_on_the_sample_mirror():
    settings = load_settings({})
    assert settings.target == "local"
    assert settings.lake_url == str(PROJECT_ROOT / ".lakehouse" / "lake")
    assert settings.duckdb_path == PROJECT_ROOT / ".lakehouse" / "warehouse.duckdb"
    assert settings.tlc_source_url == SOURCE_PRESETS["sample"]
    assert settings.tlc_source_url.startswith("file://")
    assert (settings.duckdb_lock_timeout_seconds, settings.duckdb_lock_retry_delay_seconds) == (900.0, 1.0)


@pytest.mark.parametrize("preset", ["official", "community"])
def test_presets_expand_to_templates(preset):
    url = load_settings({"TLC_SOURCE_URL": preset}).tlc_source_url
    assert url.startswith("https://") and "{service}" in url and "{year}-{month}" in url


def test_file_url_lake_is_a_folder():
    assert load_settings({"LAKE_URL": "file:///srv/lake"}).lake_url == "/srv/lake"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"LAKEHOUSE_TARGET": "azure"}, "LAKEHOUSE_TARGET"),
        ({"TLC_SOURCE_URL": "file:///data/green_tripdata.parquet"}, "{service}, {year}, {month}"),
        ({"TLC_SOURCE_URL": "ftp://x/{service}_{year}-{month}.parquet"}, "file://"),
        ({"TLC_SOURCE_URL": "file:///d/{service}_{year}-{month}.json"}, ".parquet or .csv.gz"),
        ({"LAKE_URL": "s3://bucket/lake"}, "LAKE_URL"),
        ({"LAKEHOUSE_TARGET": "gcp", "GCP_PROJECT": "my-project", "LAKE_URL": "/tmp/lake"}, "gs://bucket"),
        ({"LAKEHOUSE_TARGET": "gcp", "LAKE_URL": "gs://b/p"}, "GCP_PROJECT"),
        ({"BQ_DATASET": "raw; DROP TABLE x"}, "BQ_DATASET"),
        ({"TLC_PUBLICATION_LAG_MONTHS": "two"}, "TLC_PUBLICATION_LAG_MONTHS"),
        ({"TLC_RUN_RETRIES": "-1"}, "TLC_RUN_RETRIES"),
        ({"DUCKDB_LOCK_TIMEOUT_SECONDS": "ten minutes"}, "DUCKDB_LOCK_TIMEOUT_SECONDS"),
        ({"DUCKDB_LOCK_TIMEOUT_SECONDS": "0"}, "DUCKDB_LOCK_TIMEOUT_SECONDS"),
        ({"DUCKDB_LOCK_RETRY_DELAY_SECONDS": "-1"}, "DUCKDB_LOCK_RETRY_DELAY_SECONDS"),
        ({"BIGQUERY_EMULATOR_URL": "127.0.0.1:9050", "BQEMU_GCS_LOCAL_ROOT": "/tmp"}, "BIGQUERY_EMULATOR_URL"),
        ({"BIGQUERY_EMULATOR_URL": "http://127.0.0.1:9050"}, "BQEMU_GCS_LOCAL_ROOT"),
        ({"BIGQUERY_EMULATOR_URL": "http://127.0.0.1:9050", "BQEMU_GCS_LOCAL_ROOT": "relative/dir"},
         "BQEMU_GCS_LOCAL_ROOT"),
        ({"DUCKDB_MEMORY_LIMIT": "lots"}, "DUCKDB_MEMORY_LIMIT"),
        ({"DUCKDB_MEMORY_LIMIT": "80%"}, "DUCKDB_MEMORY_LIMIT"),
        ({"DUCKDB_THREADS": "0"}, "DUCKDB_THREADS"),
        ({"DUCKDB_THREADS": "two"}, "DUCKDB_THREADS"),
        ({"DUCKDB_TEMP_DIRECTORY": "/etc/hostname/spill"}, "DUCKDB_TEMP_DIRECTORY"),
        ({"BQ_MAXIMUM_BYTES_BILLED": "10GB"}, "BQ_MAXIMUM_BYTES_BILLED"),
        ({"BQ_MAXIMUM_BYTES_BILLED": "0"}, "BQ_MAXIMUM_BYTES_BILLED"),
        ({"BQ_MAXIMUM_BYTES_BILLED": "-1"}, "BQ_MAXIMUM_BYTES_BILLED"),
        ({"AUTOMATION_INTERVAL_SECONDS": "1"}, "AUTOMATION_INTERVAL_SECONDS"),
        ({"CONFORMED_RETENTION_HOURS": "-1"}, "CONFORMED_RETENTION_HOURS"),
        ({"CONFORMED_RETENTION_HOURS": "a week"}, "CONFORMED_RETENTION_HOURS"),
        ({"REPUBLICATION_MAX_REMOVED_SHARE": "1.5"}, "REPUBLICATION_MAX_REMOVED_SHARE"),
        ({"REPUBLICATION_MAX_REMOVED_SHARE": "5%"}, "REPUBLICATION_MAX_REMOVED_SHARE"),
    ],
)
def test_invalid_settings_fail_with_a_message_that_names_the_setting(env, names):
    with pytest.raises(SettingsError) as excinfo:
        load_settings(env)
    assert names in str(excinfo.value)


def test_duckdb_limits_have_sane_defaults_and_take_the_environment():
    limits = load_settings({}).duckdb_limits
    assert limits.memory_limit == "1GB" and limits.threads >= 1
    assert limits.temp_directory == PROJECT_ROOT / ".lakehouse" / "duckdb_tmp"
    limits = load_settings({"DUCKDB_MEMORY_LIMIT": "1500MB", "DUCKDB_THREADS": "3",
                            "DUCKDB_TEMP_DIRECTORY": "/tmp/spill"}).duckdb_limits
    assert limits.as_duckdb_config() == {"memory_limit": "1500MB", "threads": 3, "temp_directory": "/tmp/spill"}
    assert limits.as_dbt_env() == {"DUCKDB_MEMORY_LIMIT": "1500MB", "DUCKDB_THREADS": "3",
                                   "DUCKDB_TEMP_DIRECTORY": "/tmp/spill"}


def test_the_bytes_billed_cap_is_optional_and_reaches_dbts_profile_env():
    assert load_settings({}).bq_maximum_bytes_billed is None
    assert "BQ_MAXIMUM_BYTES_BILLED" not in load_settings({}).dbt_profile_env()
    settings = load_settings({"BQ_MAXIMUM_BYTES_BILLED": " 10000000000 "})
    assert settings.bq_maximum_bytes_billed == 10_000_000_000
    assert settings.dbt_profile_env()["BQ_MAXIMUM_BYTES_BILLED"] == "10000000000"


def test_an_installed_package_finds_the_project_where_lakehouse_project_root_says(tmp_path):
    # The code image installs the package (not editable) away from dbt_project/ and data/, and names their folder.
    script = "from lake_assets import settings as s; print(s.DBT_PROJECT_DIR, s.SAMPLE_MIRROR_DIR, s.load_settings({}).duckdb_path)"
    env = {**os.environ, "LAKEHOUSE_PROJECT_ROOT": str(tmp_path)}
    found = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True,
                           timeout=60).stdout.split()
    assert found == [str(tmp_path / "dbt_project"), str(tmp_path / "data" / "tlc_sample"),
                     str(tmp_path / ".lakehouse" / "warehouse.duckdb")]
    env.pop("LAKEHOUSE_PROJECT_ROOT")
    found = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True,
                           timeout=60).stdout.split()
    assert found[0] == str(PROJECT_ROOT / "dbt_project") and PROJECT_ROOT == Path(__file__).resolve().parents[2]


def test_the_retention_and_the_removed_share_have_defaults_and_take_the_environment():
    settings = load_settings({})
    assert (settings.conformed_retention_hours, settings.republication_max_removed_share) == (168, 0.05)
    settings = load_settings({"CONFORMED_RETENTION_HOURS": "0", "REPUBLICATION_MAX_REMOVED_SHARE": "0.2"})
    assert (settings.conformed_retention_hours, settings.republication_max_removed_share) == (0, 0.2)
