"""A TLC source on 127.0.0.1 that fails on demand, serving the real files from ../shared."""

import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

FAST_RETRIES = {
    "TLC_DOWNLOAD_RETRIES": "2",
    "TLC_DOWNLOAD_RETRY_DELAY_SECONDS": "0.2",
    "TLC_DOWNLOAD_TIMEOUT_SECONDS": "1.5",
}


class FaultySource(ThreadingHTTPServer):
    """Serves <root>/<service>/<file>. `faults[path]` is a list of behaviours, one used per GET
    (the last one repeats): ok, 404, 500, truncate (Content-Length larger than the body), slow
    (a body that stalls), redirect:<path>."""

    daemon_threads = True

    def __init__(self, root: Path):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.faults: dict[str, list[str]] = {}
        self.requests: dict[str, list[str]] = defaultdict(list)  # path -> methods seen
        self.basic_auth: str | None = None  # the expected Authorization header, when set

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def gets(self, path: str) -> int:
        return self.requests[path].count("GET")

    def next_fault(self, path: str) -> str:
        plan = self.faults.get(path)
        if not plan:
            return "ok"
        return plan.pop(0) if len(plan) > 1 else plan[0]


class _Handler(BaseHTTPRequestHandler):
    server: FaultySource

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_HEAD(self):
        self._serve(body=False)

    def do_GET(self):
        self._serve(body=True)

    def _serve(self, body: bool):
        self.server.requests[self.path].append(self.command)
        if self.server.basic_auth and self.headers.get("Authorization") != self.server.basic_auth:
            self.send_response(401)
            self.end_headers()
            return
        fault = self.server.next_fault(self.path) if body else "ok"
        if fault.startswith("redirect:"):
            self.send_response(302)
            self.send_header("Location", fault.split(":", 1)[1])
            self.end_headers()
            return
        if fault in ("404", "500"):
            self.send_response(int(fault))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        file = self.server.root / self.path.split("?")[0].lstrip("/")
        if not file.is_file():
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = file.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", f'"{len(data)}"')
        self.end_headers()
        if not body:
            return
        if fault == "truncate":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if fault == "slow":
            self.wfile.write(data[:1024])
            self.wfile.flush()
            time.sleep(4)  # longer than the test's download timeout
            return
        self.wfile.write(data)


@pytest.fixture
def faulty_source(shared_tlc):
    server = FaultySource(shared_tlc)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def fast_retries(monkeypatch):
    for name, value in FAST_RETRIES.items():
        monkeypatch.setenv(name, value)
