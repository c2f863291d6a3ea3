"""The versions of the conformed lake, from the command line (docs/versioned-lake.md).

    python -m lake_assets.versions_cli history green [--month 2021-01]   (make lake-history)
    python -m lake_assets.versions_cli view green 3                      (make version-view)
    python -m lake_assets.versions_cli vacuum [green ...]                (make vacuum)

`history` lists the commits of each month: table version, time, operation and the raw version (sha256)
it was conformed from. `view` creates lake.ext_<service>_tripdata_at_version_<N> in the local DuckDB
warehouse, over the files of that version, to query a month as it was:
`make query SQL="select count(*) from lake.ext_green_tripdata_at_version_3 where year = 2021 and month = 1"`.
`vacuum` deletes the files of snapshots older than CONFORMED_RETENTION_HOURS (each conform also does).
Restoring a month is a run of its conformed asset with `restore_version` (docs/versioned-lake.md, "Restoring a month").
"""

import argparse
from datetime import UTC, datetime

from lake_assets.catalog import SERVICES, Month
from lake_assets.conformed_table import (
    META_RESTORED_FROM,
    META_SOURCE_SHA256,
    month_files,
    month_history,
    open_table,
    vacuum,
)
from lake_assets.resources import build_resources
from lake_assets.settings import load_settings


def history_lines(lake, service: str, month: str | None) -> list[str]:
    table = open_table(lake, service)
    if table is None:
        return [f"{service}: no conformed month yet"]
    current = month_files(table)
    months = [Month.parse(month)] if month else sorted(current, key=lambda m: m.key)
    lines = []
    for m in months:
        lines.append(f"{service} {m}" + ("" if m in current else " (not in the current snapshot)"))
        for commit in month_history(table, m):
            when = datetime.fromtimestamp(commit.timestamp_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
            restored = commit.metadata.get(META_RESTORED_FROM)
            lines.append(f"  version {commit.version:>4}  {when} UTC  {commit.operation or '?':<8} "
                         f"raw {commit.metadata.get(META_SOURCE_SHA256, '')[:16] or '-'}"
                         + (f"  (from version {restored})" if restored else ""))
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    history = commands.add_parser("history")
    history.add_argument("service", choices=SERVICES)
    history.add_argument("--month")
    view = commands.add_parser("view")
    view.add_argument("service", choices=SERVICES)
    view.add_argument("version", type=int)
    vacuum_cmd = commands.add_parser("vacuum")
    vacuum_cmd.add_argument("service", nargs="*", help=f"of {', '.join(SERVICES)} (default: all)")
    args = parser.parse_args(argv)
    if args.command == "vacuum" and set(args.service) - set(SERVICES):
        parser.error(f"vacuum: unknown service {sorted(set(args.service) - set(SERVICES))}; services: {', '.join(SERVICES)}")
    settings = load_settings()
    resources = build_resources(settings)
    lake = resources["lake"].get_lake()
    if args.command == "history":
        print("\n".join(history_lines(lake, args.service, args.month)))
    elif args.command == "view":
        if not settings.is_local:
            raise SystemExit("`view` makes a DuckDB view: it is for the local target (on BigQuery, read the version "
                             "with polars: pl.scan_delta(uri, version=N)).")
        print(f"created {resources['warehouse'].register_version_view(args.service, lake, args.version)}")
    else:
        for service in args.service or SERVICES:
            removed = vacuum(lake, service, settings.conformed_retention_hours)
            print(f"{service}: {len(removed)} files of snapshots older than {settings.conformed_retention_hours} h deleted")


if __name__ == "__main__":
    main()
