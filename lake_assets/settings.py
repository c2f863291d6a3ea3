"""Settings from environment variables, validated once at start-up.

Every setting has a default that runs the embedded target (local lake + DuckDB) on the sample
mirror shipped in the repo. Relative paths are resolved against the project root, so the Dagster
code server, `make run` and the `dbt` CLI (run from `dbt_project/`) all see the same files.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

# The folder holding dbt_project/ and data/: the checkout this package is in, or, when the package is
# installed (not editable, as in the code image), the folder LAKEHOUSE_PROJECT_ROOT names.
PROJECT_ROOT = Path(os.environ.get("LAKEHOUSE_PROJECT_ROOT") or Path(__file__).resolve().parent.parent)
SAMPLE_MIRROR_DIR = PROJECT_ROOT / "data" / "tlc_sample"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# dbt is installed beside this interpreter; its bin folder is on PATH only in an activated venv.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")

# `{ext}` lets one mirror hold months in either published format (see catalog.source_url_candidates).
SOURCE_PRESETS = {
    "sample": SAMPLE_MIRROR_DIR.as_uri() + "/{service}/{service}_tripdata_{year}-{month}.{ext}",
    "official": "https://d37ci6vzurychx.cloudfront.net/trip-data/{service}_tripdata_{year}-{month}.parquet",
    "community": (
        "https://github.com/DataTalksClub/nyc-tlc-data/releases/download/"
        "{service}/{service}_tripdata_{year}-{month}.csv.gz"
    ),
}
TARGETS = ("local", "gcp")
# BigQuery project ids ("local": the emulator's), dataset names and locations: checked here and again
# where they are put into SQL (bigquery_warehouse).
GCP_PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$|^local$")
BQ_DATASET_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")
_BQ_LOCATION_RE = re.compile(r"^[A-Za-z]+(-[a-z]+[0-9]*)?$")
# DuckDB memory sizes, as its memory_limit setting takes them: 1GB, 1500MB, 2GiB.
_MEMORY_SIZE_RE = re.compile(r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


# Months one dbt invocation of a backfill or of `make run` builds (measured:
# docs/performance.md, "Batches and a dbt run's fixed cost").
DEFAULT_DBT_MONTHS_PER_RUN = 12
DEFAULT_AUTOMATION_INTERVAL_SECONDS = 30


class SettingsError(ValueError):
    """A setting is invalid; the message names the variable and what to fix."""


@dataclass(frozen=True)
class DuckDBLimits:
    """What the local warehouse may use: DuckDB takes ~80% of RAM and every core unless told, and
    spills to disk only where it is told it may. Every DuckDB connection of the project (dbt's too)
    gets these."""

    memory_limit: str
    threads: int
    temp_directory: Path

    def as_duckdb_config(self) -> dict[str, str | int]:
        return {"memory_limit": self.memory_limit, "threads": self.threads, "temp_directory": str(self.temp_directory)}

    def as_dbt_env(self) -> dict[str, str]:
        """The variables dbt_project/profiles.yml reads for the same limits."""
        return {"DUCKDB_MEMORY_LIMIT": self.memory_limit, "DUCKDB_THREADS": str(self.threads),
                "DUCKDB_TEMP_DIRECTORY": str(self.temp_directory)}


@dataclass(frozen=True)
class Settings:
    target: str
    lake_url: str
    duckdb_path: Path
    duckdb_limits: DuckDBLimits
    tlc_source_url: str
    publication_lag_months: int
    download_retries: int
    download_retry_delay_seconds: float
    download_timeout_seconds: float
    run_retries: int
    sensor_interval_seconds: int
    sensor_first_month: str | None
    gcp_project: str | None
    bq_dataset: str
    bq_location: str
    dbt_target: str
    bigquery_emulator_url: str | None = None
    bigquery_emulator_gcs_root: str | None = None
    duckdb_lock_timeout_seconds: float = 900.0
    duckdb_lock_retry_delay_seconds: float = 1.0
    dbt_months_per_run: int = DEFAULT_DBT_MONTHS_PER_RUN
    # BigQuery's cap on the bytes one query may bill (None: no cap), for dbt and the project's client.
    bq_maximum_bytes_billed: int | None = None
    # How often the declarative-automation and freshness sensors evaluate (the daemon's ticks).
    automation_interval_seconds: int = DEFAULT_AUTOMATION_INTERVAL_SECONDS
    # How long a conformed snapshot that is no longer current stays readable before vacuum may delete
    # its files (hours), and the share of a month's trips a republication may remove before its check warns.
    conformed_retention_hours: int = 168
    republication_max_removed_share: float = 0.05

    @property
    def is_local(self) -> bool:
        return self.target == "local"

    def dbt_profile_env(self) -> dict[str, str]:
        """The variables dbt_project/profiles.yml reads for this warehouse: its path, DuckDB's limits and
        BigQuery's cap on bytes billed (when set)."""
        cap = self.bq_maximum_bytes_billed
        return {"DUCKDB_PATH": str(self.duckdb_path), **self.duckdb_limits.as_dbt_env(),
                **({} if cap is None else {"BQ_MAXIMUM_BYTES_BILLED": str(cap)})}


def redact_url(url: str) -> str:
    """The URL with any user and password replaced by ***."""
    parsed = urlparse(url)
    if not (parsed.username or parsed.password):
        return url
    netloc = "***@" + (parsed.hostname or "") + (f":{parsed.port}" if parsed.port else "")
    return urlunparse(parsed._replace(netloc=netloc))


def _resolve_path(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def _int_setting(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer; set it to a whole number >= {minimum}.")
    if value < minimum:
        raise SettingsError(f"{name}={value} is below {minimum}; set it to a whole number >= {minimum}.")
    return value


def _optional_positive_int_setting(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not re.match(r"^[0-9]+$", raw) or int(raw) < 1:
        raise SettingsError(f"{name}={raw!r} is not a positive whole number of bytes; set one, or unset it: no cap.")
    return int(raw)


def _float_setting(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number; set it to a number of seconds > 0.")
    if not value > 0:
        raise SettingsError(f"{name}={value} must be > 0 seconds.")
    return value


def _share_setting(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number; set it to a share between 0 and 1, such as 0.05.")
    if not 0 <= value <= 1:
        raise SettingsError(f"{name}={value} is not between 0 and 1; set it to a share such as 0.05 (5%).")
    return value


def _month_setting(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name)
    if raw is None:
        return None
    if not re.match(r"^\d{4}-(0[1-9]|1[0-2])$", raw):
        raise SettingsError(f"{name}={raw!r} is not a month YYYY-MM.")
    return raw


def _source_url(env: Mapping[str, str]) -> str:
    url = env.get("TLC_SOURCE_URL", "sample").strip()
    url = SOURCE_PRESETS.get(url, url)
    raw = redact_url(url)  # a URL may carry credentials: messages show it without them
    missing = [p for p in ("{service}", "{year}", "{month}") if p not in url]
    if missing:
        raise SettingsError(
            f"TLC_SOURCE_URL={raw!r} lacks the placeholder(s) {', '.join(missing)}; give a URL template "
            "such as file:///data/{service}_tripdata_{year}-{month}.parquet, or a preset: "
            + ", ".join(SOURCE_PRESETS)
        )
    scheme = urlparse(url).scheme
    if scheme not in ("file", "http", "https"):
        raise SettingsError(f"TLC_SOURCE_URL={raw!r} must be a file://, http:// or https:// URL template.")
    if not url.endswith((".parquet", ".csv.gz", ".{ext}")):
        raise SettingsError(
            f"TLC_SOURCE_URL={raw!r} must name .parquet or .csv.gz files (or end in .{{ext}} for both)."
        )
    return url


def _lake_url(env: Mapping[str, str], target: str) -> str:
    raw = env.get("LAKE_URL", ".lakehouse/lake").strip()
    scheme = urlparse(raw).scheme
    if target == "gcp":
        if scheme != "gs" or not urlparse(raw).netloc:
            raise SettingsError(f"LAKE_URL={raw!r}: with LAKEHOUSE_TARGET=gcp it must be gs://bucket[/prefix].")
        return raw.rstrip("/")
    if scheme and scheme != "file":
        raise SettingsError(f"LAKE_URL={raw!r}: with LAKEHOUSE_TARGET=local it must be a folder or file:// URL.")
    folder = _resolve_path(urlparse(raw).path if scheme else raw)
    _check_writable_folder("LAKE_URL", raw, folder)
    return str(folder)


def _check_writable_folder(name: str, raw: str, folder: Path) -> None:
    """The folder, or the nearest part of it that exists, must be a folder this process can write."""
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise SettingsError(
            f"{name}={raw!r}: cannot create or write the folder {folder} ({existing} is not a writable "
            "folder); point it at a folder you can write."
        )


def _duckdb_path(env: Mapping[str, str]) -> Path:
    raw = env.get("DUCKDB_PATH", ".lakehouse/warehouse.duckdb")
    path = _resolve_path(raw)
    _check_writable_folder("DUCKDB_PATH", raw, path.parent)
    return path


def _duckdb_limits(env: Mapping[str, str]) -> DuckDBLimits:
    memory_limit = env.get("DUCKDB_MEMORY_LIMIT", "1GB").strip()
    if not _MEMORY_SIZE_RE.match(memory_limit):
        raise SettingsError(
            f"DUCKDB_MEMORY_LIMIT={memory_limit!r} is not a memory size; give a number and a unit, such as 1GB or 1500MB."
        )
    raw_temp = env.get("DUCKDB_TEMP_DIRECTORY", ".lakehouse/duckdb_tmp")
    temp_directory = _resolve_path(raw_temp)
    _check_writable_folder("DUCKDB_TEMP_DIRECTORY", raw_temp, temp_directory)
    return DuckDBLimits(
        memory_limit=memory_limit,
        threads=_int_setting(env, "DUCKDB_THREADS", os.cpu_count() or 1, 1),
        temp_directory=temp_directory,
    )


def _bigquery_emulator(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """BIGQUERY_EMULATOR_URL points the gcp target's BigQuery at bqemulator; BQEMU_GCS_LOCAL_ROOT is
    the folder where that emulator finds gs:// objects (the GCS emulator's storage folder)."""
    url = env.get("BIGQUERY_EMULATOR_URL") or None
    if url is None:
        return None, None
    if not re.match(r"^https?://[A-Za-z0-9.-]+(:\d+)?/?$", url):
        raise SettingsError(f"BIGQUERY_EMULATOR_URL={url!r} is not an http://host:port address.")
    root = env.get("BQEMU_GCS_LOCAL_ROOT") or None
    if root is None or not Path(root).is_absolute() or not Path(root).is_dir():
        raise SettingsError(
            f"BIGQUERY_EMULATOR_URL is set, so BQEMU_GCS_LOCAL_ROOT must name the existing folder where the "
            f"emulator finds gs:// objects; it is {root!r}."
        )
    return url.rstrip("/"), root


def _dbt_target(env: Mapping[str, str], target: str, emulator_url: str | None) -> str:
    """The dbt_project/profiles.yml target Dagster runs dbt with: it follows LAKEHOUSE_TARGET (DBT_TARGET
    picks another BigQuery target for the gcp target)."""
    if target == "local":
        return "local"
    if emulator_url:
        return "emulator"
    return env.get("DBT_TARGET", "bigquery")


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    target = env.get("LAKEHOUSE_TARGET", "local").strip()
    if target not in TARGETS:
        raise SettingsError(f"LAKEHOUSE_TARGET={target!r} is not one of {', '.join(TARGETS)}.")
    gcp_project = env.get("GCP_PROJECT") or None
    if target == "gcp" and not gcp_project:
        raise SettingsError("LAKEHOUSE_TARGET=gcp needs GCP_PROJECT (the BigQuery project id).")
    if gcp_project and not GCP_PROJECT_RE.match(gcp_project):
        raise SettingsError(f"GCP_PROJECT={gcp_project!r} is not a valid Google Cloud project id.")
    bq_dataset = env.get("BQ_DATASET", "lake")
    if not BQ_DATASET_RE.match(bq_dataset):
        raise SettingsError(
            f"BQ_DATASET={bq_dataset!r} is not a valid BigQuery dataset name (letters, digits, underscores)."
        )
    bq_location = env.get("BQ_LOCATION", "US")
    if not _BQ_LOCATION_RE.match(bq_location):
        raise SettingsError(f"BQ_LOCATION={bq_location!r} is not a BigQuery location such as US or europe-west1.")
    emulator_url, emulator_gcs_root = _bigquery_emulator(env)
    # Only checked: `make instance` sets the tlc_download pool's limit from it, and a limit of 0 would
    # hold every download forever.
    _int_setting(env, "TLC_DOWNLOAD_CONCURRENCY", 2, 1)
    return Settings(
        target=target,
        lake_url=_lake_url(env, target),
        duckdb_path=_duckdb_path(env),
        duckdb_limits=_duckdb_limits(env),
        tlc_source_url=_source_url(env),
        publication_lag_months=_int_setting(env, "TLC_PUBLICATION_LAG_MONTHS", 2, 0),
        download_retries=_int_setting(env, "TLC_DOWNLOAD_RETRIES", 3, 0),
        download_retry_delay_seconds=_float_setting(env, "TLC_DOWNLOAD_RETRY_DELAY_SECONDS", 2.0),
        download_timeout_seconds=_float_setting(env, "TLC_DOWNLOAD_TIMEOUT_SECONDS", 60.0),
        run_retries=_int_setting(env, "TLC_RUN_RETRIES", 2, 0),
        sensor_interval_seconds=_int_setting(env, "TLC_SENSOR_INTERVAL_SECONDS", 3600, 5),
        sensor_first_month=_month_setting(env, "TLC_SENSOR_FIRST_MONTH"),
        gcp_project=gcp_project,
        bq_dataset=bq_dataset,
        bq_location=bq_location,
        dbt_target=_dbt_target(env, target, emulator_url),
        bigquery_emulator_url=emulator_url,
        bigquery_emulator_gcs_root=emulator_gcs_root,
        duckdb_lock_timeout_seconds=_float_setting(env, "DUCKDB_LOCK_TIMEOUT_SECONDS", 900.0),
        duckdb_lock_retry_delay_seconds=_float_setting(env, "DUCKDB_LOCK_RETRY_DELAY_SECONDS", 1.0),
        dbt_months_per_run=_int_setting(env, "DBT_MONTHS_PER_RUN", DEFAULT_DBT_MONTHS_PER_RUN, 1),
        bq_maximum_bytes_billed=_optional_positive_int_setting(env, "BQ_MAXIMUM_BYTES_BILLED"),
        automation_interval_seconds=_int_setting(env, "AUTOMATION_INTERVAL_SECONDS",
                                                 DEFAULT_AUTOMATION_INTERVAL_SECONDS, 5),
        conformed_retention_hours=_int_setting(env, "CONFORMED_RETENTION_HOURS", 168, 0),
        republication_max_removed_share=_share_setting(env, "REPUBLICATION_MAX_REMOVED_SHARE", 0.05),
    )
