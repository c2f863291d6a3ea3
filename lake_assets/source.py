"""The TLC source: where a month's file is published, and fetching it byte for byte.

A source is a URL template (settings.TLC_SOURCE_URL). `file://` mirrors are read from disk and can
be listed; `http(s)://` sources are streamed with httpx and probed with HEAD. A URL may carry
credentials (`https://user:token@host/...`): they are used, and never shown (settings.redact_url).
"""

from __future__ import annotations

import glob
import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx

from lake_assets.catalog import FILE_NAME_RE, Month, source_url_candidates
from lake_assets.settings import redact_url

CHUNK_BYTES = 1 << 20


class MonthNotPublished(LookupError):
    """The source has no file for this month (HTTP 404 or no such file in a mirror)."""


class SourceError(RuntimeError):
    """The source answered, but not with a whole file (server error, cut-off body, timeout)."""


@dataclass(frozen=True)
class FetchedFile:
    url: str  # redacted
    file_name: str
    size_bytes: int
    sha256: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class PublishedFile:
    """A month's file as the source lists it: `version` changes when the file does (ETag, or size
    and Last-Modified; size and mtime for a file:// mirror, whose `local_path` can be hashed)."""

    url: str
    file_name: str
    version: str
    local_path: Path | None


@dataclass(frozen=True)
class TlcSource:
    url_template: str
    timeout_seconds: float = 60.0

    def candidates(self, service: str, month: Month) -> list[str]:
        return source_url_candidates(self.url_template, service, month)

    def fetch(self, service: str, month: Month, dest: Path) -> FetchedFile:
        """Streams the month's file into `dest`, hashing it on the way; MonthNotPublished if absent."""
        for url in self.candidates(service, month):
            try:
                return _fetch_url(url, dest, self.timeout_seconds)
            except MonthNotPublished:
                continue
            except SourceError as exc:
                raise SourceError(f"{service} {month}: {exc}") from exc
        tried = ", ".join(redact_url(u) for u in self.candidates(service, month))
        raise MonthNotPublished(f"{service} {month} is not published at the source (tried {tried}).")

    def head(self, service: str, month: Month) -> PublishedFile | None:
        """What the source publishes for the month without fetching it, or None when it is not (yet)."""
        for url in self.candidates(service, month):
            parsed = urlparse(url)
            if parsed.scheme == "file":
                path = Path(unquote(parsed.path))
                if path.is_file():
                    stat = path.stat()
                    return PublishedFile(url, Path(path).name, f"{stat.st_size}-{stat.st_mtime_ns}", path)
                continue
            try:
                response = httpx.head(url, follow_redirects=True, timeout=self.timeout_seconds)
            except httpx.HTTPError as exc:
                raise SourceError(f"HEAD {redact_url(url)} failed: {type(exc).__name__}") from None
            if response.status_code == 200:
                headers = response.headers
                version = headers.get("etag") or f"{headers.get('content-length')}-{headers.get('last-modified')}"
                return PublishedFile(url, Path(unquote(parsed.path)).name, version, None)
            if response.status_code not in (403, 404):
                raise SourceError(f"HEAD {redact_url(url)} answered HTTP {response.status_code}.")
        return None

    def list_months(self, service: str) -> list[Month]:
        """Months a file:// mirror holds for a service (http sources are probed with `head`)."""
        template = self.url_template
        if urlparse(template).scheme != "file":
            raise ValueError("only file:// sources can be listed; probe http sources with head().")
        pattern = unquote(urlparse(template).path).format(service=service, year="*", month="*", ext="*")
        months = set()
        for path in glob.glob(pattern):
            match = FILE_NAME_RE.match(Path(path).name)
            if match and match["service"] == service:
                months.add(Month(int(match["year"]), int(match["month"])))
        return sorted(months)


def _fetch_url(url: str, dest: Path, timeout_seconds: float) -> FetchedFile:
    parsed = urlparse(url)
    shown = redact_url(url)
    file_name = Path(unquote(parsed.path)).name
    digest = hashlib.sha256()
    size = 0
    if parsed.scheme == "file":
        src = Path(unquote(parsed.path))
        if not src.is_file():
            raise MonthNotPublished(shown)
        with open(src, "rb") as fin, open(dest, "wb") as fout:
            while chunk := fin.read(CHUNK_BYTES):
                digest.update(chunk)
                fout.write(chunk)
                size += len(chunk)
        return FetchedFile(url=shown, file_name=file_name, size_bytes=size, sha256=digest.hexdigest())

    timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 10.0))
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=timeout) as response:
            if response.status_code in (403, 404):  # S3/CloudFront answer 403 for a missing key
                raise MonthNotPublished(shown)
            if response.status_code != 200:
                raise SourceError(f"GET {shown} answered HTTP {response.status_code}.")
            expected = response.headers.get("content-length")
            with open(dest, "wb") as fout:
                for chunk in response.iter_raw(CHUNK_BYTES):
                    digest.update(chunk)
                    fout.write(chunk)
                    size += len(chunk)
            if expected is not None and int(expected) != size:
                raise SourceError(f"GET {shown} ended after {size} of {expected} bytes (body cut off).")
            return FetchedFile(
                url=shown,
                file_name=file_name,  # the requested name: a redirect target may be named otherwise
                size_bytes=size,
                sha256=digest.hexdigest(),
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
            )
    except httpx.TimeoutException as exc:
        raise SourceError(f"GET {shown} timed out after {timeout_seconds:g} s ({type(exc).__name__}).") from None
    except httpx.TransportError as exc:
        # httpx's own message can quote the URL; name the failure by its type only.
        cut = " (body cut off)" if isinstance(exc, httpx.RemoteProtocolError) else ""
        raise SourceError(f"GET {shown} failed after {size} bytes: {type(exc).__name__}{cut}.") from None
