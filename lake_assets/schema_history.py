"""The TLC's schema history: the months in which each canonical column is published, per service.

The conform uses it to tell drift from damage. A month that lacks a column its service publishes in
that month is damaged, and is refused before anything of it is written. A month that lacks a column
the TLC had not published yet (or no longer publishes) loads, the column as nulls, and says so.

Some months exist in more than one layout: fhvhv was first released with 7 columns (2019-02..2022-02)
and republished in 2022 with 24 for every month since 2019-02. A file must match one layout whose
months include its month. Where each date comes from: docs/schema-history.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from lake_assets.catalog import Month


@dataclass(frozen=True)
class Published:
    """Months in which the TLC publishes something: first..last (last None: still published)."""

    first: str
    last: str | None = None
    source: str = ""  # where the dates come from, shown in docs/schema-history.md's table

    def covers(self, month: Month) -> bool:
        return Month.parse(self.first) <= month and (self.last is None or month <= Month.parse(self.last))

    def describe(self) -> str:
        return f"from {self.first} to {self.last}" if self.last else f"from {self.first}"


@dataclass(frozen=True)
class Layout:
    """One release of a service's files: the months it covers and the columns it publishes."""

    name: str
    months: Published
    columns: dict[str, Published]

    def required(self, month: Month) -> list[str]:
        return [name for name, published in self.columns.items() if published.covers(month)]


# Where the dates come from (docs/schema-history.md's table names these keys).
PARQUET = "parquet"  # the TLC's official Parquet files: every month in one layout per service
CSV = "csv"  # the TLC's original monthly CSV releases (to 2022-02), layouts by period
TLC = "tlc"  # TLC announcements and data dictionaries (fees introduced on a given date)
CHOICE = "choice"  # a column the project needs in every month: kept required (docs/schema-history.md says why)


def _columns(first: str, source: str, *names: str) -> dict[str, Published]:
    return {name: Published(first, None, source) for name in names}


_TAXI_FEES = {
    "improvement_surcharge": Published("2015-01", None, CSV),
    "congestion_surcharge": Published("2019-01", None, CSV),
}

HISTORY: dict[str, tuple[Layout, ...]] = {
    "yellow": (
        Layout("published", Published("2011-01", None, PARQUET), {
            **_columns("2011-01", PARQUET, "VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime",
                       "passenger_count", "trip_distance", "RatecodeID", "store_and_fwd_flag"),
            **_columns("2011-01", CHOICE, "PULocationID", "DOLocationID"),
            **_columns("2011-01", PARQUET, "payment_type", "fare_amount", "extra", "mta_tax", "tip_amount",
                       "tolls_amount", "total_amount"),
            **_TAXI_FEES,
            "airport_fee": Published("2022-03", None, CSV),
            "cbd_congestion_fee": Published("2025-01", None, TLC),
        }),
    ),
    "green": (
        Layout("published", Published("2013-08", None, PARQUET), {
            **_columns("2013-08", PARQUET, "VendorID", "lpep_pickup_datetime", "lpep_dropoff_datetime",
                       "store_and_fwd_flag", "RatecodeID"),
            **_columns("2013-08", CHOICE, "PULocationID", "DOLocationID"),
            **_columns("2013-08", PARQUET, "passenger_count", "trip_distance", "fare_amount", "extra", "mta_tax",
                       "tip_amount", "tolls_amount", "ehail_fee", "total_amount", "payment_type", "trip_type"),
            **_TAXI_FEES,
            "cbd_congestion_fee": Published("2025-01", None, TLC),
        }),
    ),
    "fhv": (
        Layout("published", Published("2015-01", None, PARQUET), {
            **_columns("2015-01", PARQUET, "dispatching_base_num", "pickup_datetime"),
            "dropOff_datetime": Published("2015-01", None, CHOICE),
            **_columns("2017-01", CSV, "PUlocationID", "DOlocationID"),
            "SR_Flag": Published("2017-07", None, CSV),
            "Affiliated_base_number": Published("2020-01", None, CSV),
        }),
    ),
    "fhvhv": (
        Layout("2022 republication", Published("2019-02", None, PARQUET), {
            **_columns("2019-02", PARQUET, "hvfhs_license_num", "dispatching_base_num", "originating_base_num",
                       "request_datetime", "on_scene_datetime", "pickup_datetime", "dropoff_datetime",
                       "PULocationID", "DOLocationID", "trip_miles", "trip_time", "base_passenger_fare", "tolls",
                       "bcf", "sales_tax", "congestion_surcharge", "airport_fee", "tips", "driver_pay",
                       "shared_request_flag", "shared_match_flag", "access_a_ride_flag", "wav_request_flag",
                       "wav_match_flag"),
            "cbd_congestion_fee": Published("2025-01", None, TLC),
        }),
        Layout("2019 release", Published("2019-02", "2022-02", CSV), {
            name: Published("2019-02", "2022-02", CSV)
            for name in ("hvfhs_license_num", "dispatching_base_num", "pickup_datetime", "dropoff_datetime",
                         "PULocationID", "DOLocationID", "SR_Flag")
        }),
    ),
}


class MissingColumn(ValueError):
    """A file lacks a column its service publishes in the file's month."""

    def __init__(self, column: str, cause: str):
        self.column, self.cause = column, cause
        super().__init__(f"column {column!r}: {cause}")


@dataclass(frozen=True)
class LayoutMatch:
    layout: str  # the layout the file matched
    not_published: dict[str, str]  # canonical columns the file lacks -> why that is not damage


def _absence(layout: Layout, column: str, month: Month) -> str:
    published = layout.columns.get(column)
    if published is None:
        return f"not in the {layout.name} layout (published {layout.months.describe()})"
    if Month.parse(published.first) > month:
        return f"not published yet in {month}: published {published.describe()}"
    return f"no longer published in {month}: published {published.describe()}"


def match_layout(service: str, month: Month, names: list[str], canonical: list[str]) -> LayoutMatch:
    """The layout a file with these column names matches in `month` (names compared case-insensitively),
    and why each canonical column it lacks may be absent; MissingColumn when it matches no layout."""
    present = {name.lower() for name in names}
    candidates = [layout for layout in HISTORY[service] if layout.months.covers(month)]
    if not candidates:
        first = min(Month.parse(layout.months.first) for layout in HISTORY[service])
        raise MissingColumn("(all)", f"no {service} layout covers {month}; {service} files exist from {first}")
    closest: tuple[Layout, list[str]] | None = None
    for layout in candidates:
        missing = [name for name in layout.required(month) if name.lower() not in present]
        if not missing:
            absent = {name: _absence(layout, name, month) for name in canonical if name.lower() not in present}
            return LayoutMatch(layout.name, absent)
        if closest is None or len(missing) < len(closest[1]):
            closest = (layout, missing)
    layout, missing = closest
    column = missing[0]
    cause = (f"missing, yet {service} files carry it {layout.columns[column].describe()}"
             + (f" ({layout.name} layout)" if len(HISTORY[service]) > 1 else ""))
    if len(missing) > 1:
        cause += "; also missing: " + ", ".join(f"{m} ({layout.columns[m].describe()})" for m in missing[1:])
    others = [other for other in candidates if other is not layout]
    if others:
        cause += "; nor does it match the " + ", ".join(
            f"{other.name} layout (lacks {', '.join(n for n in other.required(month) if n.lower() not in present)})"
            for other in others)
    raise MissingColumn(column, f"{cause} (the file has: {', '.join(names)})")


def history_table() -> str:
    """The history as docs/schema-history.md shows it: one row per service, layout and span of months, in Markdown."""
    rows: dict[tuple[str, str, str, str, str], list[str]] = {}
    for service, layouts in HISTORY.items():
        for layout in layouts:
            for column, published in layout.columns.items():
                key = (service, layout.name, published.first, published.last or "", published.source)
                rows.setdefault(key, []).append(f"`{column}`")
    lines = ["| service | layout | columns | first month | last month | source |", "|---|---|---|---|---|---|"]
    lines += [f"| {service} | {layout} | {', '.join(columns)} | {first} | {last or '-'} | {source} |"
              for (service, layout, first, last, source), columns in rows.items()]
    return "\n".join(lines)
