"""Monthly partitions: one definition per service (each has its own first month), keys YYYY-MM."""

from __future__ import annotations

from datetime import datetime

import dagster as dg

from lake_assets.catalog import FIRST_MONTH, SERVICES, Month

PARTITION_FORMAT = "%Y-%m"


def _monthly(first: str, publication_lag_months: int) -> dg.MonthlyPartitionsDefinition:
    start = Month.parse(first)
    # end_offset 0 ends with last month; the TLC publishes a month `lag` months after it began.
    return dg.MonthlyPartitionsDefinition(
        start_date=datetime(start.year, start.month, 1),
        fmt=PARTITION_FORMAT,
        end_offset=1 - publication_lag_months,
    )


def service_partitions(publication_lag_months: int) -> dict[str, dg.MonthlyPartitionsDefinition]:
    return {s: _monthly(FIRST_MONTH[s], publication_lag_months) for s in SERVICES}


def trip_month_partitions(publication_lag_months: int) -> dg.MonthlyPartitionsDefinition:
    """Partitions of fact_trips (green and yellow): from the earlier of the two first months."""
    return _monthly(min(FIRST_MONTH["green"], FIRST_MONTH["yellow"]), publication_lag_months)
