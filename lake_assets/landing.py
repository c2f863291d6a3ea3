"""Drops in the lake's landing/ folder: which can be taken in, and setting aside those that cannot.

A drop is a file directly under landing/, named {service}_tripdata_YYYY-MM.{parquet|csv.gz}, of a
month the service has a partition for, whose first bytes are those of its format. Anything else (a
folder too) is moved to landing/rejected/ with its reason in <name>.reason.txt beside it: never
deleted, and reported once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lake_assets.catalog import CatalogError, Month, check_partition, parse_file_name
from lake_assets.lake import LANDING_PREFIX, Lake

REJECTED_PREFIX = f"{LANDING_PREFIX}/rejected"
REASON_SUFFIX = ".reason.txt"
# What each format begins with: a drop that does not is refused before any run is requested.
MAGIC = {"parquet": b"PAR1", "csv.gz": b"\x1f\x8b"}


class DropRejected(ValueError):
    """A drop that cannot be taken in; the message names it and what is wrong."""


@dataclass(frozen=True)
class Drop:
    name: str  # the file's (or the folder's) name under landing/
    keys: tuple[str, ...]  # the one file's key, or the keys of every object in the folder

    @property
    def key(self) -> str:
        return f"{LANDING_PREFIX}/{self.name}"

    @property
    def is_folder(self) -> bool:
        return self.keys != (self.key,)


def landing_drops(lake: Lake) -> list[Drop]:
    """What lies in landing/ outside rejected/: each file, and each folder with all its objects."""
    keys_by_name: dict[str, list[str]] = {}
    for key in lake.list(LANDING_PREFIX):
        if not key.startswith(REJECTED_PREFIX + "/"):
            keys_by_name.setdefault(key[len(LANDING_PREFIX) + 1:].split("/")[0], []).append(key)
    return [Drop(name, tuple(keys)) for name, keys in sorted(keys_by_name.items())]


def check_drop(lake: Lake, drop: Drop, publication_lag_months: int, now: datetime | None = None) -> tuple[str, Month]:
    """(service, month) of a drop that can be taken in; DropRejected naming what is wrong otherwise."""
    if drop.is_folder:
        raise DropRejected(f"{drop.key}/ is a folder; drops are files directly under {LANDING_PREFIX}/.")
    try:
        service, month, ext = parse_file_name(drop.name)
        check_partition(service, month, publication_lag_months, now)
    except CatalogError as exc:
        hint = " Service names are lower-case." if drop.name != drop.name.lower() else ""
        raise DropRejected(f"{drop.key}: {exc}{hint}") from exc
    head = lake.head(drop.key, 16)
    if not head:
        raise DropRejected(f"{drop.key} is empty.")
    if not head.startswith(MAGIC[ext]):
        raise DropRejected(f"{drop.key} is not a {ext} file: it begins with {head!r}, not {MAGIC[ext]!r}.")
    return service, month


def reject(lake: Lake, drop: Drop, reason: str) -> str:
    """Moves a drop to landing/rejected/ with its reason beside it, and returns where it went. A name
    rejected before gets a numbered suffix: an earlier rejected drop is never overwritten."""
    target, n = f"{REJECTED_PREFIX}/{drop.name}", 1
    while lake.exists(target) or lake.exists(target + REASON_SUFFIX):
        target, n = f"{REJECTED_PREFIX}/{drop.name}.{n}", n + 1
    # The reason first: a drop is in rejected/ only with its reason (a failed move leaves it in landing/).
    with lake.writer(target + REASON_SUFFIX) as tmp:
        tmp.write_text(reason + "\n", encoding="utf-8")
    for key in drop.keys:
        lake.move(key, target + key[len(drop.key):])
    return target
