"""The TLC catalog: which services exist, from which month, and how their files are named."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

SERVICES = ("green", "yellow", "fhv", "fhvhv")

# First month each service is in range. Yellow 2009-2010 use entirely different column names, so
# yellow starts in 2011; High Volume FHV (fhvhv: Uber, Lyft, Via, Juno) exists since Local Law 149
# of 2018 took effect on 2019-02-01.
FIRST_MONTH = {"yellow": "2011-01", "green": "2013-08", "fhv": "2015-01", "fhvhv": "2019-02"}

FORMATS = ("parquet", "csv.gz")
FILE_NAME_RE = re.compile(r"^(?P<service>green|yellow|fhvhv|fhv)_tripdata_(?P<year>\d{4})-(?P<month>\d{2})\.(?P<ext>parquet|csv\.gz)$")
MONTH_RE = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{2})$")


class CatalogError(ValueError):
    """An unknown service, a malformed month or a month out of a service's range."""


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, key: str) -> Month:
        match = MONTH_RE.match(key)
        if not match or not 1 <= int(match["month"]) <= 12:
            raise CatalogError(f"month {key!r} is not a month in the form YYYY-MM (01..12).")
        return cls(int(match["year"]), int(match["month"]))

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def shift(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def __str__(self) -> str:
        return self.key


def newest_expected_month(now: datetime, publication_lag_months: int) -> Month:
    """The newest month the TLC should have published by `now`: the current month minus the lag."""
    return Month(now.year, now.month).shift(-publication_lag_months)


def check_service(service: str) -> str:
    if service not in SERVICES:
        raise CatalogError(f"unknown service {service!r}; known services: {', '.join(SERVICES)}.")
    return service


def check_month(service: str, month: Month, last: Month | None = None) -> Month:
    """The month, if the service has it: from its first month to `last` (the newest expected one,
    when given: the service's partitions end there)."""
    first = Month.parse(FIRST_MONTH[check_service(service)])
    if month < first or (last is not None and month > last):
        raise CatalogError(
            f"{service} month {month} is out of range: {service} has months from {first}"
            + (f" to {last} (the newest the TLC should have published by now)." if last else ".")
        )
    return month


def check_partition(service: str, month: Month, publication_lag_months: int, now: datetime | None = None) -> Month:
    """`check_month` against the service's partitions now: its first month to the newest expected one
    (in UTC, as the partitions are)."""
    newest = newest_expected_month(now or datetime.now(UTC), publication_lag_months)
    return check_month(service, month, last=newest)


def file_name(service: str, month: Month, ext: str) -> str:
    """The file name as the TLC and its mirrors publish it: green_tripdata_2020-10.csv.gz."""
    return f"{service}_tripdata_{month.key}.{ext}"


def parse_file_name(name: str) -> tuple[str, Month, str]:
    """The inverse of `file_name`: (service, month, ext), or CatalogError naming what is wrong."""
    match = FILE_NAME_RE.match(name)
    if not match:
        raise CatalogError(
            f"file name {name!r} is not of the form {{service}}_tripdata_YYYY-MM.{{parquet|csv.gz}} "
            f"with service one of {', '.join(SERVICES)}."
        )
    return match["service"], Month.parse(f"{match['year']}-{match['month']}"), match["ext"]


def format_of(name: str) -> str:
    """The file format a name implies: 'parquet' or 'csv.gz'."""
    for ext in FORMATS:
        if name.endswith("." + ext):
            return ext
    raise CatalogError(f"{name!r} is neither a .parquet nor a .csv.gz file.")


def source_url_candidates(template: str, service: str, month: Month) -> list[str]:
    """The URLs a month may be published at. A template ending in `{ext}` tries each format."""
    fields = {"service": service, "year": f"{month.year:04d}", "month": f"{month.month:02d}"}
    if "{ext}" in template:
        return [template.format(ext=ext, **fields) for ext in FORMATS]
    return [template.format(**fields)]
