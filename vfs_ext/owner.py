"""An owner is one kernel process's claim on its files: it writes, groups and releases them.

The owner holds an ``flock`` in each tier while alive; sweepers take a free lock as proof that
the owner died. Files are grouped (one group per cell run) so re-running a cell can release the
files of its previous run, also after a kernel restart, because groups are directories.
A re-run need not wait for that: ``release_group(..., wait=False, reuse=True)`` hides the group at
once, keeps its large files for the next writes to overwrite and frees the rest in the background
(see vfs_ext.reuse).

This class coordinates; the work is done by the modules it names: vfs_ext.write (a write and its
fall-back through the tiers), vfs_ext.release (releasing on disk), vfs_ext.retire (grace
periods), vfs_ext.pins (unshown marks), vfs_ext.reuse (spares, background frees).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from . import inflight, layout, locks
from .config import StoreConfig
from .confine import check_namespace
from .drain import discard, reap
from .errors import TOO_LARGE, FitsNowhere, TooLarge, too_large
from .names import DEFAULT_GROUP, group_key, new_name, owner_key, parse_name
from .pins import UnshownMarks
from .release import evict_for, release_group, release_groups, sweep_leftovers
from .retire import Retirement
from .reuse import FreeQueue, Spare, SparePool
from .sources import Data, open_source
from .tiers import FileInfo, Tier
from .write import write_file


class StoreView(Protocol):
    """What an owner needs of its store (vfs_ext.store.Store)."""

    config: StoreConfig
    namespace: str
    tiers: list[Tier]

    def record_event(self, kind: str, **fields: object) -> None: ...


class Owner:
    """Write and release virtual files on behalf of one owner id (e.g. a kernel id).

    ``retired`` (vfs_ext.retire.Retirement) and ``freeing`` (vfs_ext.reuse.FreeQueue) are
    the background work in progress: ``settle()`` on either waits for it.
    """

    def __init__(self, store: StoreView, owner_id: str, *, lock_timeout: float = 10.0) -> None:
        self.store = store
        self.owner_id = owner_id
        self.key = owner_key(owner_id)
        self._lock_timeout = lock_timeout
        self._pid = os.getpid()  # a child forked from this process does not own these files
        self._relock = threading.Lock()  # one thread re-takes a lock; flock is per open file
        self._lock_fds: list[int] = []
        self.freeing = FreeQueue()
        self._spares = SparePool(self.freeing)
        self.retired = Retirement(self._release_retired)
        self._unshown = UnshownMarks(store.tiers, self.key)
        try:
            check_namespace([tier.root for tier in store.tiers])
            for tier in store.tiers:
                self._lock_fds.append(locks.acquire(self._lock_path(tier), lock_timeout))
            # We hold the owner's lock, so no other process writes for this owner; in this
            # process, a closed Owner's writes may still be running: their files stay.
            parts = not inflight.any_writing(store.namespace, self.key)
            for tier in store.tiers:
                sweep_leftovers(tier, tier.owner_dir(self.key), self.freeing, parts=parts)
        except BaseException as exc:
            self.close()
            if isinstance(exc, FileNotFoundError):
                check_namespace([tier.root for tier in store.tiers])  # ServerGone says why
            raise

    # -- writing ---------------------------------------------------------------------------

    @property
    def tiers(self) -> list[Tier]:
        return self.store.tiers

    @property
    def max_file_size(self) -> int | None:
        return self.store.config.max_file_size

    def write(
        self, data: Data, ext: str | None = None, group: str = DEFAULT_GROUP, *, evict: bool = False
    ) -> FileInfo:
        """Store ``data`` in the first tier it fits and return where it went.

        A tier that is over budget, out of space or failing in any way is skipped and its partial
        file removed. With ``evict``, this owner's oldest files of other groups are evicted (and
        logged) to make room before giving up. Raises VirtualFileError when nothing fits.
        """
        if not self._lock_fds or self._pid != os.getpid():
            raise ValueError(
                "this Owner is closed (or was inherited from the process that forked this one); "
                "open a new one with Store.open_owner"
            )
        check_namespace([tier.root for tier in self.tiers])
        with inflight.writing(self.store.namespace, self.key):
            source = open_source(data)
            try:
                size, limit = source.size, self.max_file_size
                if limit is not None and size is not None and size > limit:
                    raise too_large(size, limit)
                gkey = group_key(group)
                name = new_name(self.key, gkey, ext)
                try:
                    return write_file(self, source, gkey, name)
                except FitsNowhere as exc:
                    if not (evict and exc.room_helps and size is not None and source.restartable):
                        raise
                    if not evict_for(self.tiers, self.key, size, gkey, self.record_event):
                        raise
                source.rewind()
                return write_file(self, source, gkey, name)
            except FitsNowhere as exc:  # here, not per attempt: eviction may have saved it
                self.record_event("error", reasons=exc.reasons)
                raise
            except TooLarge as exc:
                self.record_event("error", reasons=[str(exc)], why=[TOO_LARGE])
                raise
            finally:
                source.close()

    def keep_lock(self, tier: Tier) -> None:
        """Lock our directory again if someone removed it (``release_owner``, a manual clean-up):
        files written into a directory without our lock would look orphaned to sweepers."""
        index = self.tiers.index(tier)
        path = self._lock_path(tier)
        with self._relock:
            if not self._lock_fds:
                raise ValueError("this Owner was closed while writing; nothing was stored")
            try:
                if os.fstat(self._lock_fds[index]).st_ino == os.lstat(path).st_ino:
                    return
            except FileNotFoundError:
                pass
            fd = locks.acquire(path, self._lock_timeout)
            locks.release(self._lock_fds[index])
            self._lock_fds[index] = fd

    def take_spare(self, tier: Tier, size: int) -> Spare | None:
        return self._spares.take(tier.owner_dir(self.key), size)

    def free_later(self, path: Path) -> None:
        self.freeing.submit(path)

    def free_pending(self, tier: Tier) -> bool:
        """Free spares and the retired files in ``tier``, wait for background frees; whether
        any memory was pending."""
        freed_spares = self._spares.free()
        retired = self.retired.release_now(lambda name: self._holds(tier, name))
        settled = self.freeing.settle()
        return reap(tier.root) > 0 or settled or freed_spares or retired

    def record_event(self, kind: str, **fields: object) -> None:
        self.store.record_event(kind, **fields)

    # -- reading and releasing -------------------------------------------------------------

    def files(self) -> list[FileInfo]:
        """This owner's files in all tiers, oldest first."""
        found = [f for tier in self.tiers for f in tier.iter_files(self.key)]
        return sorted(found, key=lambda f: f.mtime)

    def release(self, name: str) -> bool:
        """Release one file of this owner; False if it is not ours or already gone."""
        match = parse_name(name)
        if match is None or match["owner"] != self.key:
            return False
        released = False
        for tier in self.tiers:
            released |= discard(tier.file_path(self.key, match["group"], name))
        return released

    def retire(self, names: Iterable[str]) -> None:
        """Release these files of ours once the front end cannot ask for them any more: after
        ``retire.RETIRE_GRACE_S``, or sooner when a write needs their room (vfs_ext.retire).
        Files a saved notebook shows (pinned) stay until their group is released."""
        if self._pid == os.getpid():
            self.retired.retire(names)

    def retiring(self) -> frozenset[str]:
        """Files retired whose grace is not over (still stored, no longer shown)."""
        return self.retired.pending()

    def show_again(self, names: Iterable[str]) -> None:
        """These files are shown again: cancel their pending retirement, and turn the unshown
        marks of those retired while pinned back into pins (vfs_ext.pins)."""
        names = list(names)
        self.retired.cancel(names)
        self._unshown.unmark(names)

    def release_group(self, group: str, *, wait: bool = True, reuse: bool = False) -> int:
        """Release every file of one group (e.g. a cell's previous run); returns how many.

        Their URLs fail at once either way. With ``wait=False`` a group of at least
        ``release.BACKGROUND_RELEASE_MIN`` bytes is freed on a background thread, so the caller
        (a cell about to write its new output) goes on. With ``reuse``, files of at least
        ``reuse.SPARE_MIN`` bytes are kept as spares for this owner's next writes to overwrite
        instead (see vfs_ext.reuse), until ``free_spares``.
        """
        gkey = group_key(group)
        done = [
            release_group(
                tier,
                tier.owner_dir(self.key),
                gkey,
                self.freeing,
                self._spares,
                wait=wait,
                reuse=reuse,
            )
            for tier in self.tiers
        ]
        count = sum(files for files, _ in done)
        if count:
            self.record_event("release", why="rerun", files=count, size=sum(n for _, n in done))
        return count

    def free_spares(self) -> bool:
        """Free the spares no write took (in the background); False if there were none."""
        return self._spares.free()

    def release_all(self) -> int:
        """Release every file of this owner but keep the owner alive; how many."""
        return sum(release_groups(tier.owner_dir(self.key)) for tier in self.tiers)

    def close(self, *, remove: bool = False) -> None:
        """Drop the locks; with ``remove``, delete the owner's files first.

        In a child forked from the owning process only the child's placeholders of the locks go
        (see vfs_ext.locks): the files, spares and locks are the parent's.
        """
        try:
            if self._pid == os.getpid():
                self.retired.close()
                self._spares.free()
                self.freeing.close()
                if remove:
                    for tier in self.tiers:
                        discard(tier.owner_dir(self.key))
        finally:
            fds, self._lock_fds = self._lock_fds, []
            for fd in fds:
                locks.release(fd)

    def __enter__(self) -> Owner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers ---------------------------------------------------------------------------

    def _lock_path(self, tier: Tier) -> Path:
        return layout.owner_lock(tier.owner_dir(self.key))

    def _release_retired(self, name: str) -> bool:
        """Release a retired file, unless a saved notebook shows it: then mark it unshown, for
        the server to release once no saved notebook shows it (vfs_ext.pins)."""
        if self._unshown.mark(name):
            return False
        size = self._size_of(name)
        released = self.release(name)
        if released:
            self.record_event("release", why="retired", files=1, size=size)
        return released

    def _size_of(self, name: str) -> int:
        """Bytes of this file of ours in the first tier holding it; 0 if none does."""
        match = parse_name(name)
        if match is None:
            return 0
        for tier in self.tiers:
            try:
                return os.stat(tier.file_path(self.key, match["group"], name)).st_size
            except OSError:
                continue
        return 0

    def _holds(self, tier: Tier, name: str) -> bool:
        """Whether ``tier`` holds this file of ours."""
        match = parse_name(name)
        return (
            match is not None
            and match["owner"] == self.key
            and os.path.lexists(tier.file_path(self.key, match["group"], name))
        )
