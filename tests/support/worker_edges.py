"""Worker commands that need more than a store: a private tmpfs that fills up or turns
read-only (they play the server's part), a measure of peak memory, a fork. Run through
worker.py like the others (tests/core/test_fallback_root.py, test_sources.py, test_fork.py)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.support.payloads import OnlyRead, ReadOnly, payload
from tests.support.processes import (
    kernel_store,
    report,
    server_store_from_env,
    status_bytes,
    wait_for_stdin_eof,
)
from vfs_ext.config import StoreConfig
from vfs_ext.errors import VirtualFileError
from vfs_ext.layout import PART_PREFIX
from vfs_ext.owner import Owner
from vfs_ext.store import Store


def cmd_rss(mode: str, path: str) -> None:
    """Write a large file from a path or a read-only stream; report peak RSS growth in bytes."""
    store = kernel_store()
    owner = store.open_owner("rss")
    # VmHWM is this process's own peak RSS. ``getrusage().ru_maxrss`` would not do: it survives
    # execve, so a child spawned by a big pytest process starts with pytest's peak.
    before = status_bytes("self", "VmRSS")
    if mode == "path":
        info = owner.write(path, "bin")
    else:
        with open(path, "rb", buffering=0) as f:
            info = owner.write(OnlyRead(f), "bin")
    report(growth=status_bytes("self", "VmHWM") - before, size=info.size, tier=info.tier)


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
    store = server_store_from_env() if role == "server" else kernel_store()
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
