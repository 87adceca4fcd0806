"""Child processes for the core tests: each command gets its store from the environment (the way
a kernel does), prints JSON lines, and exits when its stdin is closed (or when killed).

Run as ``python worker.py <command> <args...>``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import select
import subprocess
import sys
from pathlib import Path

from vfs_ext.config import StoreConfig
from vfs_ext.errors import VirtualFileError
from vfs_ext.layout import PART_PREFIX
from vfs_ext.owner import Owner
from vfs_ext.store import Store


def report(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def wait_for_stdin_eof() -> None:
    sys.stdin.read()


def stdin_closed() -> bool:
    return bool(select.select([sys.stdin], [], [], 0)[0])


def payload(seed: str, size: int) -> bytes:
    """Deterministic, non-repeating bytes per seed: a mixed-up file, or a chunk written twice
    or dropped, changes the content, not just the size."""
    return random.Random(seed).randbytes(size)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ReadOnly:
    """A stream of unknown size with only ``read``, returning at most ``step`` bytes at a time."""

    def __init__(self, data: bytes, step: int = 64 * 1024) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._step = step

    def read(self, n: int = -1) -> bytes:
        n = self._step if n < 0 else min(n, self._step)
        chunk = self._data[self._pos : self._pos + n]
        self._pos += len(chunk)
        return bytes(chunk)


def cmd_hold(owner_id: str, *specs: str) -> None:
    """Write ``group:size`` files, report them, then stay alive until stdin closes."""
    store = Store.from_env()
    assert store is not None
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
    config = StoreConfig.from_env()
    assert config is not None
    store = Store.for_server(config.tiers)
    owner = store.open_owner(owner_id)
    info = owner.write(payload(owner_id, int(size)), "bin")
    dead = store.open_owner(owner_id + "-dead")
    dead_info = dead.write(payload(owner_id + "-dead", int(size)), "bin")
    dead.close()  # an owner that is gone while its server lives
    report(namespace=store.namespace, name=info.name, dead_name=dead_info.name)
    wait_for_stdin_eof()


def cmd_writer(owner_id: str, rounds: str) -> None:
    """Write and release in a loop; report the files that must still exist, then stay alive."""
    store = Store.from_env()
    assert store is not None
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
    store = Store.from_env()
    assert store is not None
    owner = store.open_owner(owner_id)
    with open(fifo, "rb") as f:
        info = owner.write(f, "bin")
    report(name=info.name, size=info.size, tier=info.tier)
    wait_for_stdin_eof()


def cmd_opener(prefix: str, count: str) -> None:
    """Open ``count`` owners one after another and keep them all; report their keys."""
    store = Store.from_env()
    assert store is not None
    owners = [store.open_owner(f"{prefix}-{i}") for i in range(int(count))]
    report(keys=[o.key for o in owners])
    wait_for_stdin_eof()


def cmd_sweeper() -> None:
    """Sweep in a loop until stdin closes; report what was swept."""
    store = Store.from_env()
    assert store is not None
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
    store = Store.from_env()
    assert store is not None
    owner = store.open_owner(owner_id)
    names = []
    for i in range(int(count)):
        data = payload(f"{owner_id}/{i}", int(size))
        names.append(owner.write(data if i % 2 else ReadOnly(data, 1024 * 1024), "bin").name)
    report(names=names)
    wait_for_stdin_eof()


def cmd_reader(size: str) -> None:
    """Look up every entry seen in the tiers until stdin closes; a resolved name must be whole."""
    store = Store.from_env()
    assert store is not None
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


def cmd_rss(mode: str, path: str) -> None:
    """Write a large file from a path or a read-only stream; report peak RSS growth in bytes."""
    store = Store.from_env()
    assert store is not None
    owner = store.open_owner("rss")
    before = _status_bytes("VmRSS")
    if mode == "path":
        info = owner.write(path, "bin")
    else:
        with open(path, "rb", buffering=0) as f:
            info = owner.write(_OnlyRead(f), "bin")
    report(growth=_status_bytes("VmHWM") - before, size=info.size, tier=info.tier)


def _status_bytes(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in bytes.

    VmHWM is this process's own peak RSS. ``getrusage().ru_maxrss`` would not do: it survives
    execve, so a child spawned by a big pytest process starts with pytest's peak.
    """
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise LookupError(field)


def cmd_fallback(source_path: str) -> None:
    """Write 4 MiB (the bytes of ``source_path``) as bytes, as a seekable file, as a stream of
    small reads and as a pipe; report where each landed and what is left in the tiers."""
    store = _own_store()
    owner = store.open_owner("fallback")
    data = Path(source_path).read_bytes()
    results: dict[str, dict] = {}
    with open(source_path, "rb") as f:
        pipe = subprocess.Popen(["cat", source_path], stdout=subprocess.PIPE)
        cases = {"bytes": data, "file": f, "stream": ReadOnly(data), "pipe": pipe.stdout}
        for label, source in cases.items():
            try:
                info = owner.write(source, "bin", label)
            except VirtualFileError as exc:
                results[label] = {"error": str(exc)}
                continue
            found = store.lookup(info.name)
            results[label] = {
                "tier": info.tier,
                "same": info.path.read_bytes() == data,
                "lookup_tier": found.tier if found else None,
            }
        pipe.stdout.close()
        pipe.wait()
    try:
        results["small"] = {"tier": owner.write(b"x" * 1000, "bin", "small").tier}
    except VirtualFileError as exc:
        results["small"] = {"error": str(exc)}
    parts = {
        tier.name: [
            name
            for _dir, _dirs, files in os.walk(tier.root)
            for name in files
            if name.startswith(PART_PREFIX)
        ]
        for tier in store.tiers
    }
    stats = store.stats().to_json()
    report(results=results, parts=parts, tiers=[t.name for t in store.tiers], stats=stats)


def _own_store() -> Store:
    """The store of the environment's config, its namespace made here: the tiers are a private
    tmpfs mounted for this process alone, so it plays the server's part too."""
    config = StoreConfig.from_env()
    assert config is not None
    return Store(config, create=True)


def cmd_readonly(*mount_points: str) -> None:
    """Write, then make each mount point read-only in turn and write again; report where each
    write went, or its error. A read-only bind mount over the mount point: a remount of the
    filesystem itself is refused while our lock files are open for writing."""
    store = _own_store()
    owner = store.open_owner("readonly")
    results = [owner.write(payload("before", 1000), "bin").tier]
    for mount_point in mount_points:
        subprocess.run(["mount", "--bind", mount_point, mount_point], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", mount_point], check=True)
        try:
            results.append(owner.write(payload(mount_point, 1000), "bin").tier)
        except VirtualFileError as exc:
            results.append(str(exc))
    report(results=results)


def cmd_forker(role: str, owner_id: str) -> None:
    """As a kernel (store from the environment) or a server (a namespace of its own): write a
    file, then fork a child that lives on, like a multiprocessing worker with the 'fork' start
    method. A kernel's child also uses vfs_ext itself. Report (with what the child found), then
    both wait for stdin's end."""
    if role == "server":
        config = StoreConfig.from_env()
        assert config is not None
        store = Store.for_server(config.tiers)
    else:
        store = Store.from_env()
    assert store is not None
    owner = store.open_owner(owner_id)
    info = owner.write(payload(owner_id, 1000), "bin", "cell")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            found = _use_vfs_ext_in_child(store, owner, owner_id) if role == "kernel" else {}
            os.write(write_end, json.dumps(found).encode())
            os.close(write_end)
            wait_for_stdin_eof()
        finally:
            os._exit(0)
    os.close(write_end)
    with open(read_end, "rb") as child:
        found = json.loads(child.read())  # until the child closes its end
    report(pid=os.getpid(), child=pid, namespace=store.namespace, name=info.name, **found)
    wait_for_stdin_eof()


def _use_vfs_ext_in_child(store: Store, inherited: Owner, owner_id: str) -> dict[str, str]:
    """Write through the parent's owner (which must refuse) and through an owner of our own."""
    try:
        inherited.write(b"from the child", "bin")
        refused = ""
    except ValueError as exc:
        refused = str(exc)
    own = store.open_owner(f"{owner_id}-child", lock_timeout=10)
    return {"child_name": own.write(payload("child", 1000), "bin").name, "refused": refused}


def cmd_retirer(owner_id: str, count: str) -> None:
    """Write ``count`` files and retire them with an hour's grace; report them; then exit
    without closing the owner (as a kernel restarted or shut down does)."""
    from vfs_ext import retire

    retire.RETIRE_GRACE_S = 3600.0
    store = Store.from_env()
    assert store is not None
    owner = store.open_owner(owner_id)
    names = [owner.write(payload(str(i), 100_000), "bin").name for i in range(int(count))]
    owner.retire(names)
    report(names=names)
    wait_for_stdin_eof()
    sys.exit(0)


COMMANDS = {name[4:]: fn for name, fn in globals().items() if name.startswith("cmd_")}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](*sys.argv[2:])
