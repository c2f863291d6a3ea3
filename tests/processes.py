"""Servers the tests start end with the pytest that started them, however it ends (SIGKILL too).

Each server gets a session (so a process group) of its own, a parent-death signal (Linux's
PR_SET_PDEATHSIG: the kernel kills it when pytest dies), and a watchdog: a small process that polls
for pytest and, once pytest is gone, kills every process of the server's session. The watchdog is
what ends the grandchildren, which do not inherit the death signal (dagster dev's webserver, daemon,
code server and run workers; PostgreSQL's postmaster, which pg_ctl starts in a session of its own).
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys

import httpx

# Polls every 0.5 s; exits when the session is empty (the server was stopped as usual). Once its
# parent (pytest) is gone it was handed to init (getppid changes: no PID reuse to be fooled by), and
# it kills the session's processes until none is left (one may fork while they are killed).
WATCHDOG = r"""
import os, signal, sys, time
parent, session = int(sys.argv[1]), int(sys.argv[2])
def members():
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as f:
                state, _, _, sid = f.read().rsplit(")", 1)[1].split()[:4]
        except (OSError, ValueError):
            continue
        if int(sid) == session and state != "Z":
            pids.append(int(entry))
    return pids
while members():
    if os.getppid() != parent:
        for _ in range(50):
            pids = members()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.1)
        break
    time.sleep(0.5)
"""


# Runs as the server's first program, then becomes it (exec keeps the death signal): a preexec_fn
# would do the same between fork and exec, which is unsafe while pytest has threads (the e2e tier's
# TLC source). The signal comes when the thread that started it ends: fixtures run in pytest's main thread.
DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys; ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL); "  # 1: PR_SET_PDEATHSIG
    "os.getppid() == int(sys.argv[1]) or sys.exit(1); os.execvp(sys.argv[2], sys.argv[2:])"
)


def watch_session(session: int) -> subprocess.Popen:
    """Starts a watchdog that kills the processes of `session` once this pytest is gone."""
    if session == os.getsid(0):
        raise ValueError(f"session {session} is pytest's own: a server must run in a session of its own")
    return subprocess.Popen([sys.executable, "-c", WATCHDOG, str(os.getpid()), str(session)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)


def start_server(cmd: list[str], **popen_kwargs) -> subprocess.Popen:
    """subprocess.Popen in a new session that dies with this pytest; stop it with `stop`."""
    process = subprocess.Popen([sys.executable, "-c", DIE_WITH_PARENT, str(os.getpid()), *map(str, cmd)],
                               start_new_session=True, **popen_kwargs)
    watch_session(process.pid)
    return process


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Signals the server's whole process group, then SIGKILLs it if it has not exited in `timeout` s."""
    with contextlib.suppress(ProcessLookupError):  # the group may outlive its leader
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, for a server to bind."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    """Whether a GET of `url` answers 200."""
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
