"""The on-disk layout of the tiers: the protocol kernels and the server agree on.

Kernels write, the server reads, pins and sweeps, in different processes and possibly different
versions of this package; what they share is this tree, so every path and marker name of it is
made here and nowhere else::

    <tier base>/                          memory_dir / disk_dir (0700, or sticky like /dev/shm)
      <namespace>/                        one server run: "s" + 16 hex digits (names.NAMESPACE_RE)
        .server.lock                      flock held by the server while it runs
        .budget.lock                      flock serializing budget checks; holds the bytes in use
                                          as reckoned (vfs_ext.budget)
        .events.jsonl                     fallbacks, evictions, errors appended by kernels
        .events.jsonl.1                   its previous generation (last tier only: vfs_ext.events)
        .persist.json                     what the server keeps of saved notebooks' outputs,
                                          for %vfs stats (vfs_ext.persist_status)
        <owner key>/                      one kernel: 16 hex digits of its id (names.owner_key)
          .lock                           flock held by the owning process while alive
          <group key>/                    one cell's run: 12 hex digits (names.group_key)
            <name>                        a written virtual file (names.NAME_RE)
            .part-<reserved>-<token>      a write in progress; its name carries its reservation
            .pin-<name>                   a saved notebook shows <name>: not released when retired
            .unshown-<name>               pinned, and its kernel retired it: released by the
                                          server once no saved notebook shows it (vfs_ext.pins)
          .released-<token>/              a released group (or a dead run's leftovers) being
                                          deleted; still counted in the budget
          .spares/<token>                 released files kept for the next writes to overwrite
                                          (vfs_ext.reuse); still counted in the budget
        .draining/<token>                 released files a reader still holds open (a download
                                          in progress); counted until freed (vfs_ext.drain)
      .removing-<token>/                  a namespace being removed: renamed first, so its
                                          kernels cannot write into it again (vfs_ext.confine)

    <Jupyter runtime dir>/vfs_ext-server-<pid>.json
                                          the server's kernel environment, for kernels that did
                                          not inherit it (kernel_side.discovery)
    <Jupyter runtime dir>/vfs_ext-memory-base
                                          the memory tier's base, when another user squatted
                                          the default one (vfs_ext.squatting)

Names starting with a dot are never virtual files: listings of groups skip them, and only the
ones named here are understood; anything else in a tier base is someone else's and left alone.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SERVER_LOCK = ".server.lock"
BUDGET_LOCK = ".budget.lock"
EVENTS_FILE = ".events.jsonl"
ROTATED_EVENTS_FILE = ".events.jsonl.1"
PERSIST_STATUS = ".persist.json"
OWNER_LOCK = ".lock"
PART_PREFIX = ".part-"
PIN_PREFIX = ".pin-"
UNSHOWN_PREFIX = ".unshown-"
RELEASED_PREFIX = ".released-"
SPARES_DIR = ".spares"
DRAINING_DIR = ".draining"
REMOVING_PREFIX = ".removing-"
SERVER_RECORD = "vfs_ext-server-{pid}.json"
MEMORY_BASE_RECORD = "vfs_ext-memory-base"

_TOKEN_BYTES = 8


def namespace_dir(base: Path, namespace: str) -> Path:
    return base / namespace


def server_lock(ns_root: Path) -> Path:
    return ns_root / SERVER_LOCK


def budget_lock(ns_root: Path) -> Path:
    return ns_root / BUDGET_LOCK


def events_file(ns_root: Path) -> Path:
    return ns_root / EVENTS_FILE


def rotated_events_file(ns_root: Path) -> Path:
    return ns_root / ROTATED_EVENTS_FILE


def persist_status(ns_root: Path) -> Path:
    return ns_root / PERSIST_STATUS


def temporary(path: Path) -> Path:
    """A hidden name beside ``path`` for this process to write before renaming it over
    ``path`` (an atomic replacement)."""
    return path.with_name(f".{path.name.lstrip('.')}.{os.getpid()}.tmp")


def owner_dir(ns_root: Path, okey: str) -> Path:
    return ns_root / okey


def owner_lock(owner_path: Path) -> Path:
    return owner_path / OWNER_LOCK


def group_dir(owner_path: Path, gkey: str) -> Path:
    return owner_path / gkey


def file_path(group_path: Path, name: str) -> Path:
    return group_path / name


def part_path(group_path: Path, reserved: int, token: str | None = None) -> Path:
    """Where a write in progress reserving ``reserved`` bytes goes; ``token`` keeps its identity
    when the reservation grows (a fresh one when None)."""
    token = secrets.token_hex(_TOKEN_BYTES) if token is None else token
    return group_path / f"{PART_PREFIX}{reserved}-{token}"


def part_token(path: Path) -> str:
    return path.name.rsplit("-", 1)[1]


def is_part(name: str) -> bool:
    return name.startswith(PART_PREFIX)


def part_reservation(name: str) -> int:
    """The bytes a write in progress reserved, from its name; 0 for any other name."""
    if not is_part(name):
        return 0
    try:
        return int(name[len(PART_PREFIX) :].split("-", 1)[0])
    except ValueError:
        return 0


def pin_path(group_path: Path, name: str) -> Path:
    return group_path / (PIN_PREFIX + name)


def unshown_path(group_path: Path, name: str) -> Path:
    return group_path / (UNSHOWN_PREFIX + name)


def new_released_dir(owner_path: Path) -> Path:
    """A fresh name for a released directory in ``owner_path`` (not created)."""
    return owner_path / (RELEASED_PREFIX + secrets.token_hex(_TOKEN_BYTES))


def spares_dir(owner_path: Path) -> Path:
    return owner_path / SPARES_DIR


def new_spare_path(owner_path: Path) -> Path:
    """A fresh name for a spare of ``owner_path`` (its directory may not exist yet)."""
    return spares_dir(owner_path) / secrets.token_hex(_TOKEN_BYTES)


def draining_dir(ns_root: Path) -> Path:
    return ns_root / DRAINING_DIR


def new_draining_path(ns_root: Path) -> Path:
    """A fresh name for a released file still being read (its directory may not exist yet)."""
    return draining_dir(ns_root) / secrets.token_hex(_TOKEN_BYTES)


def is_hidden(name: str) -> bool:
    """Dot-names: locks, markers, writes in progress, released and spare directories."""
    return name.startswith(".")


def holds_bytes(dir_name: str) -> bool:
    """Whether an owner's sub-directory of this name holds bytes that count against the budget:
    groups, released directories not yet deleted, and the spares."""
    return not is_hidden(dir_name) or is_pending(dir_name)


def is_pending(dir_name: str) -> bool:
    """Whether an owner's sub-directory of this name holds bytes on their way out or to reuse:
    released directories and the spares."""
    return dir_name.startswith(RELEASED_PREFIX) or dir_name == SPARES_DIR


def new_removing_dir(base: Path) -> Path:
    """A fresh name for a namespace being removed, in its tier base (not created)."""
    return base / (REMOVING_PREFIX + secrets.token_hex(_TOKEN_BYTES))


def is_removing(name: str) -> bool:
    return name.startswith(REMOVING_PREFIX)


def server_record(runtime_dir: str | os.PathLike[str], pid: int) -> Path:
    return Path(runtime_dir) / SERVER_RECORD.format(pid=pid)


def memory_base_record(runtime_dir: Path) -> Path:
    return runtime_dir / MEMORY_BASE_RECORD
