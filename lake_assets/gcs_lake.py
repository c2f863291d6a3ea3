"""The lake in a Google Cloud Storage bucket: gs://bucket/prefix/{raw,conformed,landing}/...

An object is published by one upload with a generation precondition: the object appears whole or
not at all, the previous generation stays readable until then, and a concurrent writer that
replaced it in between makes the upload fail instead of being overwritten silently.
"""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from google.api_core.exceptions import NotFound, PreconditionFailed
from google.cloud import storage

from lake_assets.lake import Lake, LakeWriteError


class GcsLake(Lake):
    # Plain Parquet partitions for now: delta-rs's GCS access is unproven offline (plain_conformed.py).
    versioned_tables = False

    def __init__(self, url: str, client: storage.Client):
        parsed = urlparse(url)
        self.url = url.rstrip("/")
        self.bucket_name = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.bucket = client.bucket(self.bucket_name)
        self.client = client

    def _name(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _key(self, name: str) -> str:
        return name[len(self.prefix) + 1:] if self.prefix else name

    def uri(self, key: str) -> str:
        return f"gs://{self.bucket_name}/{self._name(key)}"

    def exists(self, key: str) -> bool:
        return self.bucket.blob(self._name(key)).exists()

    def list(self, prefix: str) -> list[str]:
        blobs = self.client.list_blobs(self.bucket_name, prefix=self._name(prefix).rstrip("/") + "/")
        return sorted(self._key(blob.name) for blob in blobs)

    def delete(self, key: str) -> None:
        try:
            self.bucket.blob(self._name(key)).delete()
        except NotFound:
            pass

    def head(self, key: str, size: int) -> bytes:
        blob = self.bucket.get_blob(self._name(key))
        if blob is None:
            raise FileNotFoundError(f"{self.uri(key)} does not exist")
        if not blob.size:  # a range request on an empty object is refused (416)
            return b""
        return blob.download_as_bytes(start=0, end=min(size, blob.size) - 1, if_generation_match=blob.generation)

    def version(self, key: str) -> str:
        blob = self.bucket.get_blob(self._name(key))
        if blob is None:
            raise FileNotFoundError(f"{self.uri(key)} does not exist")
        return str(blob.generation)

    @contextmanager
    def staged(self) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="lakehouse-") as tmp:
            yield Path(tmp) / "staged"

    def current_generation(self, key: str) -> int:
        """The object's generation now; 0 when it does not exist (a precondition of "create only")."""
        current = self.bucket.get_blob(self._name(key))
        return current.generation if current else 0

    def publish(self, staged: Path, key: str) -> None:
        generation = self.current_generation(key)
        try:
            self.bucket.blob(self._name(key)).upload_from_filename(
                str(staged), if_generation_match=generation, checksum="crc32c"
            )
        except PreconditionFailed as exc:
            raise LakeWriteError(
                f"{self.uri(key)} was replaced by another writer during this upload; nothing was overwritten."
            ) from exc

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        blob = self.bucket.get_blob(self._name(key))
        if blob is None:
            raise FileNotFoundError(f"{key} is not in the lake at {self.url}")
        with tempfile.TemporaryDirectory(prefix="lakehouse-") as tmp:
            path = Path(tmp) / Path(key).name
            blob.download_to_filename(str(path), if_generation_match=blob.generation)
            yield path
