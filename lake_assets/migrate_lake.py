"""Converts a lake written before the lake was versioned, in place, without downloading anything again.

    python -m lake_assets.migrate_lake        (make migrate-lake)

For each service: every plain Parquet partition conformed/<service>/year=YYYY/month=MM/part-0.parquet
becomes one commit of the service's Delta table (operation `migrate`, its source file and sha256 taken
from the Parquet's own lineage metadata), and the plain file is deleted once its commit is in; every
current raw file is also kept as its raw version (raw_versions/...). A run that stops midway is run
again: a month already committed is not committed twice, and its leftover plain file is deleted.
Run it while nothing else runs, then materialize the ext_* assets (the views read the tables after that).
"""

from __future__ import annotations

import argparse
import re
from functools import partial

import pyarrow.parquet as pq

from lake_assets.catalog import FORMATS, SERVICES, Month, file_name
from lake_assets.checksum import sha256_of
from lake_assets.conformed_table import (
    META_OPERATION,
    META_SOURCE_FILE,
    META_SOURCE_ROWS,
    META_SOURCE_SHA256,
    commit_month,
    month_history,
    open_table,
    staged_parquet_reader,
)
from lake_assets.lake import Lake, conformed_prefix, raw_object_key, raw_version_key

PLAIN = re.compile(r"^conformed/(?P<service>[a-z]+)/year=(?P<year>\d{4})/month=(?P<month>\d{2})/part-0\.parquet$")


def plain_partitions(lake: Lake, service: str) -> dict[Month, str]:
    """The months of the old layout still in the lake, with their file's key."""
    found = {}
    for key in lake.list(conformed_prefix(service)):
        if match := PLAIN.match(key):
            found[Month(int(match["year"]), int(match["month"]))] = key
    return found


def keep_raw_versions(lake: Lake, service: str) -> list[str]:
    """Copies each current raw file to its content-addressed version, where it is not there yet."""
    added = []
    for key in lake.list(f"raw/{service}"):
        for ext in FORMATS:
            name = key.rsplit("/", 1)[-1]
            match = re.match(rf"^{service}_tripdata_(\d{{4}}-\d{{2}})\.{re.escape(ext)}$", name)
            if not match or key != raw_object_key(service, file_name(service, Month.parse(match[1]), ext)):
                continue
            with lake.local_copy(key) as path:
                version = raw_version_key(service, match[1], sha256_of(path), ext)
            if not lake.exists(version):
                lake.copy(key, version)
                added.append(version)
    return added


def migrate_service(lake: Lake, service: str, log=print) -> list[Month]:
    """Commits each plain partition of the service as its month; returns the months committed."""
    committed = []
    for month, key in sorted(plain_partitions(lake, service).items(), key=lambda item: item[0].key):
        table = open_table(lake, service)
        if table is None or not any(c.operation == "migrate" for c in month_history(table, month)):
            with lake.local_copy(key) as path:
                lineage = {k.decode(): v.decode() for k, v in (pq.read_schema(path).metadata or {}).items()
                           if k.startswith(b"lakehouse.")}
                rows = pq.ParquetFile(path).metadata.num_rows
                version = commit_month(lake, service, month, partial(staged_parquet_reader, path, service, month), {
                    META_OPERATION: "migrate", META_SOURCE_FILE: lineage.get("lakehouse.source_file", ""),
                    META_SOURCE_SHA256: lineage.get("lakehouse.source_sha256", ""), META_SOURCE_ROWS: str(rows)})
            log(f"{service} {month}: {rows:,} rows from {key} -> version {version}")
            committed.append(month)
        lake.delete(key)  # in the table now: the plain file would only be read by old globs
    return committed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service", action="append", choices=SERVICES, help="services to convert (default: all)")
    args = parser.parse_args(argv)
    from lake_assets.resources import build_resources
    from lake_assets.settings import load_settings

    lake = build_resources(load_settings())["lake"].get_lake()
    if not lake.versioned_tables:
        raise SystemExit(f"the lake at {lake.url} keeps plain Parquet partitions "
                         '(docs/versioned-lake.md, "On GCS"): there is nothing to convert.')
    for service in args.service or SERVICES:
        versions = keep_raw_versions(lake, service)
        months = migrate_service(lake, service)
        print(f"{service}: {len(months)} months converted, {len(versions)} raw versions kept")
    print("Now materialize the ext_* assets (make run does): the views then read the tables.")


if __name__ == "__main__":
    main()
