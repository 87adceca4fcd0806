"""The store: one server's namespace across its ordered tiers. Both sides talk to it.

Kernels open an ``Owner`` to write; the server looks names up, sweeps orphans and reports stats.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import Counter, deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import events, layout, locks, pins
from .config import StoreConfig, TierSpec, default_tiers
from .confine import remove_namespace
from .drain import discard
from .errors import VirtualFileError
from .names import new_namespace, owner_key, parse_name
from .owner import Owner
from .stats import StoreStats, Usage, collect
from .sweep import SweepReport, sweep
from .tiers import FileInfo, Tier, TierRefused

log = logging.getLogger("vfs_ext")


class Store:
    """The tiers of one namespace, in fall-back order.

    A tier that cannot be used (refused directory, I/O error) is logged and left out; with no
    usable tier at all, VirtualFileError says which setting to change. Only a server creates
    the namespace (``create``, see ``for_server``); a kernel's store refuses a missing one.
    """

    def __init__(self, config: StoreConfig, *, create: bool = False) -> None:
        self.config = config
        self.namespace = config.namespace
        self.tiers: list[Tier] = []
        self.refused: dict[str, str] = dict(config.refused)  # the server's, for kernels
        self._server_lock_fds: list[int] = []
        self.started = time.time()
        for spec in config.tiers:
            try:
                self.tiers.append(Tier.prepare(spec, config.namespace, create=create))
            except (TierRefused, OSError) as exc:
                self.refused[spec.name] = f"disabled: {exc}"
                log.warning("vfs_ext: %s tier disabled: %s", spec.name, exc)
        if not self.tiers:
            raise VirtualFileError(
                "no usable storage tier ("
                + "; ".join(f"{k}: {v}" for k, v in self.refused.items())
                + "); set VirtualFiles.memory_dir / VirtualFiles.disk_dir to private directories"
            )
        # The server reads (and rotates) the namespace's events file (for_server); a kernel
        # counts what it recorded itself.
        self.events: events.EventLog | None = None
        self._recorded: Counter[str] = Counter()
        self._recent: deque[dict[str, Any]] = deque(maxlen=events.RECENT)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Store | None:
        """The store a server exported to this process, or None when there is no server."""
        config = StoreConfig.from_env(environ)
        return None if config is None else cls(config)

    @classmethod
    def for_server(
        cls, tiers: Iterable[TierSpec] | None = None, namespace: str | None = None, **kwargs: Any
    ) -> Store:
        """A fresh namespace whose ``.server.lock`` this process holds until ``close``."""
        config = StoreConfig(
            tiers=tuple(tiers) if tiers is not None else default_tiers(),
            namespace=namespace or new_namespace(),
            **kwargs,
        )
        store = cls(config, create=True)
        try:
            for tier in store.tiers:
                store._server_lock_fds.append(
                    locks.acquire(layout.server_lock(tier.root), timeout=5)
                )
        except BaseException:
            store.close(remove=True)
            raise
        store.events = events.EventLog(store.events_root, since=store.started)
        return store

    def resolved_config(self) -> StoreConfig:
        """The config with concrete budgets and reserves and only the usable tiers, to export to
        kernels."""
        tiers = tuple(TierSpec(t.name, t.base, t.budget, t.keep_free) for t in self.tiers)
        return StoreConfig(
            tiers=tiers,
            namespace=self.namespace,
            base_url=self.config.base_url,
            max_file_size=self.config.max_file_size,
            threshold=self.config.threshold,
            server_pid=self.config.server_pid,
            refused=tuple(self.refused.items()),
        )

    # -- the reading side --------------------------------------------------------------------

    def lookup(self, name: object) -> FileInfo | None:
        """The file behind a name, searching only our tier directories; None for anything else.

        The name is checked against the strict pattern before the filesystem is touched, and
        only regular files reached through real directories are returned.
        """
        match = parse_name(name)
        if match is None:
            return None
        for tier in self.tiers:
            found = tier.find(match["owner"], match["group"], match.string)
            if found is not None:
                return found
        return None

    def pin(self, names: Iterable[str]) -> int:
        """Pin these files: a saved notebook shows them, so replacing their outputs on the page
        does not release them (a page reloaded from that save shows them). Returns how many of
        ours were pinned (vfs_ext.pins)."""
        return pins.pin(self.tiers, names)

    def unpin(self, names: Iterable[str]) -> int:
        """No saved notebook shows these files any more: those their kernel has already retired
        (marked unshown) are released now, the others go back to the usual rules. Returns how
        many were released (vfs_ext.pins)."""
        return pins.unpin(self.tiers, names)

    def open_owner(self, owner_id: str, *, lock_timeout: float = 10.0) -> Owner:
        """Claim ``owner_id`` (waiting for a previous process of the same id to let go)."""
        return Owner(self, owner_id, lock_timeout=lock_timeout)

    def release_owner(self, owner_id: str) -> Usage:
        """Remove all files of an owner whose session ended; how many, and their bytes."""
        key = owner_key(owner_id)
        released = Usage()
        for tier in self.tiers:
            for f in tier.iter_files(key):
                released.files += 1
                released.bytes += f.size
            discard(tier.owner_dir(key))  # what the server still sends goes on counting
        return released

    def sweep(self, keep_owner_ids: Iterable[str] = ()) -> SweepReport:
        """Remove files of dead owners, in our namespace and in namespaces of dead servers.

        An owner is dead when its lock is free; in our own namespace, owners listed in
        ``keep_owner_ids`` (kernels the server still knows, e.g. restarting) are kept even then.
        Safe while other processes write: live owners hold their locks (vfs_ext.sweep).
        """
        self._poll_events()  # keeps the events file bounded even when no admin looks
        return sweep(self.tiers, self.namespace, {owner_key(i) for i in keep_owner_ids})

    # -- accounting ----------------------------------------------------------------------------

    def stats(self) -> StoreStats:
        """Bytes and files per tier and per owner, read from the directories themselves; the
        events kernels recorded (the server's store) or this process recorded (a kernel's)."""
        self._poll_events()
        counts, recent = (
            (self.events.counts, self.events.recent)
            if self.events is not None
            else (self._recorded, self._recent)
        )
        return collect(self.namespace, self.tiers, self.refused, counts, recent)

    @property
    def events_root(self) -> Path:
        """Events live in the last tier: the one that still has room when the others are full."""
        return self.tiers[-1].root

    def record_event(self, kind: str, **fields: object) -> None:
        event = events.record(self.events_root, kind, **fields)
        self._recorded[kind] += 1
        if kind not in events.ROUTINE:
            self._recent.append(event)

    def _poll_events(self) -> None:
        """The server's reading of the events file; a damaged file must not stop sweeps."""
        if self.events is None:
            return
        try:
            self.events.poll()
        except Exception:
            log.exception("vfs_ext: could not read the events file in %s", self.events_root)

    # -- shutdown ------------------------------------------------------------------------------

    def close(self, *, remove: bool = False) -> None:
        """Drop the server lock; with ``remove``, delete this namespace from every tier.

        The base directory goes too if this process created it and no other namespace is in it,
        so a stopped server leaves nothing in /dev/shm; a directory it found (an admin's) stays.
        """
        if remove:
            for tier in self.tiers:
                remove_namespace(tier.root)  # kernels still writing cannot recreate it
                if tier.created_base:
                    with contextlib.suppress(OSError):
                        os.rmdir(tier.base)  # fails harmlessly while other servers use it
        for fd in self._server_lock_fds:
            locks.release(fd)
        self._server_lock_fds = []
