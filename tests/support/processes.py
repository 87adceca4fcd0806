"""Waiting on other processes' state, finding a kernel's process, and worker processes
(``worker.py``) that report JSON lines, for tests: both ends of the worker's protocol."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support import REPO
from vfs_ext.config import StoreConfig
from vfs_ext.store import Store

WAIT_S = 20.0


def wait_until(condition: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    """Poll ``condition`` (state in another process, with no event to await) until truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def run_module(module: str, *args: str, timeout: float) -> str:
    """``python -m module args`` from the repository's root, as a user runs it; its stdout, once
    it exited 0 (else the test fails with the tails of what it printed)."""
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def command_lines(containing: str) -> dict[int, str]:
    """pid -> command line (its arguments joined by spaces) of every process whose command line
    contains ``containing``."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue  # gone meanwhile
            if containing.encode() in cmdline:
                found[int(entry)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
    return found


def kernel_pid(kernel_id: str) -> int:
    """The pid of the kernel started with ``kernel-<id>.json`` (its id survives restarts)."""
    pid = next(iter(command_lines(f"kernel-{kernel_id}.json")), None)
    if pid is None:
        raise AssertionError(f"no process for kernel {kernel_id}")
    return pid


def status_bytes(pid: int | str, field: str) -> int:
    """A memory figure (``VmRSS``, ``VmHWM``, ``RssAnon``...) of process ``pid`` ("self" for
    this one), from /proc/<pid>/status, in bytes."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise LookupError(f"no {field} for process {pid}")


def open_fds(pid: int) -> int:
    """How many file descriptors process ``pid`` holds open."""
    return len(os.listdir(f"/proc/{pid}/fd"))


#: The worker script a Child runs, and how long a Child may stay silent.
WORKER = Path(__file__).with_name("worker.py")
CHILD_TIMEOUT = 120.0


class Child:
    """A worker process (tests/support/worker.py) that reports JSON lines and waits for stdin."""

    def __init__(self, args: list[str], env: dict[str, str], prefix: list[str] | None = None):
        self.proc = subprocess.Popen(
            [*(prefix or []), sys.executable, str(WORKER), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
            text=True,
        )

    def read(self, timeout: float = CHILD_TIMEOUT) -> dict:
        """The next JSON line the worker printed; fails if it died or stays silent too long."""
        assert self.proc.stdout is not None
        if not select.select([self.proc.stdout], [], [], timeout)[0]:
            raise AssertionError(f"worker reported nothing within {timeout} s")
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(CHILD_TIMEOUT)
            raise AssertionError(
                f"worker exited {self.proc.returncode} without reporting: {self.stderr()}"
            )
        return json.loads(line)

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read() if self.proc.poll() is not None else "(still running)"

    def finish(self) -> int:
        """Close stdin (the worker's cue to exit) and wait for it."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(CHILD_TIMEOUT)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(CHILD_TIMEOUT)

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


# -- the worker's side: JSON lines out, stdin's end as the cue to exit -------------------------


def report(**fields: object) -> None:
    """One JSON line to the test (``Child.read``)."""
    print(json.dumps(fields), flush=True)


def wait_for_stdin_eof() -> None:
    """Block until the test closes stdin (``Child.finish``)."""
    sys.stdin.read()


def stdin_closed() -> bool:
    """Whether the test closed stdin, without blocking (for workers that loop)."""
    return bool(select.select([sys.stdin], [], [], 0)[0])


def kernel_store() -> Store:
    """The store a kernel finds through the environment the server exported."""
    store = Store.from_env()
    assert store is not None, "no vfs_ext environment"
    return store


def server_store_from_env() -> Store:
    """A namespace of this process's own on the environment's tiers, as a second server makes."""
    config = StoreConfig.from_env()
    assert config is not None, "no vfs_ext environment"
    return Store.for_server(config.tiers)
