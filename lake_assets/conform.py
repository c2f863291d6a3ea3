"""Conform one raw TLC file onto its service's canonical schema, streamed with polars.

Reads the file as published (gzip CSV as text, Parquet with whatever types that month used), checks
its columns against the TLC's schema history (lake_assets/schema_history.py: a column the service
publishes in that month must be there; one not published yet may be absent), maps columns by
case-insensitive name, casts strictly, fills absent columns with nulls, and writes one Parquet file.
Nothing is dropped: pickups outside the month are counted, not filtered.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import itertools
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import polars as pl

from lake_assets.catalog import Month
from lake_assets.checksum import sha256_of
from lake_assets.schema_history import LayoutMatch, MissingColumn, match_layout
from lake_assets.schemas import CANONICAL_SCHEMAS, PICKUP_COLUMN, REQUIRED_COLUMNS, TIMESTAMP

_POLARS_ERRORS = (pl.exceptions.PolarsError, OSError)


class ConformError(ValueError):
    """A raw file cannot be conformed; the message names the file, partition and column or cause."""

    def __init__(self, file: str, service: str, month: Month, cause: str, column: str | None = None):
        self.file, self.service, self.month, self.column, self.cause = file, service, month, column, cause
        where = f"column {column!r}: " if column else ""
        super().__init__(f"{file} (partition {service} {month}): {where}{cause}")


@dataclass(frozen=True)
class RawFile:
    """A raw file to read: where it is, its format, and the name, service and month errors give."""

    path: Path
    fmt: str  # "parquet" or "csv.gz"
    label: str  # the file name as published, which errors name
    service: str
    month: Month

    def error(self, cause: str, column: str | None = None) -> ConformError:
        return ConformError(self.label, self.service, self.month, cause, column)


@dataclass(frozen=True)
class ConformReport:
    rows: int
    pickup_min: datetime | None
    pickup_max: datetime | None
    rows_outside_month: int
    columns_missing: list[str]  # canonical columns absent from the file, filled with nulls
    columns_extra: list[str]  # columns the file has that the canonical schema does not: not carried
    columns_cast: dict[str, str]  # column -> "source type -> canonical type", where they differ
    null_counts: dict[str, int] = field(default_factory=dict)  # of the required columns
    layout: str = ""  # the layout of the schema history the file matched
    columns_not_published: dict[str, str] = field(default_factory=dict)  # missing column -> why it may be


def scan_raw(path: Path, fmt: str) -> pl.LazyFrame:
    """The file as published: CSV as all-text columns (typed by the conform), Parquet as typed."""
    if fmt == "csv.gz":
        return pl.scan_csv(path, infer_schema=False, raise_if_empty=True)
    return pl.scan_parquet(path)


def count_raw_rows(path: Path, fmt: str) -> int:
    return scan_raw(path, fmt).select(pl.len()).collect().item()


def open_raw(raw: RawFile) -> tuple[pl.LazyFrame, pl.Schema, LayoutMatch]:
    """The raw file's lazy frame, schema and layout, once it is known to be non-empty with every column
    its service publishes in that month (the schema history)."""
    if raw.path.stat().st_size == 0:
        raise raw.error("the file is empty (0 bytes)")
    try:
        lf = scan_raw(raw.path, raw.fmt)
        source_schema = lf.collect_schema()
    except pl.exceptions.NoDataError as exc:
        raise raw.error(f"the file has no data: {exc}") from exc
    except _POLARS_ERRORS as exc:
        raise raw.error(f"the file cannot be read as {raw.fmt}: {exc}") from exc
    try:
        layout = match_layout(raw.service, raw.month, source_schema.names(), CANONICAL_SCHEMAS[raw.service].names())
    except MissingColumn as exc:
        raise raw.error(exc.cause, exc.column) from None
    return lf, source_schema, layout


def validate_raw(raw: RawFile) -> int:
    """Reads the whole file once and returns its row count; ConformError if it is empty, unreadable,
    lacks a column its service publishes in that month, or has no rows. Run before a download replaces a month's raw file."""
    lf, _, _ = open_raw(raw)
    try:
        rows = lf.select(pl.len()).collect().item()
    except _POLARS_ERRORS as exc:
        raise raw.error(f"the file cannot be read as {raw.fmt}: {exc}") from exc
    if rows == 0:
        raise raw.error("the file has a header but no rows")
    return rows


def _cast(name: str, source: pl.DataType, target: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if source == target:
        return col
    if target == TIMESTAMP:
        if source == pl.String:
            return col.str.strip_chars().str.to_datetime(time_unit="us", strict=True)
        if isinstance(source, pl.Datetime) and source.time_zone is not None:
            col = col.dt.replace_time_zone(None)
        return col.cast(TIMESTAMP, strict=True)
    if target == pl.Int64 and source == pl.String:
        # CSV mirrors write ids as "1" in some months and "1.0" in others.
        return col.str.strip_chars().cast(pl.Float64, strict=True).cast(pl.Int64, strict=True)
    if source == pl.String:
        return col.str.strip_chars().cast(target, strict=True)
    return col.cast(target, strict=True)


def _first_bad_value(lf: pl.LazyFrame, name: str, source: pl.DataType, target: pl.DataType) -> str | None:
    """The first value of a column that does not cast, or None when all cast."""
    try:
        lf.select(_cast(name, source, target)).collect()
        return None
    except _POLARS_ERRORS:
        pass
    relaxed = pl.col(name).cast(target, strict=False) if source != pl.String else None
    if source == pl.String and target == TIMESTAMP:
        relaxed = pl.col(name).str.strip_chars().str.to_datetime(time_unit="us", strict=False)
    elif source == pl.String and target == pl.Int64:
        relaxed = pl.col(name).str.strip_chars().cast(pl.Float64, strict=False)
    elif source == pl.String:
        relaxed = pl.col(name).str.strip_chars().cast(target, strict=False)
    bad = lf.select(pl.col(name), relaxed.alias("_cast")).filter(
        pl.col(name).is_not_null() & pl.col("_cast").is_null()
    ).head(1).collect()
    return repr(bad[name][0]) if bad.height else "(a value out of range)"


DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S%.f", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M")
SAMPLE_LINES = 1_000


def _datetime_format(sample: pl.Series) -> str | None:
    """The first known format all sampled values parse with; None lets polars infer it."""
    values = sample.drop_nulls().str.strip_chars()
    for candidate in DATETIME_FORMATS:
        if values.str.to_datetime(candidate, strict=False).null_count() == 0:
            return candidate
    return None


class ColumnMatch(NamedTuple):
    """A canonical column, its canonical type, and the file's column it is read from (None: absent)."""

    name: str
    target: pl.DataType
    source: str | None


def match_columns(source_names: list[str], canonical: pl.Schema) -> list[ColumnMatch]:
    """Each canonical column with the file's column of the same name, case aside (the first of them)."""
    by_lower: dict[str, str] = {}
    for name in source_names:
        by_lower.setdefault(name.lower(), name)
    return [ColumnMatch(name, target, by_lower.get(name.lower())) for name, target in canonical.items()]


def extra_columns(source_names: list[str], canonical: pl.Schema) -> list[str]:
    """The file's columns that no canonical column matches: reported, not carried."""
    canonical_lower = {name.lower() for name in canonical.names()}
    return [name for name in source_names if name.lower() not in canonical_lower]


def _typed_csv_plan(raw_path: Path, columns: list[ColumnMatch]) -> pl.LazyFrame:
    """The CSV read with numbers parsed by the reader (ids as Float64: mirrors write "1.0" too)."""
    with gzip.open(raw_path, "rt", newline="") as f:
        sample = pl.read_csv(io.StringIO("".join(itertools.islice(f, SAMPLE_LINES + 1))), infer_schema=False)
    overrides, exprs = {}, []
    for name, target, source in columns:
        if source is None:
            exprs.append(pl.lit(None, dtype=target).alias(name))
            continue
        col = pl.col(source)
        if target == TIMESTAMP:
            overrides[source] = pl.String
            fmt = _datetime_format(sample[source]) if source in sample.columns else None
            exprs.append(col.str.to_datetime(format=fmt, time_unit="us", strict=True).alias(name))
        elif target in (pl.Int64, pl.Float64):
            overrides[source] = pl.Float64
            exprs.append(col.cast(target, strict=True).alias(name))
        else:
            overrides[source] = pl.String
            exprs.append(col.alias(name))
    return pl.scan_csv(raw_path, schema_overrides=overrides, infer_schema=False).select(exprs)


@dataclass(frozen=True)
class CanonicalPlan:
    """The expressions that put a file's columns on the canonical schema, and what they change."""

    exprs: list[pl.Expr]
    missing: list[str]  # canonical columns the file lacks: nulls
    cast: dict[str, str]  # column -> "source type -> canonical type", where they differ


def canonical_plan(source_schema: pl.Schema, columns: list[ColumnMatch]) -> CanonicalPlan:
    exprs, missing, cast = [], [], {}
    for name, target, source_name in columns:
        if source_name is None:
            missing.append(name)
            exprs.append(pl.lit(None, dtype=target).alias(name))
            continue
        source = source_schema[source_name]
        if source == pl.Null:  # an all-null Parquet column has no type of its own
            exprs.append(pl.lit(None, dtype=target).alias(name))
            cast[name] = f"Null -> {target}"
            continue
        if source != target:
            cast[name] = f"{source} -> {target}"
        exprs.append(_cast(source_name, source, target).alias(name))
    return CanonicalPlan(exprs, missing, cast)


# Rows a Parquet conform holds at a time.
PARQUET_SLICE_ROWS = 500_000


def write_parquet_in_slices(plan: pl.LazyFrame, out_path: Path, metadata: dict[str, str] | None) -> None:
    """Writes `plan` (over a Parquet file) one slice of rows at a time, each slice a row group.

    polars' streaming Parquet-to-Parquet sink holds more the more rows the file has (measured here:
    520 MiB for 3M yellow rows, 1 GiB for 20M); slices keep it flat (20M yellow rows: 443 MiB, 20M
    fhvhv rows: 671 MiB), as the reader reads only the row groups a slice covers.
    """
    import pyarrow.parquet as pq  # here: the code location imports this module and needs no pyarrow

    rows = plan.select(pl.len()).collect().item()  # from the Parquet footer
    schema = None
    with contextlib.ExitStack() as stack:
        for offset in range(0, max(rows, 1), PARQUET_SLICE_ROWS):
            table = plan.slice(offset, PARQUET_SLICE_ROWS).collect().to_arrow(compat_level=pl.CompatLevel.oldest())
            if schema is None:
                schema = table.schema.with_metadata(metadata or {})
                writer = stack.enter_context(
                    pq.ParquetWriter(out_path, schema, compression="zstd", write_statistics=True))
            writer.write_table(table.cast(schema))


def diagnose(raw: RawFile, lf: pl.LazyFrame, source_schema: pl.Schema, columns: list[ColumnMatch],
             exc: Exception) -> ConformError:
    """The error of a conform that failed: the first column with a value that does not convert, and
    that value; else (a file that cannot even be read has no such column) the reader's error."""
    try:
        for name, target, source_name in columns:
            if source_name is None or source_schema[source_name] in (target, pl.Null):
                continue
            bad = _first_bad_value(lf, source_name, source_schema[source_name], target)
            if bad is not None:
                return raw.error(f"value {bad} does not convert to {target}", name)
    except _POLARS_ERRORS:
        pass
    return raw.error(f"the file cannot be read as {raw.fmt}: {exc}")


def write_canonical(raw: RawFile, lf: pl.LazyFrame, plan: CanonicalPlan, columns: list[ColumnMatch],
                    out_path: Path, parquet_metadata: dict[str, str] | None) -> None:
    """Writes the conformed Parquet. A CSV is read again with the reader parsing numbers itself (much
    faster than casting text); errors are then diagnosed on the all-text plan, which names the
    column and value."""
    if raw.fmt == "csv.gz":
        _typed_csv_plan(raw.path, columns).sink_parquet(
            out_path, compression="zstd", statistics=True, metadata=parquet_metadata)
    else:
        write_parquet_in_slices(lf.select(plan.exprs), out_path, parquet_metadata)


def month_stats(conformed: pl.LazyFrame, service: str, month: Month) -> dict:
    """Rows, pickup min/max, rows outside the month and nulls of the required columns (nulls_<column>)."""
    pickup = PICKUP_COLUMN[service]
    start = datetime(month.year, month.month, 1)
    end = datetime(month.shift(1).year, month.shift(1).month, 1)
    return conformed.select(
        pl.len().alias("rows"),
        pl.col(pickup).min().alias("pickup_min"),
        pl.col(pickup).max().alias("pickup_max"),
        (pl.col(pickup).is_null() | (pl.col(pickup) < start) | (pl.col(pickup) >= end)).sum().alias("outside"),
        *[pl.col(c).null_count().alias(f"nulls_{c}") for c in REQUIRED_COLUMNS[service]],
    ).collect().row(0, named=True)


def conform_file(raw: RawFile, out_path: Path, parquet_metadata: dict[str, str] | None = None) -> ConformReport:
    """Writes the canonical Parquet of the raw file to `out_path` and reports what it changed."""
    canonical = CANONICAL_SCHEMAS[raw.service]
    lf, source_schema, layout = open_raw(raw)
    columns = match_columns(source_schema.names(), canonical)
    plan = canonical_plan(source_schema, columns)
    try:
        write_canonical(raw, lf, plan, columns, out_path, parquet_metadata)
    except _POLARS_ERRORS as exc:
        raise diagnose(raw, lf, source_schema, columns, exc) from exc
    stats = month_stats(pl.scan_parquet(out_path), raw.service, raw.month)
    if stats["rows"] == 0:
        raise raw.error("the file has a header but no rows")
    return ConformReport(
        rows=stats["rows"],
        pickup_min=stats["pickup_min"],
        pickup_max=stats["pickup_max"],
        rows_outside_month=stats["outside"],
        columns_missing=plan.missing,
        layout=layout.layout,
        columns_not_published=layout.not_published,
        columns_extra=extra_columns(source_schema.names(), canonical),
        columns_cast=plan.cast,
        null_counts={c: stats[f"nulls_{c}"] for c in REQUIRED_COLUMNS[raw.service]},
    )


def conform_month(
    raw: RawFile, out_path: Path, landed: tuple[str, int] | None = None
) -> tuple[ConformReport, int, str]:
    """What the conformed asset does before it publishes: hash the raw file, conform it with that
    lineage in the Parquet metadata, and refuse a result whose row count differs from the raw file's.
    `landed` is (sha256, rows) as the landing step counted them: when the file is still those
    bytes, its count is used instead of parsing the file a second time.
    Returns (report, raw rows, raw sha256)."""
    raw_sha256 = sha256_of(raw.path)
    report = conform_file(
        raw, out_path, parquet_metadata={"lakehouse.source_file": raw.label, "lakehouse.source_sha256": raw_sha256},
    )
    raw_rows = landed[1] if landed and landed[0] == raw_sha256 else count_raw_rows(raw.path, raw.fmt)
    if raw_rows != report.rows:  # never publish a month that lost or gained rows
        raise raw.error(f"{report.rows} rows conformed of {raw_rows}")
    return report, raw_rows, raw_sha256
