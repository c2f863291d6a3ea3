"""dbt and SQL against the local warehouse while `make dev` runs (`make dbt`, `make query`).

    python -m lake_assets.warehouse_cli dbt build --select fact_trips
    python -m lake_assets.warehouse_cli query "select count(*) from core.fact_trips"

`dbt` takes its turn like the project's own writers (lake_assets.warehouse_lock, dbt_runs): it waits
for the runs that hold the warehouse, then runs dbt in dbt_project/ on DUCKDB_PATH. Its artifacts go
to dbt_project/target/cli/ (DBT_TARGET_PATH), not to target/manifest.json, which the code
location loads. `query` opens the warehouse read-only: several readers share the file, but
DuckDB lets none in while a process writes it, so it waits for the writer to finish. With
LAKEHOUSE_TARGET=gcp, `dbt` runs dbt as it is and `query` is refused (use BigQuery's tools).
"""

import argparse
import logging
import os
import subprocess
import sys

import duckdb

from lake_assets.dbt_runs import dbt_lock_failure
from lake_assets.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR, Settings, SettingsError, load_settings
from lake_assets.warehouse_lock import WarehouseBusyError, WarehouseLock, hold_and_retry

# lake_assets.project is not imported here: under `dagster dev` it parses a changed dbt project on import.
log = logging.getLogger("lake_assets.warehouse_cli")


def _lock(settings: Settings) -> WarehouseLock:
    return WarehouseLock(settings.duckdb_path, settings.duckdb_lock_timeout_seconds,
                         settings.duckdb_lock_retry_delay_seconds, log)


def _run_echoing(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Runs the command in dbt_project/, its output passed through as it comes; returns code and output."""
    lines = []
    with subprocess.Popen(command, cwd=DBT_PROJECT_DIR, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as process:
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line)
    return process.returncode, "".join(lines)


def run_dbt(settings: Settings, dbt_args: list[str]) -> int:
    # The same warehouse and DuckDB limits as the project's own dbt runs (WarehouseDbtResource).
    env = {**os.environ, **settings.dbt_profile_env()}
    env.setdefault("DBT_TARGET_PATH", str(DBT_PROJECT_DIR / "target" / "cli"))
    command = [DBT_EXECUTABLE, *dbt_args]
    if not settings.is_local:
        return subprocess.run(command, check=False, cwd=DBT_PROJECT_DIR, env=env).returncode

    def attempt():  # yields dbt's exit code; returns the holder when dbt failed on DuckDB's lock before any node
        returncode, output = _run_echoing(command, env)
        yield returncode
        return dbt_lock_failure(output) if returncode else None

    # Only the dbt subcommand names the holder: the other arguments could carry anything.
    *_, returncode = hold_and_retry(_lock(settings), f"dbt {dbt_args[0] if dbt_args else ''}, lake_assets.warehouse_cli",
                                    attempt)
    return returncode


def run_query(settings: Settings, sql: str) -> int:
    if not settings.is_local:
        raise SystemExit("query reads the local DuckDB warehouse; with LAKEHOUSE_TARGET=gcp use `bq query`.")
    if not settings.duckdb_path.exists():
        raise SystemExit(f"the warehouse {settings.duckdb_path} does not exist yet: `make run` creates it.")
    with _lock(settings).read_only() as conn:
        cursor = conn.execute(sql)
        if cursor.description is not None:
            print("\t".join(column[0] for column in cursor.description))
            for row in cursor.fetchall():
                print("\t".join("" if value is None else str(value) for value in row))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lake_assets.warehouse_cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    dbt = commands.add_parser("dbt", help="run dbt once no other process writes the warehouse")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER, help="arguments for dbt, e.g. build --select fact_trips")
    query = commands.add_parser("query", help="run SQL on a read-only connection; prints tab-separated rows")
    query.add_argument("sql")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    try:
        if args.command == "dbt":
            return run_dbt(settings, args.dbt_args)
        return run_query(settings, args.sql)
    except WarehouseBusyError as exc:
        print(exc, file=sys.stderr)
        return 1
    except duckdb.Error as exc:
        print(f"query failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
