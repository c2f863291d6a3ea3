"""One writer at a time on the local DuckDB warehouse, across every process of the project.

DuckDB lets one process open a database file read-write, or any number of processes open it
read-only, never both: any other process fails at once with "Could not set lock on file ...
Conflicting lock is held in <program> (PID n)". So the project's warehouse work (external-table
registration, dbt runs, report queries, `make dbt`) waits its turn:

1. it takes an advisory lock on a file next to the warehouse (`<warehouse>.lock`, flock: the
   kernel releases it when its process ends, so a killed run leaves no stale lock), and writes
   into it who holds it and for what, for those that wait;
2. holding it, it waits until DuckDB's own lock is free too, for processes outside the project
   (a notebook, the duckdb CLI, a plain `dbt build`), naming the PID DuckDB reports;
3. both waits share one deadline (DUCKDB_LOCK_TIMEOUT_SECONDS) and back off exponentially from
   DUCKDB_LOCK_RETRY_DELAY_SECONDS, with jitter; past it, WarehouseBusyError says who holds the
   file and what to do. Nothing was opened for writing by then, so nothing was written.

A dbt run is retried, within the same deadline, when it failed on DuckDB's lock before any node
started: dbt-duckdb opens the file once (`keep_open`), before its first node, and keeps it open
until it exits, so that failure means nothing was written.
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

DUCKDB_LOCK_ERROR = "Could not set lock on file"
_DUCKDB_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")
_OUR_HOLDER = re.compile(r"^PID (?P<pid>\d+) ")
# A dbt node began ("1 of 37 START sql view model ..."): from then on a run may have written.
_DBT_NODE_STARTED = re.compile(r"\b\d+ of \d+ START\b")
# Attempts are cheap (a flock, or an open that fails at once): poll at least this often.
MAX_RETRY_DELAY_SECONDS = 10.0


class WarehouseBusyError(RuntimeError):
    """The warehouse stayed locked by another process for longer than the wait allows."""


@dataclass(frozen=True)
class Holder:
    """The process that holds the warehouse, as far as it is known."""

    pid: int | None
    description: str


def duckdb_lock_holder(message: str) -> Holder | None:
    """The process named by DuckDB's lock error in `message`, or None if it is another error."""
    if DUCKDB_LOCK_ERROR not in message:
        return None
    match = _DUCKDB_HOLDER.search(message)
    if not match:
        return Holder(None, "another process (DuckDB did not say which)")
    return Holder(int(match["pid"]), f"PID {match['pid']} ({match['program']})")


def dbt_lock_failure(output: str) -> Holder | None:
    """Who held the warehouse when a dbt run failed on DuckDB's lock before any node started
    (so it wrote nothing); None when the output shows another failure, or a started node."""
    if _DBT_NODE_STARTED.search(output):
        return None
    return duckdb_lock_holder(output)


@dataclass
class WarehouseLock:
    """The lock that every writer of one DuckDB warehouse file takes (see the module's docstring)."""

    database: Path
    timeout_seconds: float
    retry_delay_seconds: float
    log: logging.Logger = field(default_factory=lambda: logging.getLogger(__name__))

    @property
    def lock_file(self) -> Path:
        return self.database.with_name(self.database.name + ".lock")

    @contextmanager
    def hold(self, purpose: str) -> Iterator[Wait]:
        """Waits for the project's lock, then for DuckDB's; holds the project's lock until the block
        ends. Yields the Wait, so that a dbt run can wait again within the same deadline."""
        wait = Wait(self, purpose)
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_file, "a+") as file:
            while True:
                try:
                    fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    wait.pause(_described_holder(file))
            try:
                file.truncate(0)
                file.write(f"PID {os.getpid()} ({purpose}, since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC)\n")
                file.flush()
                wait.for_duckdb()
                yield wait
            finally:
                file.truncate(0)
                file.flush()
                fcntl.flock(file, fcntl.LOCK_UN)

    def connect_read_only(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection, once no process writes the file (readers share it)."""
        wait = Wait(self, "read-only query")
        while True:
            try:
                return duckdb.connect(str(self.database), read_only=True)
            except duckdb.IOException as exc:
                holder = duckdb_lock_holder(str(exc))
                if holder is None:
                    raise
                wait.pause(holder)

    def busy_message(self, holder: Holder, waited_seconds: float) -> str:
        stop = f"stop it if it is stuck (kill {holder.pid}), " if holder.pid else ""
        return (
            f"The DuckDB warehouse {self.database} is locked by {holder.description}; gave up after waiting "
            f"{waited_seconds:.0f} s (DUCKDB_LOCK_TIMEOUT_SECONDS={self.timeout_seconds:g}), nothing was "
            "written. DuckDB lets one process at a time write the file. Let that process finish and run this "
            f"again, {stop}or raise DUCKDB_LOCK_TIMEOUT_SECONDS."
        )


class Wait:
    """One bounded wait for the warehouse: a deadline, and an exponential backoff with jitter."""

    def __init__(self, lock: WarehouseLock, purpose: str):
        self.lock, self.purpose = lock, purpose
        self.started = time.monotonic()
        self.deadline = self.started + lock.timeout_seconds
        self.delay = lock.retry_delay_seconds

    def pause(self, holder: Holder) -> None:
        """Sleeps before the next attempt, or raises WarehouseBusyError once the deadline has passed."""
        now = time.monotonic()
        if now >= self.deadline:
            raise WarehouseBusyError(self.lock.busy_message(holder, now - self.started))
        sleep = min(self.delay * random.uniform(0.8, 1.2), self.deadline - now)
        self.lock.log.warning(
            f"{self.purpose}: the warehouse {self.lock.database} is locked by {holder.description}; "
            f"trying again in {sleep:.1f} s (waited {now - self.started:.0f} s of at most "
            f"{self.lock.timeout_seconds:g}, DUCKDB_LOCK_TIMEOUT_SECONDS)"
        )
        time.sleep(sleep)
        self.delay = min(self.delay * 2, MAX_RETRY_DELAY_SECONDS)

    def for_duckdb(self) -> None:
        """Returns once this process can open the file read-write: DuckDB's own lock is free."""
        while True:
            try:
                duckdb.connect(str(self.lock.database)).close()
                return
            except duckdb.IOException as exc:
                holder = duckdb_lock_holder(str(exc))
                if holder is None:
                    raise
                self.pause(holder)


def _described_holder(file) -> Holder:
    """The holder of the project's lock, as it described itself in the lock file."""
    file.seek(0)
    text = file.read().strip()
    match = _OUR_HOLDER.match(text)
    if not match:  # it has the lock but has not written yet
        return Holder(None, "another process of the project")
    return Holder(int(match["pid"]), text)


def stream_dbt(context, dbt, args: list[str], lock: WarehouseLock | None, stream=lambda invocation: invocation.stream(),
               **cli_kwargs):
    """`stream(dbt.cli(args, context=context, **cli_kwargs))`, taking its turn on a local warehouse first.

    `stream` turns the invocation into Dagster events (by default its plain `.stream()`). With
    `lock` None (BigQuery takes concurrent writers) it is exactly that. Otherwise it holds `lock` for
    the whole dbt run, and for what `stream` reads of the warehouse after it, and runs dbt again,
    within the same deadline, when it failed on DuckDB's lock before any node (another process took
    the file in between).
    """
    if lock is None:
        yield from stream(dbt.cli(args, context=context, **cli_kwargs))
        return
    with lock.hold(f"dbt {args[0]}, Dagster run {context.run.run_id[:8]}") as wait:
        while True:
            invocation = dbt.cli(args, context=context, raise_on_error=False, **cli_kwargs)
            events = 0
            for event in stream(invocation):
                events += 1
                yield event
            error = invocation.get_error()
            if error is None:
                return
            holder = dbt_lock_failure(str(error)) if events == 0 else None
            if holder is None:
                raise error
            wait.pause(holder)
            wait.for_duckdb()
