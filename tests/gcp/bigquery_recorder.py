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


def _conjuncts(condition: exp.Expression | None) -> list[exp.Expression]:
    if condition is None:
        return []
    condition = condition.unnest()
    return list(condition.flatten()) if isinstance(condition, exp.And) else [condition]


def _constant(node: exp.Expression) -> bool:
    """A literal, or a typed one (DATE '2020-10-01')."""
    return isinstance(node, exp.Literal) or (isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal))


def _partition_filter(condition: exp.Expression, column: str) -> bool:
    """Whether the condition is one BigQuery eliminates partitions by: the bare partition column (not
    inside a function, such as date_trunc) compared with constants."""
    if not (isinstance(condition, (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.In, exp.Between))
            and isinstance(condition.this, exp.Column) and condition.this.name == column):
        return False
    if isinstance(condition, exp.In):
        others = [] if condition.args.get("query") else condition.expressions
    elif isinstance(condition, exp.Between):
        others = [condition.args["low"], condition.args["high"]]
    else:
        others = [condition.expression]
    return bool(others) and all(_constant(other) for other in others)


def reads_without_partition_filter(sql: str, tables: set[str], column: str = "source_month") -> list[str]:
    """The tables of `tables` (tables that require a partition filter on `column`) that a statement reads
    without one: a SELECT reading one must have such a filter as a conjunct of its WHERE, a MERGE into
    one in its ON or in the condition of its WHEN NOT MATCHED BY SOURCE. BigQuery refuses the others."""
    missed = []
    for statement in sqlglot.parse(sql, dialect="bigquery"):
        if statement is None:
            continue
        for select in statement.find_all(exp.Select):
            read = [t.name for t in select.find_all(exp.Table)
                    if t.name in tables and t.find_ancestor(exp.Select) is select]
            where = select.args.get("where")
            if read and not any(_partition_filter(c, column) for c in _conjuncts(where and where.this)):
                missed += read
        for merge in statement.find_all(exp.Merge):
            if merge.this.name not in tables:
                continue
            conditions = [merge.args.get("on")] + [when.args.get("condition") for when in merge.args["whens"].expressions
                                                   if when.args.get("source")]
            if not any(_partition_filter(c, column) for condition in conditions for c in _conjuncts(condition)):
                missed.append(merge.this.name)
    return missed


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
