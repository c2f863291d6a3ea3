"""One writer at a time on the local DuckDB warehouse, across every process of the project.

DuckDB lets one process open a database file read-write, or any number of processes open it
read-only, never both: any other process fails at once with "Could not set lock on file ...
Conflicting lock is held in <program> (PID n)" (within one process, a read-only and a read-write
connection to the same file cannot coexist either). So the project's warehouse writers
(external-table registration, dbt runs, `make dbt`) wait their turn:

1. it takes an advisory lock on a file next to the warehouse (`<warehouse>.lock`, flock: the
   kernel releases it when its process ends, so a killed run leaves no stale lock), and writes
   into it who holds it and for what, for those that wait;
2. holding it, it waits until DuckDB's own lock is free too, for processes outside the project
   (a notebook, the duckdb CLI, a plain `dbt build`), naming the PID DuckDB reports;
3. both waits share one deadline (DUCKDB_LOCK_TIMEOUT_SECONDS) and back off exponentially from
   DUCKDB_LOCK_RETRY_DELAY_SECONDS, with jitter; past it, WarehouseBusyError says who holds the
   file and what to do. Nothing was opened for writing by then, so nothing was written.

Readers (the report queries, `make query`) take the same lock shared and open the file read-only
(`WarehouseLock.read_only`): they read beside each other, and wait for a writer. That is as far as
DuckDB lets a reader stay out of a writer's way: no writer gets in while a reader has the file open,
so a reader holds it for one query, not for a run.

`hold_and_retry` runs an attempt again, within the same deadline, when it lost DuckDB's lock to a
process outside the project before it wrote anything (lake_assets/dbt_runs.py: a dbt run).
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import re
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

DUCKDB_LOCK_ERROR = "Could not set lock on file"
_DUCKDB_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")
_OUR_HOLDER = re.compile(r"^PID (?P<pid>\d+) ")
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
    def _flocked(self, operation: int, wait: Wait) -> Iterator:
        """The project's lock file, flock-ed with `operation` (LOCK_EX, LOCK_SH) until the block ends."""
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_file, "a+") as file:
            while True:
                try:
                    fcntl.flock(file, operation | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    wait.pause(_described_holder(file))
            try:
                yield file
            finally:
                fcntl.flock(file, fcntl.LOCK_UN)

    @contextmanager
    def hold(self, purpose: str) -> Iterator[Wait]:
        """Waits for the project's lock, then for DuckDB's; holds the project's lock until the block
        ends. Yields the Wait, so that a dbt run can wait again within the same deadline."""
        wait = Wait(self, purpose)
        with self._flocked(fcntl.LOCK_EX, wait) as file:
            try:
                file.truncate(0)
                file.write(f"PID {os.getpid()} ({purpose}, since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC)\n")
                file.flush()
                wait.for_duckdb()
                yield wait
            finally:
                file.truncate(0)
                file.flush()

    @contextmanager
    def read_only(self, config: dict | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection for the block, beside other readers, once no process writes the file.

        The project's lock is taken shared (readers do not wait for each other; a project writer waits
        for them, as DuckDB would make it), then DuckDB's read-only open waits for a writer outside the
        project. Writers wait while the block runs: keep it to the query. A warehouse that does not exist
        yet is created first, empty, as a writer's first connection would: DuckDB opens no missing file
        read-only."""
        if not self.database.exists():
            with self.hold("create the warehouse"):
                pass
        wait = Wait(self, "read-only query")
        with self._flocked(fcntl.LOCK_SH, wait):
            while True:
                try:
                    conn = duckdb.connect(str(self.database), read_only=True, config=config or {})
                    break
                except duckdb.IOException as exc:
                    holder = duckdb_lock_holder(str(exc))
                    if holder is None:
                        raise
                    wait.pause(holder)
            with conn:
                yield conn

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
    if not match:  # readers (they share the lock and write nothing), or a writer that has not written yet
        return Holder(None, "another process of the project")
    return Holder(int(match["pid"]), text)


def hold_and_retry(lock: WarehouseLock, purpose: str, attempt: Callable[[], Generator[Any, None, Holder | None]]
                   ) -> Generator[Any, None, None]:
    """Runs `attempt()` holding `lock`, and again, within the same deadline, each time it lost DuckDB's
    lock to another process before it wrote anything (that process took the file between the wait
    for DuckDB's lock and the attempt's own open).

    `attempt()` is a generator: what it yields is passed on; it returns the Holder it lost the file
    to, or None once it is done (it raises on any other failure)."""
    with lock.hold(purpose) as wait:
        while (holder := (yield from attempt())) is not None:
            wait.pause(holder)
            wait.for_duckdb()
