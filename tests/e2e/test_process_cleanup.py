"""A pytest killed with SIGKILL while its dagster dev runs leaves none of its processes behind."""

import os
import signal
import subprocess
import sys
import time

import pytest

from lake_assets.settings import PROJECT_ROOT

pytestmark = pytest.mark.e2e

QUICK_TEST = "tests/e2e/test_ui.py::test_a_run_launched_through_graphql_succeeds"
# dagster dev is up when its webserver, daemon and code server are all running.
DAGSTER_DEV = ("-m dagster_webserver", "-m dagster._daemon run", "-m dagster api grpc")


def descendants(root: int) -> dict[int, str]:
    """Every live process under `root`: PID -> start time (a PID reused later is not a survivor)."""
    children: dict[int, list[int]] = {}
    started = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, ValueError):
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
            started[int(entry)] = fields[19]
    found, todo = {}, [root]
    while todo:
        for pid in children.get(todo.pop(), []):
            found[pid] = started[pid]
            todo.append(pid)
    return found


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def survivors(recorded: dict[int, str]) -> dict[int, str]:
    alive = {}
    for pid, start in recorded.items():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and fields[19] == start:
            alive[pid] = cmdline(pid)
    return alive


def test_a_pytest_killed_with_sigkill_leaves_none_of_its_processes(tmp_path):
    log = tmp_path / "child.log"
    with open(log, "w") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "pytest", QUICK_TEST, "-m", "e2e", "-p", "no:cacheprovider", "-q",
             f"--basetemp={tmp_path / 'child'}"],
            cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    recorded: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 240
        while not all(any(p in cmdline(pid) for pid in recorded) for p in DAGSTER_DEV):
            assert child.poll() is None and time.monotonic() < deadline, \
                f"dagster dev did not come up under the child pytest:\n{log.read_text()[-3000:]}"
            time.sleep(1)
            recorded = descendants(child.pid)
        recorded = descendants(child.pid)  # the watchdogs too: they must end as well
        os.kill(child.pid, signal.SIGKILL)  # the pytest alone: what it started must end by itself
        child.wait(timeout=10)
        deadline = time.monotonic() + 30
        while survivors(recorded) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert survivors(recorded) == {}
    finally:
        for pid in survivors(recorded):  # a failed run of this test leaves nothing either
            os.kill(pid, signal.SIGKILL)
        if child.poll() is None:
            child.kill()
