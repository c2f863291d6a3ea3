"""The dbt unit tests of the macros and the marts (models/*/_unit_tests.yml), run as a user runs them:
`dbt test --select test_type:unit` with the plain dbt CLI, on an empty warehouse (their inputs are
fixed rows, so nothing has to be built first)."""

import json
import os
import subprocess

from lake_assets.project import DBT_PROJECT_DIR
from lake_assets.settings import PROJECT_ROOT

DBT = str(PROJECT_ROOT / ".venv/bin/dbt")


def test_the_unit_tests_of_the_trip_key_the_month_window_and_the_service_mart_pass(tmp_path):
    env = {**os.environ, "DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
           "DUCKDB_TEMP_DIRECTORY": str(tmp_path / "tmp"), "DBT_TARGET": "local"}
    result = subprocess.run(
        [DBT, "test", "--select", "test_type:unit", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    outcomes = {r["unique_id"].rsplit(".", 1)[1]: r["status"] for r in results}
    assert {"trip_key_hashes_every_column_and_duplicates_collapse",
            "month_window_filter_reads_only_the_months_of_the_run",
            "service_revenue_adds_up_every_zone_of_a_month_and_service"} <= set(outcomes)
    assert set(outcomes.values()) == {"pass"}, outcomes
