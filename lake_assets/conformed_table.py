"""The conformed layer: one Delta Lake table per service at conformed/<service>, partitioned by year and month.

A month's conform is one commit that replaces exactly that month. Its data files are written first,
under new names, by pyarrow in batches (each file published into the table's folder through the
lake's atomic write), then delta-rs commits them with the removal of the month's previous files by
creating the next `_delta_log/<version>.json`, which only succeeds if no other commit took that
version: a writer killed before that leaves the previous snapshot whole, and readers of a snapshot
read exactly its files. (delta-rs's own `write_deltalake` holds more of the stream the longer it is:
measured here, 0.35 GiB over the process for 1M green rows, 1 GiB for 8M; the files written here
hold one batch at a time.) Replaced files stay, readable at the earlier
versions, until `vacuum` removes those of snapshots older than CONFORMED_RETENTION_HOURS.
Why Delta Lake and not Iceberg: docs/architecture.md, "Versions of the lake".
"""

from __future__ import annotations

import contextlib
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable
from deltalake.exceptions import CommitFailedError, TableNotFoundError
from deltalake.transaction import AddAction

from lake_assets.catalog import Month
from lake_assets.lake import Lake, conformed_prefix
from lake_assets.schemas import CANONICAL_SCHEMAS

PARTITION_BY = ["year", "month"]
BATCH_ROWS = 100_000  # rows a commit holds in memory at a time, read from the staged Parquet
FILE_ROWS = 2_000_000  # rows of one data file (about 40 MB of green trips): a month of 20M rows has ten
# Commit metadata (Delta commitInfo): what each commit of a month wrote, read back by history and changes.
META_MONTH = "lakehouse.month"
META_OPERATION = "lakehouse.operation"  # conform, restore or migrate
META_SOURCE_FILE = "lakehouse.source_file"
META_SOURCE_SHA256 = "lakehouse.source_sha256"
META_SOURCE_ROWS = "lakehouse.source_rows"
META_SOURCE_COLUMNS = "lakehouse.source_columns"  # json: the columns the raw file published
META_RESTORED_FROM = "lakehouse.restored_from_version"


class ConformedTableError(RuntimeError):
    """A read or commit of a conformed table failed; the message names the table, partition and version."""


def table_uri(lake: Lake, service: str) -> str:
    return lake.uri(conformed_prefix(service))


def open_table(lake: Lake, service: str, version: int | None = None) -> DeltaTable | None:
    """The service's table at `version` (default: the current snapshot); None before its first commit."""
    try:
        table = DeltaTable(table_uri(lake, service), storage_options=lake.delta_storage_options())
    except TableNotFoundError:
        return None
    if version is not None:
        if not 0 <= version <= table.version():
            raise ConformedTableError(
                f"{table_uri(lake, service)} has versions 0..{table.version()}, not {version}.")
        table.load_as_version(version)
    return table


def arrow_schema(service: str) -> pa.Schema:
    """The canonical columns with their arrow types, then the partition columns: always written with
    these types (an all-null column left to arrow would be typed null, which Delta stores as `void`)."""
    canonical = pl.DataFrame(schema=CANONICAL_SCHEMAS[service]).to_arrow(compat_level=pl.CompatLevel.oldest()).schema
    return pa.schema([*canonical, pa.field("year", pa.int64()), pa.field("month", pa.int64())])


def _with_partition(batches: Iterator[pa.RecordBatch], schema: pa.Schema, month: Month) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        n = batch.num_rows
        # A canonical column the batch lacks (a file conformed before the column was canonical) is nulls.
        columns = [batch.column(f.name) if f.name in batch.schema.names else pa.nulls(n, f.type) for f in schema]
        columns[-2:] = [pa.array([month.year] * n, pa.int64()), pa.array([month.month] * n, pa.int64())]
        yield pa.RecordBatch.from_arrays([c.cast(f.type) for c, f in zip(columns, schema, strict=True)], schema=schema)


def month_reader(batches: Iterator[pa.RecordBatch], service: str, month: Month) -> pa.RecordBatchReader:
    """Batches of one month on the canonical arrow schema with its year and month, as a stream."""
    schema = arrow_schema(service)
    return pa.RecordBatchReader.from_batches(schema, _with_partition(batches, schema, month))


def staged_parquet_reader(path: Path, service: str, month: Month) -> pa.RecordBatchReader:
    """The conform's staged Parquet file read back in batches of BATCH_ROWS: memory stays bounded."""
    return month_reader(pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS), service, month)


COMMIT_ATTEMPTS = 5


def ensure_table(lake: Lake, service: str) -> None:
    """Creates the service's table, empty, if it does not exist (its version 0). Month commits then always
    start from an existing table: two first commits racing to create it would otherwise both land, the
    second as an append of the same month (delta-rs finds no conflict with a table it did not read)."""
    if open_table(lake, service) is not None:
        return
    try:
        # mode "error" and no retry: a create that lost the race fails instead of landing as version 1
        DeltaTable.create(table_uri(lake, service), schema=arrow_schema(service), partition_by=PARTITION_BY,
                          mode="error", storage_options=lake.delta_storage_options(),
                          commit_properties=CommitProperties(max_commit_retries=0))
    except Exception:  # another process created it first (its version 0 exists): that table is the one
        if open_table(lake, service) is None:
            raise


def _publish_file(lake: Lake, service: str, month: Month, staged: Path, rows: int) -> AddAction:
    relative = f"year={month.year}/month={month.month}/part-{uuid.uuid4().hex}.zstd.parquet"
    size = staged.stat().st_size
    lake.publish(staged, f"{conformed_prefix(service)}/{relative}")
    return AddAction(path=relative, size=size, partition_values={"year": str(month.year), "month": str(month.month)},
                     modification_time=int(time.time() * 1000), data_change=True,
                     stats=json.dumps({"numRecords": rows}))


def write_month_files(lake: Lake, service: str, month: Month, data: pa.RecordBatchReader) -> list[AddAction]:
    """Writes the month's batches as data files of at most FILE_ROWS rows (without the partition columns,
    which the log holds), each staged then published into the table's folder; returns their add actions.
    A batch at a time is in memory: one row group of the file per batch."""
    schema = pa.schema([f for f in data.schema if f.name not in PARTITION_BY])
    actions, writer, rows = [], None, 0
    with contextlib.ExitStack() as stack:
        for batch in data:
            if writer is None:
                staged = stack.enter_context(lake.staged())
                writer = pq.ParquetWriter(staged, schema, compression="zstd", write_statistics=True)
            writer.write_batch(batch.select(schema.names))
            rows += batch.num_rows
            if rows >= FILE_ROWS:
                writer.close()
                actions.append(_publish_file(lake, service, month, staged, rows))
                writer, rows = None, 0
        if writer is not None:
            writer.close()
            actions.append(_publish_file(lake, service, month, staged, rows))
    return actions


def commit_month(lake: Lake, service: str, month: Month, data: Callable[[], pa.RecordBatchReader],
                 metadata: dict[str, str]) -> int:
    """Replaces the month with the batches `data()` streams, in one commit; returns the commit's table
    version. A column the table lacks is added to its schema (schema evolution: the other months' files
    are not rewritten).

    The files are written once; the commit removes the month's files of the snapshot it is made on. It is
    made without delta-rs's own retries, which would rebase it past a concurrent commit of the same month
    and keep both months' files: a commit that finds its version taken is made again on the new snapshot
    (the files it removes then include the other writer's), so the last writer wins, one whole copy."""
    uri = table_uri(lake, service)
    ensure_table(lake, service)
    try:
        actions = write_month_files(lake, service, month, data())
    except Exception as exc:
        raise ConformedTableError(f"{uri} (partition {service} {month}): writing the month's files failed, "
                                  f"nothing was committed: {exc}") from exc
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        try:
            table = open_table(lake, service)  # the latest snapshot: the month's files to remove are its
            known = {f.name for f in table.schema().fields}
            current = pa.schema(table.schema().to_arrow())  # arro3 -> pyarrow, through the Arrow C interface
            schema = pa.schema([*current, *[f for f in arrow_schema(service) if f.name not in known]])
            table.create_write_transaction(
                actions, mode="overwrite", schema=schema, partition_by=PARTITION_BY,
                partition_filters=[("year", "=", str(month.year)), ("month", "=", str(month.month))],
                commit_properties=CommitProperties(custom_metadata={META_MONTH: month.key, **metadata},
                                                   max_commit_retries=0),
            )
            return open_table(lake, service).version()
        except CommitFailedError as exc:
            if attempt == COMMIT_ATTEMPTS:
                raise ConformedTableError(f"{uri} (partition {service} {month}): {attempt} commits found their "
                                          f"version taken by concurrent commits; nothing was committed: {exc}"
                                          ) from exc
            time.sleep(random.uniform(0.05, 0.2) * attempt)
        except Exception as exc:  # delta-rs raises several types; the previous snapshot is unchanged either way
            raise ConformedTableError(f"{uri} (partition {service} {month}): the commit failed, the month is "
                                      f"as it was: {exc}") from exc
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class MonthFiles:
    uris: list[str]
    rows: int


def month_files(table: DeltaTable) -> dict[Month, MonthFiles]:
    """Each month of the snapshot with its data files (as readers address them) and rows (the log's own
    counts: no file is read)."""
    actions = pl.DataFrame(table.get_add_actions(flatten=True))
    if actions.is_empty():
        return {}
    base = table.table_uri.rstrip("/")
    months: dict[Month, MonthFiles] = {}
    for row in actions.sort("path").iter_rows(named=True):
        month = Month(row["partition.year"], row["partition.month"])
        files = months.setdefault(month, MonthFiles([], 0))
        path = row["path"]
        uri = path if "://" in path or path.startswith("/") else f"{base}/{path}"
        months[month] = MonthFiles([*files.uris, uri.removeprefix("file://")], files.rows + (row["num_records"] or 0))
    return dict(sorted(months.items(), key=lambda item: item[0].key))


def scan_month(lake: Lake, service: str, month: Month, version: int | None = None) -> pl.LazyFrame:
    """The month as it is in the snapshot `version` (default: current), without its partition columns."""
    table = open_table(lake, service, version)
    if table is None:
        raise ConformedTableError(f"{table_uri(lake, service)} has no commit yet (partition {service} {month}).")
    return pl.scan_delta(table).filter(pl.col("year") == month.year, pl.col("month") == month.month
                                       ).drop(PARTITION_BY)


def month_reader_at(lake: Lake, service: str, month: Month, version: int) -> pa.RecordBatchReader:
    """The month as it was at `version`, streamed in batches (a restore writes it back)."""
    table = open_table(lake, service, version)
    files = month_files(table).get(month) if table else None
    if not files:
        raise ConformedTableError(
            f"{table_uri(lake, service)} has no {service} {month} at version {version}: nothing to restore.")
    dataset = table.to_pyarrow_dataset()
    import pyarrow.dataset as ds

    scanner = dataset.scanner(filter=(ds.field("year") == month.year) & (ds.field("month") == month.month),
                              batch_size=BATCH_ROWS)
    return month_reader(scanner.to_batches(), service, month)


@dataclass(frozen=True)
class MonthCommit:
    version: int
    operation: str
    timestamp_ms: int
    metadata: dict[str, str]

    @property
    def source_columns(self) -> list[str] | None:
        raw = self.metadata.get(META_SOURCE_COLUMNS)
        return json.loads(raw) if raw else None


def month_history(table: DeltaTable, month: Month) -> list[MonthCommit]:
    """The commits that wrote the month, oldest first."""
    commits = []
    for entry in table.history():
        if entry.get(META_MONTH) != month.key:
            continue
        metadata = {k: str(v) for k, v in entry.items() if k.startswith("lakehouse.")}
        commits.append(MonthCommit(entry["version"], entry.get(META_OPERATION, ""), entry["timestamp"], metadata))
    return sorted(commits, key=lambda c: c.version)


def commit_of(table: DeltaTable, month: Month, version: int) -> MonthCommit | None:
    """The latest commit of the month at or before `version`: the one whose files the month has there."""
    earlier = [c for c in month_history(table, month) if c.version <= version]
    return earlier[-1] if earlier else None


def vacuum(lake: Lake, service: str, retention_hours: int) -> list[str]:
    """Deletes the files of snapshots that stopped being current more than `retention_hours` ago, and the
    files of commits that never happened (a killed writer's) older than that; returns them. The current
    snapshot's files always stay, and so do all the files of every snapshot younger than the retention.
    `full`: files no commit names are deleted too, so the retention must exceed the longest conform, or a
    running commit's files could go before it publishes them (README.md, "Settings")."""
    table = open_table(lake, service)
    if table is None:
        return []
    return table.vacuum(retention_hours=retention_hours, dry_run=False, enforce_retention_duration=False, full=True)
