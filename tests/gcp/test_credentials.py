"""A service-account key given by GOOGLE_APPLICATION_CREDENTIALS is used, and never shown.

The key is a real RSA key made for the test; its token_uri is an OAuth token server on 127.0.0.1 that
receives the signed assertion (proving the key was loaded and used) and refuses it, so the BigQuery
client's and dbt-bigquery's real error paths run. Nothing of the key may reach the run's logs, its
metadata, the resources' config or the error text."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lake_assets.resources import build_resources
from lake_assets.settings import load_settings
from tests.faults.test_secrets import everything_a_run_left
from tests.helpers import load_defs, materialize

pytestmark = pytest.mark.gcp

KEY_ID = "key-id-0f9e8d7c6b5a-do-not-leak"


class TokenServer(ThreadingHTTPServer):
    assertions: list[str]


class RefusingTokenHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.server.assertions.append(body)
        payload = json.dumps({"error": "invalid_grant", "error_description": "refused by the test"}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def token_server():
    server = TokenServer(("127.0.0.1", 0), RefusingTokenHandler)
    server.assertions = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture
def service_account_key(tmp_path, token_server) -> tuple:
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    key = {"type": "service_account", "project_id": "taxi-lakehouse-test", "private_key_id": KEY_ID,
           "private_key": pem, "client_email": "lakehouse@taxi-lakehouse-test.iam.gserviceaccount.com",
           "client_id": "1234567890", "token_uri": f"http://127.0.0.1:{token_server.server_port}/token"}
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(key))
    body = "".join(pem.strip().splitlines()[1:-1])  # the key material, without its BEGIN/END lines
    return path, [KEY_ID, body[:40], body[-40:]]


def test_a_service_account_key_is_used_but_never_shown(gcp_lakehouse, green_mirror, service_account_key, token_server,
                                                        monkeypatch, capfd):
    path, secrets = service_account_key
    gcp_lakehouse(green_mirror)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    monkeypatch.setenv("DBT_TARGET", "bigquery")  # the real-project target: method service-account
    with dg.instance_for_test() as instance:
        defs = load_defs()
        landed = materialize(defs, ["raw_green_tripdata", "green_tripdata"], partition_key="2023-12",
                             instance=instance)  # the lake: the GCS emulator, which wants no key
        registered = materialize(defs, ["ext_green_tripdata"], instance=instance, raise_on_error=False)
        modelled = materialize(defs, ["stg_green_tripdata"], partition_key="2023-12", instance=instance,
                               raise_on_error=False)
        assert landed.success and not registered.success and not modelled.success
        assert len(token_server.assertions) >= 2  # the BigQuery client and dbt both signed with the key
        assert all("grant_type=urn" in a for a in token_server.assertions)

        left = "\n".join(everything_a_run_left(instance, r) for r in (landed, registered, modelled))
        assert "invalid_grant" in left  # the failures are reported, with the token server's answer
        printed = capfd.readouterr()
        for secret in secrets:
            assert secret not in left
            assert secret not in printed.out + printed.err
    assert not any(s in repr(build_resources(load_settings())) for s in secrets)
