"""Child processes for the core tests: each command gets its store from the environment (the way
a kernel does), prints JSON lines, and exits when its stdin is closed (or when killed).

Run as ``python worker.py <command> <args...>``; tests/support/processes.Child does. The commands
that need a private tmpfs, a memory measure or a fork are in worker_edges.py.
"""

from __future__ import annotations

import os
import sys

from tests.support import worker_edges
from tests.support.payloads import ReadOnly, payload, sha
from tests.support.processes import (
    kernel_store,
    report,
    server_store_from_env,
    stdin_closed,
    wait_for_stdin_eof,
)


def cmd_hold(owner_id: str, *specs: str) -> None:
    """Write ``group:size`` files, report them, then stay alive until stdin closes."""
    store = kernel_store()
    owner = store.open_owner(owner_id)
    files = []
    for i, spec in enumerate(specs):
        group, size = spec.split(":")
        data = payload(f"{owner_id}/{i}", int(size))
        info = owner.write(data, "bin", group)
        files.append({"name": info.name, "sha": sha(data), "size": len(data), "group": group})
    report(pid=os.getpid(), files=files)
    wait_for_stdin_eof()


def cmd_server(owner_id: str, size: str) -> None:
    """Start a server namespace on the same tier bases, write one file, stay alive."""
    store = server_store_from_env()
    owner = store.open_owner(owner_id)
    info = owner.write(payload(owner_id, int(size)), "bin")
    dead = store.open_owner(owner_id + "-dead")
    dead_info = dead.write(payload(owner_id + "-dead", int(size)), "bin")
    dead.close()  # an owner that is gone while its server lives
    report(namespace=store.namespace, name=info.name, dead_name=dead_info.name)
    wait_for_stdin_eof()


def cmd_writer(owner_id: str, rounds: str) -> None:
    """Write and release in a loop; report the files that must still exist, then stay alive."""
    store = kernel_store()
    owner = store.open_owner(owner_id)
    sizes = [0, 1, 1000, 300_000, 5 * 1024 * 1024]
    live: dict[str, dict] = {}
    for r in range(int(rounds)):
        group = f"cell-{r % 3}"
        if r >= 3:  # re-running a cell releases its previous run (now or in the background)
            owner.release_group(group, wait=r % 2 == 0)
            live = {n: f for n, f in live.items() if f["group"] != group}
        for i, size in enumerate(sizes):
            data = payload(f"{owner_id}/{r}/{i}", size)
            source = data if i % 2 else ReadOnly(data)
            info = owner.write(source, "bin", group)
            live[info.name] = {"sha": sha(data), "size": size, "group": group}
    report(files=live)
    wait_for_stdin_eof()


def cmd_stream(owner_id: str, fifo: str) -> None:
    """Write one file from a FIFO (a stream of unknown size that may stall); report it."""
    store = kernel_store()
    owner = store.open_owner(owner_id)
    with open(fifo, "rb") as f:
        info = owner.write(f, "bin")
    report(name=info.name, size=info.size, tier=info.tier)
    wait_for_stdin_eof()


def cmd_opener(prefix: str, count: str) -> None:
    """Open ``count`` owners one after another and keep them all; report their keys."""
    store = kernel_store()
    owners = [store.open_owner(f"{prefix}-{i}") for i in range(int(count))]
    report(keys=[o.key for o in owners])
    wait_for_stdin_eof()


def cmd_sweeper() -> None:
    """Sweep in a loop until stdin closes; report what was swept."""
    store = kernel_store()
    sweeps, owners = 0, []
    while True:
        owners += store.sweep().owners
        sweeps += 1
        if sweeps == 1:
            report(ready=True)
        if stdin_closed():
            break
    report(sweeps=sweeps, owners=owners)


def cmd_bigwriter(owner_id: str, count: str, size: str) -> None:
    """Write ``count`` files of ``size`` bytes (known-size and streamed alternately)."""
    store = kernel_store()
    owner = store.open_owner(owner_id)
    names = []
    for i in range(int(count)):
        data = payload(f"{owner_id}/{i}", int(size))
        names.append(owner.write(data if i % 2 else ReadOnly(data, 1024 * 1024), "bin").name)
    report(names=names)
    wait_for_stdin_eof()


def cmd_reader(size: str) -> None:
    """Look up every entry seen in the tiers until stdin closes; a resolved name must be whole."""
    store = kernel_store()
    seen: set[str] = set()
    bad = []
    polls = 0
    while not stdin_closed():
        if polls == 1:
            report(ready=True)
        polls += 1
        for tier in store.tiers:
            for _dirpath, _dirs, files in os.walk(tier.root):
                for name in files:
                    info = store.lookup(name)
                    if info is None:
                        continue
                    seen.add(name)
                    if info.size != int(size):
                        bad.append([name, info.size])
    report(seen=len(seen), bad=bad)


class _OnlyRead:
    """Exposes nothing but ``read`` of a file (so vfs_ext cannot learn its size or seek it)."""

    def __init__(self, f) -> None:
        self.read = f.read


def cmd_retirer(owner_id: str, count: str) -> None:
    """Write ``count`` files and retire them with an hour's grace; report them; then exit
    without closing the owner (as a kernel restarted or shut down does)."""
    from vfs_ext import retire

    retire.RETIRE_GRACE_S = 3600.0
    store = kernel_store()
    owner = store.open_owner(owner_id)
    names = [owner.write(payload(str(i), 100_000), "bin").name for i in range(int(count))]
    owner.retire(names)
    report(names=names)
    wait_for_stdin_eof()
    sys.exit(0)


COMMANDS = {
    name[4:]: fn
    for module in (globals(), vars(worker_edges))
    for name, fn in module.items()
    if name.startswith("cmd_")
}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](*sys.argv[2:])
