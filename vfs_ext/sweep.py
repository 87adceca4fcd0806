"""Sweeping: removing the files of owners (kernels) and namespaces (servers) that died.

A process holds its ``flock`` while alive and the OS drops it at death, so a lock we can take
is proof that its holder is gone, without trusting pids. Anything in a tier base that does not
look like ours (names.NAMESPACE_RE, names.OWNER_KEY_RE) is someone else's and left alone.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import layout, locks
from .config import format_size
from .confine import leftover_removals, remove_tree
from .drain import discard, reap
from .names import NAMESPACE_RE, OWNER_KEY_RE
from .tiers import Tier, scan_dir, subdirs

log = logging.getLogger("vfs_ext")

#: A directory without a lock file younger than this may be an owner (or server) starting up.
STARTUP_GRACE_S = 30.0


@dataclass
class SweepReport:
    """What a sweep removed."""

    owners: list[str] = field(default_factory=list)
    files: int = 0
    bytes: int = 0


def sweep(tiers: Sequence[Tier], namespace: str, keep: set[str]) -> SweepReport:
    """Sweep dead owners in ``namespace`` (ours; owner keys in ``keep`` stay even when their
    lock is free) and every namespace of a dead server in the same tier bases."""
    report = SweepReport()
    for tier in tiers:
        reap(tier.root)  # released files whose last reader has gone
        for leftover in leftover_removals(tier.base):
            remove_tree(leftover)
        for name in subdirs(tier.base):
            ns_root = layout.namespace_dir(tier.base, name)
            if name == namespace:
                _sweep_owners(ns_root, keep, report)
            elif NAMESPACE_RE.match(name):  # else: not a vfs_ext namespace, someone else's
                _sweep_namespace(ns_root, report)
    if report.owners:
        log.info(
            "vfs_ext: swept %d files (%s) of %d dead owners",
            report.files,
            format_size(report.bytes),
            len(report.owners),
        )
    return report


def _sweep_namespace(ns_root: Path, report: SweepReport) -> None:
    """Sweep another server's namespace if that server is gone; remove it once empty."""
    try:
        server_fd = locks.try_lock(layout.server_lock(ns_root))
    except FileNotFoundError:
        # A server creates its lock right after its directories; without one for a while,
        # nobody serves this namespace (e.g. recreated by a kernel writing after its server
        # removed it).
        if _age(ns_root) < STARTUP_GRACE_S:
            return
        server_fd = None
    except OSError:
        return
    else:
        if server_fd is None:
            return  # another live server: its own sweeps handle it
    try:
        _sweep_owners(ns_root, set(), report)
        if not subdirs(ns_root):
            shutil.rmtree(ns_root, ignore_errors=True)
    finally:
        locks.release(server_fd)


def _sweep_owners(ns_root: Path, keep: set[str], report: SweepReport) -> None:
    for owner in subdirs(ns_root):
        if owner not in keep and OWNER_KEY_RE.match(owner):
            _sweep_owner(layout.owner_dir(ns_root, owner), report)


def _sweep_owner(owner_dir: Path, report: SweepReport) -> None:
    try:
        fd = locks.try_lock(layout.owner_lock(owner_dir))
    except FileNotFoundError:
        if _age(owner_dir) < STARTUP_GRACE_S:
            return  # an owner may be creating its lock right now
        fd = None
    except OSError:
        return
    else:
        if fd is None:
            return  # alive
    try:
        for group in subdirs(owner_dir):
            for entry in scan_dir(layout.group_dir(owner_dir, group)):
                try:
                    report.bytes += entry.stat(follow_symlinks=False).st_size
                    report.files += 1
                except FileNotFoundError:
                    pass
        discard(owner_dir)
        if owner_dir.name not in report.owners:  # one entry per owner, not per tier
            report.owners.append(owner_dir.name)
    finally:
        locks.release(fd)


def _age(path: Path) -> float:
    """Seconds since ``path`` last changed; 0 when it is gone (nothing to do then)."""
    try:
        return time.time() - os.lstat(path).st_mtime
    except FileNotFoundError:
        return 0.0
