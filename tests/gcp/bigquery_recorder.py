"""A recording proxy in front of bqemulator: every request is passed on unchanged, and the query jobs
are kept as they were sent, so a test sees what the project's client and dbt-bigquery (another
process) asked BigQuery to run: each query's SQL and job configuration."""

import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import sqlglot
from sqlglot import exp

# jobs.insert (client.query) and jobs.query (client.query_and_wait)
_JOBS = re.compile(r"^/bigquery/v2/projects/[^/]+/(jobs|queries)(\?.*)?$")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length"}


@dataclass(frozen=True)
class SentQuery:
    sql: str
    maximum_bytes_billed: str | None
    dry_run: bool


def sent_query(path: str, body: bytes) -> SentQuery | None:
    if not _JOBS.match(path) or not body:
        return None
    payload = json.loads(body)
    if path.split("?")[0].endswith("/queries"):  # a QueryRequest: the configuration at the top
        return SentQuery(payload["query"], payload.get("maximumBytesBilled"), bool(payload.get("dryRun")))
    configuration = payload.get("configuration", {})
    query = configuration.get("query")
    if query is None:  # a load, copy or extract job
        return None
    return SentQuery(query["query"], query.get("maximumBytesBilled"), bool(configuration.get("dryRun")))


def unfiltered_reads(sql: str, prefix: str = "ext_") -> list[str]:
    """The tables named prefix* that a SELECT of the statement reads without a WHERE on year or month."""
    unfiltered = []
    for statement in sqlglot.parse(sql, dialect="bigquery"):
        for select in statement.find_all(exp.Select):
            read = [t for t in select.find_all(exp.Table)
                    if t.name.startswith(prefix) and t.find_ancestor(exp.Select) is select]
            where = select.args.get("where")
            filtered = where is not None and any(c.name in ("year", "month") for c in where.find_all(exp.Column))
            unfiltered += [] if filtered else [t.name for t in read]
    return unfiltered


class _Handler(BaseHTTPRequestHandler):
    server: "RecordingProxy"

    def _forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        recorded = sent_query(self.path, body) if self.command == "POST" else None
        if recorded is not None:
            with self.server.lock:
                self.server.queries.append(recorded)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP | {"host"}}
        answer = httpx.request(self.command, self.server.target + self.path, headers=headers, content=body,
                               timeout=300)
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

    def log_message(self, *args):
        pass


class RecordingProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, target: str):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.target = target.rstrip("/")
        self.queries: list[SentQuery] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def take(self) -> list[SentQuery]:
        """The queries sent since the last take."""
        with self.lock:
            taken, self.queries = self.queries, []
        return taken
