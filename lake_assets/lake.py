"""The data lake: a local folder by default, a GCS bucket in production.

Every write goes to a temporary name and is published in one step (a rename; on GCS one upload with a
generation precondition): readers see the previous complete object or the new complete object, never
a part of one, and a failed run leaves the previous one in place
(docs/operations.md, "Guarantees, and what is not guaranteed").
"""

from __future__ import annotations

import os
import shutil
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


# Object keys: where a file sits in the lake (not asset keys, which name assets: see asset_keys.py).
def raw_object_key(service: str, file_name: str) -> str:
    return f"raw/{service}/{file_name}"


def raw_versions_prefix(service: str, month: str) -> str:
    """Where every distinct file the source published for a month is kept (month: YYYY-MM)."""
    return f"raw_versions/{service}/{month}"


def raw_version_key(service: str, month: str, sha256: str, ext: str) -> str:
    """A raw version, content-addressed: the same bytes always have the same key, so landing them again adds nothing."""
    return f"{raw_versions_prefix(service, month)}/{sha256}.{ext}"


def conformed_prefix(service: str) -> str:
    return f"conformed/{service}"


def conformed_object_key(service: str, year: int, month: int) -> str:
    return f"{conformed_prefix(service)}/year={year:04d}/month={month:02d}/part-0.parquet"


LANDING_PREFIX = "landing"


class LakeWriteError(RuntimeError):
    """A publish did not happen; the object that was there before is unchanged."""


class Lake(ABC):
    """Objects under keys such as raw/green/green_tripdata_2020-10.csv.gz."""

    url: str
    # Whether the conformed layer is a versioned Delta table here (lake_assets/conformed_table.py), or plain
    # Parquet partitions, one version per month (lake_assets/plain_conformed.py).
    versioned_tables: bool = True

    @abstractmethod
    def uri(self, key: str) -> str:
        """Where a reader (DuckDB, BigQuery, polars) finds the object or prefix."""

    def delta_storage_options(self) -> dict[str, str]:
        """What delta-rs needs to reach the lake's tables (lake_assets/conformed_table.py); none for a folder."""
        return {}

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Keys of the published objects under a prefix, sorted."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def head(self, key: str, size: int) -> bytes:
        """The object's first `size` bytes (fewer if it is shorter): enough to tell its format."""

    @abstractmethod
    def version(self, key: str) -> str:
        """Changes whenever the object is replaced (size and mtime; a GCS generation)."""

    @abstractmethod
    @contextmanager
    def staged(self) -> Iterator[Path]:
        """Yields a local temporary path for an object being written; removes it when the block ends."""

    @abstractmethod
    def publish(self, staged: Path, key: str) -> None:
        """Makes a staged file the object `key`, in one step; the previous object stays until then."""

    @contextmanager
    def writer(self, key: str) -> Iterator[Path]:
        """Yields a staged path; publishes it under `key` when the block ends without error."""
        with self.staged() as tmp:
            yield tmp
            self.publish(tmp, key)

    @abstractmethod
    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        """Yields a local path holding the object's bytes, for the duration of the block."""

    def copy(self, src: str, dst: str) -> None:
        """Publishes a copy of `src` under `dst` (staged, then one publish: `dst` is never partial)."""
        with self.local_copy(src) as path, self.writer(dst) as tmp:
            shutil.copyfile(path, tmp)

    def move(self, src: str, dst: str) -> None:
        """Publishes `src` under `dst`, then removes `src`."""
        self.copy(src, dst)
        self.delete(src)


class LocalLake(Lake):
    """A folder. Temporary files live in `.tmp/` inside it, so the final rename stays on one filesystem."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / key

    def uri(self, key: str) -> str:
        return str(self._path(key))

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if not base.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file())

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def head(self, key: str, size: int) -> bytes:
        with open(self._path(key), "rb") as f:
            return f.read(size)

    def version(self, key: str) -> str:
        stat = self._path(key).stat()
        return f"{stat.st_size}-{stat.st_mtime_ns}"

    @contextmanager
    def staged(self) -> Iterator[Path]:
        tmp_dir = self.root / ".tmp"
        try:
            tmp_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LakeWriteError(f"cannot write to the lake at {self.root}: {exc.strerror}") from exc
        tmp = tmp_dir / uuid.uuid4().hex
        try:
            yield tmp
        finally:
            tmp.unlink(missing_ok=True)

    def publish(self, staged: Path, key: str) -> None:
        final = self._path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        with open(staged, "rb") as f:
            os.fsync(f.fileno())
        os.replace(staged, final)  # atomic on POSIX: the old file stays readable until this instant

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"{key} is not in the lake at {self.root}")
        yield path

    def move(self, src: str, dst: str) -> None:
        final = self._path(dst)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path(src), final)
