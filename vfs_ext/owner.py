"""An owner is one kernel process's claim on its files: it writes, groups and releases them.

The owner holds an ``flock`` in each tier while alive; sweepers take a free lock as proof that
the owner died. Files are grouped (one group per cell run) so re-running a cell can release the
files of its previous run, also after a kernel restart, because groups are directories.
A re-run need not wait for that: ``release_group(..., wait=False, reuse=True)`` hides the group at
once, keeps its large files for the next writes to overwrite and frees the rest in the background
(see vfs_ext.reuse).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import layout, locks
from .budget import budget_lock
from .config import format_size
from .errors import VirtualFileError
from .names import DEFAULT_GROUP, NAME_RE, group_key, new_name, owner_key, parse_name
from .retire import Retirement
from .reuse import SPARE_MIN, ReleaseQueue, Spare, SparePool
from .sources import CHUNK, Data, Source, SourceError, open_source
from .tiers import FileInfo, Tier, pending_dirs, scan_dir, subdirs

if TYPE_CHECKING:
    from .store import Store

log = logging.getLogger("vfs_ext")

#: Released groups this large are freed in the background (``release_group(wait=False)``).
#: Measured here (bench/, 2 cores): freeing 50 MiB on the side saves a re-run 1.5 ms of 17.6;
#: below about 32 MiB it costs more than it saves, because the write that follows then takes
#: fresh pages instead of reusing the ones just freed on its own CPU.
BACKGROUND_RELEASE_MIN = 32 * 1024 * 1024

#: How far ahead a stream of unknown size reserves budget (one budget-lock round trip per step).
RESERVE_STEP = 16 * 1024 * 1024

#: Writes in progress in this process, per (namespace, owner key): a closed Owner's writes may
#: still run on other threads when a new Owner of the same key opens (``%reload_ext``), and
#: their ``.part-*`` files are not a dead predecessor's leftovers.
_writing: Counter[tuple[str, str]] = Counter()
_writing_lock = threading.Lock()


def _writing_in_child() -> None:
    """A forked child runs none of its parent's writes (and its copy of the lock is ours)."""
    _writing.clear()
    _writing_lock.release()


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
    os.register_at_fork(
        before=_writing_lock.acquire,
        after_in_parent=_writing_lock.release,
        after_in_child=_writing_in_child,
    )

_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


#: Why a tier refused a file: its byte budget, its filesystem's space, or another I/O error.
OVER_BUDGET, KEEP_FREE = "over budget", "keeping free"
OUT_OF_SPACE, IO_ERROR = "out of space", "I/O error"

_ADVICE = {
    OVER_BUDGET: "raise VirtualFiles.memory_budget / VirtualFiles.disk_budget",
    KEEP_FREE: "lower VirtualFiles.memory_keep_free / VirtualFiles.disk_keep_free (the room "
    "left to other programs) or free space on that filesystem",
    OUT_OF_SPACE: "free space or point VirtualFiles.memory_dir / VirtualFiles.disk_dir at a "
    "filesystem with more room",
    IO_ERROR: "fix the error above or point VirtualFiles.memory_dir / VirtualFiles.disk_dir at "
    "a directory that can be written",
}


class _DoesNotFit(Exception):
    """This tier's budget is exhausted, or its filesystem's room to keep free; try the next."""

    def __init__(self, reason: str, kind: str = OVER_BUDGET) -> None:
        super().__init__(reason)
        self.kind = kind


class _TierFailed(Exception):
    """A tier could not take the file; ``partial`` keeps what a non-rereadable source wrote."""

    def __init__(self, reason: str, partial: _Partial | None, *, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partial = partial
        self.kind = kind  # OVER_BUDGET, KEEP_FREE, OUT_OF_SPACE or IO_ERROR


class _NoTier(VirtualFileError):
    """No tier took the file; ``room_helps`` when some refused it for want of room (so evicting
    older files may help), not only for I/O errors."""

    def __init__(self, message: str, *, room_helps: bool) -> None:
        super().__init__(message)
        self.room_helps = room_helps


@dataclass
class _Partial:
    """Bytes already written to a tier that failed, for a source that cannot be re-read."""

    path: Path
    length: int
    pending: bytes = b""  # the chunk that was being written when the tier failed


class Owner:
    """Write and release virtual files on behalf of one owner id (e.g. a kernel id)."""

    def __init__(self, store: Store, owner_id: str, *, lock_timeout: float = 10.0) -> None:
        self.store = store
        self.owner_id = owner_id
        self.key = owner_key(owner_id)
        self._lock_timeout = lock_timeout
        self._pid = os.getpid()  # a child forked from this process does not own these files
        self._relock = threading.Lock()  # one thread re-takes a lock; flock is per open file
        self._lock_fds: list[int] = []
        self._releases = ReleaseQueue()
        self._spares = SparePool(self._releases)
        self._retired = Retirement(self._release_unpinned)
        self._unshown: set[str] = set()  # retired but pinned: marked unshown by us
        try:
            for tier in store.tiers:
                self._lock_fds.append(
                    locks.acquire(layout.owner_lock(tier.owner_dir(self.key)), lock_timeout)
                )
            for tier in store.tiers:
                self._release_leftovers(tier)
        except BaseException:
            self.close()
            raise

    def _release_leftovers(self, tier: Tier) -> None:
        """Free what a killed previous process of this owner left: spares, released groups and
        writes it never finished (``.part-*``, counted by their reservation until then).

        Moved out of the way first: this process may keep spares of its own there soon. We hold
        the owner's lock, so no other process writes for this owner; in this process, a closed
        Owner's writes may still be running (``_writing``): their files are left alone.
        """
        owner_dir = tier.owner_dir(self.key)
        names = pending_dirs(owner_dir)
        with _writing_lock:
            writing_here = _writing[self.store.namespace, self.key] > 0
        parts = [
            Path(entry.path)
            for group in ([] if writing_here else subdirs(owner_dir))
            for entry in scan_dir(layout.group_dir(owner_dir, group))
            if layout.is_part(entry.name)
        ]
        if not names and not parts:
            return
        with budget_lock(tier):  # an exact count must not miss the bytes in transit
            released = [_set_aside(layout.group_dir(owner_dir, name)) for name in names]
            if parts:
                released.append(_gather(parts, owner_dir))
        for path in released:
            if path is not None:
                self._releases.submit(path)

    # -- writing ---------------------------------------------------------------------------

    def write(
        self, data: Data, ext: str | None = None, group: str = DEFAULT_GROUP, *, evict: bool = False
    ) -> FileInfo:
        """Store ``data`` in the first tier it fits and return where it went.

        A tier that is over budget, out of space or failing in any way is skipped and its partial
        file removed. With ``evict``, this owner's oldest files of other groups are removed (and
        logged) to make room before giving up. Raises VirtualFileError when nothing fits.
        """
        if not self._lock_fds or self._pid != os.getpid():
            raise ValueError(
                "this Owner is closed (or was inherited from the process that forked this one); "
                "open a new one with Store.open_owner"
            )
        with _writing_lock:
            _writing[self.store.namespace, self.key] += 1
        try:
            return self._write(data, ext, group, evict)
        finally:
            with _writing_lock:
                _writing[self.store.namespace, self.key] -= 1

    def _write(self, data: Data, ext: str | None, group: str, evict: bool) -> FileInfo:
        source = open_source(data)
        try:
            max_size = self.store.config.max_file_size
            if max_size is not None and source.size is not None and source.size > max_size:
                raise self._too_large(source.size)
            gkey = group_key(group)
            name = new_name(self.key, gkey, ext)
            try:
                return self._write_tiers(source, gkey, name)
            except _NoTier as exc:
                if not (
                    evict and exc.room_helps and source.size is not None and source.restartable
                ):
                    raise
                if not self._evict_for(source.size, gkey):
                    raise
                source.rewind()
                return self._write_tiers(source, gkey, name)
        finally:
            source.close()

    def _write_tiers(self, source: Source, gkey: str, name: str) -> FileInfo:
        """Try each tier in order; a source that cannot be re-read continues from what landed.

        A failure to read the source (SourceError) ends the write at once: no tier would do better.
        """
        reasons: list[str] = []
        kinds: set[str] = set()
        partial: _Partial | None = None
        queue = list(self.store.tiers)
        attempts = 0
        settled: set[str] = set()  # tiers whose pending releases were freed for this write
        try:
            while queue:
                tier = queue.pop(0)
                if attempts and source.restartable:
                    source.rewind()
                attempts += 1
                try:
                    info = self._write_tier(tier, source, gkey, name, partial)
                except _TierFailed as failed:
                    if failed.partial is not None:
                        if partial is not None:
                            _unlink(partial.path)
                        partial = failed.partial
                    if tier.name not in settled and failed.kind != IO_ERROR:
                        settled.add(tier.name)
                        if self._free_pending(tier):  # released memory was not free yet: retry
                            queue.insert(0, tier)
                            continue
                    reasons.append(f"{tier.name}: {failed.reason}")
                    kinds.add(failed.kind)
                    continue
                if tier is not self.store.tiers[0]:
                    log.info("vfs_ext: %s fell back to the %s tier (%s)", name, tier.name, reasons)
                    self.store.record_event(
                        "fallback", name=name, to=tier.name, reasons=reasons, size=info.size
                    )
                return info
        finally:
            if partial is not None:
                _unlink(partial.path)
        self.store.record_event("error", reasons=reasons)
        raise _no_tier(reasons, kinds)

    def _write_tier(
        self, tier: Tier, source: Source, gkey: str, name: str, partial: _Partial | None
    ) -> FileInfo:
        """Write to a temporary file with write(2), then rename: readers never see a partial file.

        write(2) on a full tmpfs fails with ENOSPC; an mmap would die of SIGBUS instead.
        """
        directory = tier.group_dir(self.key, gkey)
        tmp: Path | None = None
        fd: int | None = None
        written = 0
        pending: memoryview | None = None
        spare: Spare | None = None
        reused = False
        try:
            self._keep_lock(tier)
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            prefix = 0 if partial is None else partial.length + len(partial.pending)
            reserved = source.size if source.size is not None else prefix
            if partial is None and source.size is not None and source.size >= SPARE_MIN:
                spare = self._spares.take(tier.owner_dir(self.key), source.size)
            with budget_lock(tier) as ledger:
                # A spare already counts as used: reusing it needs only the difference.
                held = spare.size if spare else 0
                self._check_fits(
                    tier, ledger.used(reserved - held) - held, reserved, new=reserved - held
                )
                tmp = layout.part_path(directory, reserved)
                if spare is not None:
                    os.rename(spare.path, tmp)
                    fd, spare = spare.fd, None
                    reused = True
                else:
                    fd = os.open(tmp, _WRITE_FLAGS, 0o600)
                ledger.charge(reserved - held)
            # The reservation in the temporary name holds our place in the budget; a stream of
            # unknown size grows it step by step, so a stalled stream never blocks other writers.
            if partial is not None:
                written = _copy_prefix(partial, fd)
            for chunk in source.chunks():
                pending = chunk
                if written + len(chunk) > reserved:
                    reserved, tmp = self._reserve_more(
                        tier, tmp, reserved, written + len(chunk), written
                    )
                _write_all(fd, chunk)
                written += len(chunk)
                pending = None
            if reused:
                os.ftruncate(fd, written)  # the spare may have been larger
            os.close(fd)
            fd = None
            final = layout.file_path(directory, name)
            os.rename(tmp, final)
            return FileInfo(
                name, final, written, tier.name, os.stat(final).st_mtime, self.key, gkey
            )
        except SourceError:
            if tmp is not None:
                _unlink(tmp)
            raise  # the source is at fault: no other tier would do better
        except (OSError, _DoesNotFit) as exc:
            keep = not source.restartable and (written > 0 or pending is not None)
            if tmp is not None and not keep:
                _unlink(tmp)
            kept = _Partial(tmp, written, bytes(pending or b"")) if keep and tmp else None
            raise _tier_failed(tier, exc, kept) from exc
        except BaseException:
            if tmp is not None:
                _unlink(tmp)
            raise
        finally:
            if fd is not None:
                os.close(fd)
            if spare is not None:  # taken but not used (the tier did not fit): free it
                os.close(spare.fd)
                self._releases.submit(spare.path)

    def _keep_lock(self, tier: Tier) -> None:
        """Lock our directory again if someone removed it (``release_owner``, a manual clean-up):
        files written into a directory without our lock would look orphaned to sweepers."""
        index = self.store.tiers.index(tier)
        path = layout.owner_lock(tier.owner_dir(self.key))
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

    def _reserve_more(
        self, tier: Tier, tmp: Path, reserved: int, needed: int, written: int
    ) -> tuple[int, Path]:
        """Grow the reservation of a write in progress (``written`` bytes so far) to at least
        ``needed`` bytes.

        Reserves ahead (up to RESERVE_STEP, and at most a quarter of the room left) so the budget
        lock is taken about once per step; never further than the filesystem's room above
        ``keep_free``, as nothing is checked until the reservation is used up. Returns the
        reservation and the renamed file.
        """
        with budget_lock(tier) as ledger:
            others = ledger.used(needed - reserved) - reserved  # ours counts as its reservation
            self._check_fits(tier, others, needed, new=needed - written)
            spare = (tier.budget - others - needed) // 4  # leave most of the room to others
            grant = max(needed, min(reserved + RESERVE_STEP, needed + spare))
            if tier.keep_free:
                grant = max(needed, min(grant, written + tier.fs_free() - tier.keep_free))
            max_size = self.store.config.max_file_size
            if max_size is not None:
                grant = max(needed, min(grant, max_size))
            grown = layout.part_path(tmp.parent, grant, layout.part_token(tmp))
            os.rename(tmp, grown)
            ledger.charge(grant - reserved)
        return grant, grown

    def _check_fits(self, tier: Tier, used: int, size: int, *, new: int) -> None:
        """Whether ``size`` bytes fit beside ``used``, ``new`` of them on pages not yet taken
        (a reused spare has its own): within the budget, and leaving ``keep_free``."""
        max_size = self.store.config.max_file_size
        if max_size is not None and size > max_size:
            raise self._too_large(size)
        if used + size > tier.budget:
            raise _DoesNotFit(
                f"budget {format_size(tier.budget)}, used {format_size(used)}, "
                f"needs {format_size(size)}"
            )
        if tier.keep_free and new > 0:
            free = tier.fs_free()  # others' use of the filesystem counts, unlike in a budget
            if free - new < tier.keep_free:
                raise _DoesNotFit(
                    f"{format_size(free)} free on its filesystem, needs {format_size(new)} "
                    f"and keeps {format_size(tier.keep_free)} free for other programs",
                    kind=KEEP_FREE,
                )

    def _too_large(self, size: int) -> VirtualFileError:
        return VirtualFileError(
            f"{format_size(size)} is larger than VirtualFiles.max_file_size "
            f"({format_size(self.store.config.max_file_size or 0)}); raise it in "
            "jupyter_server_config.py"
        )

    def _evict_for(self, size: int, current_gkey: str) -> bool:
        """Remove this owner's oldest files (not of the current group) until one tier has room."""
        for tier in self.store.tiers:
            victims = sorted(
                (f for f in tier.iter_files(self.key) if f.group != current_gkey),
                key=lambda f: f.mtime,
            )
            deficit = tier.used_bytes() + size - tier.budget
            if tier.keep_free:
                try:
                    deficit = max(deficit, tier.keep_free + size - tier.fs_free())
                except OSError:  # the tier's directory is gone: nothing to evict there
                    continue
            if deficit > sum(v.size for v in victims):
                continue
            for victim in victims:
                if deficit <= 0:
                    break
                _unlink(victim.path)
                deficit -= victim.size
                log.warning(
                    "vfs_ext: evicted %s (%s, %s tier) to make room",
                    victim.name,
                    format_size(victim.size),
                    tier.name,
                )
                self.store.record_event("evict", name=victim.name, size=victim.size, tier=tier.name)
            return True
        return False

    # -- reading and releasing -------------------------------------------------------------

    def files(self) -> list[FileInfo]:
        """This owner's files in all tiers, oldest first."""
        found = [f for tier in self.store.tiers for f in tier.iter_files(self.key)]
        return sorted(found, key=lambda f: f.mtime)

    def release(self, name: str) -> bool:
        """Remove one file of this owner; False if it is not ours or already gone."""
        match = parse_name(name)
        if match is None or match["owner"] != self.key:
            return False
        removed = False
        for tier in self.store.tiers:
            removed |= _unlink(tier.file_path(self.key, match["group"], name))
        return removed

    def retire(self, names: Iterable[str]) -> None:
        """Release these files of ours once the front end cannot ask for them any more: after
        ``retire.RETIRE_GRACE_S``, or sooner when a write needs their room (vfs_ext.retire).
        Files a saved notebook shows (``Store.pin``) stay until their group is released."""
        if self._pid == os.getpid():
            self._retired.retire(names)

    def unretire(self, names: Iterable[str]) -> None:
        """Take back the retirement of files shown again: pending, or done but kept by a saved
        notebook (``.unshown-``, which would let the server free them)."""
        names = list(names)
        self._retired.cancel(names)
        again = [name for name in names if name in self._unshown]  # no syscall per display
        for _tier, group_dir, name in self.store.placed(again, self.key):
            self._unshown.discard(name)
            with contextlib.suppress(FileNotFoundError):
                os.rename(layout.unshown_path(group_dir, name), layout.pin_path(group_dir, name))

    def settle_retired(self, timeout: float = 60.0) -> bool:
        """Wait until every retired file was released; False if that took over ``timeout``."""
        return self._retired.settle(timeout)

    def release_group(self, group: str, *, wait: bool = True, reuse: bool = False) -> int:
        """Remove every file of one group (e.g. a cell's previous run); returns how many.

        Their URLs fail at once either way. With ``wait=False`` a group of at least
        ``BACKGROUND_RELEASE_MIN`` bytes is freed on a background thread, so the caller (a cell
        about to write its new output) goes on. With ``reuse``, files of at least
        ``reuse.SPARE_MIN`` bytes are kept for this owner's next writes to overwrite instead
        (see vfs_ext.reuse), until ``drop_spares``.
        """
        gkey = group_key(group)
        count = 0
        for tier in self.store.tiers:
            owner_dir = tier.owner_dir(self.key)
            directory = layout.group_dir(owner_dir, gkey)
            files = _group_files(directory)
            large = {f for f in files if reuse and f[1] >= SPARE_MIN and NAME_RE.match(f[0])}
            rest = [f for f in files if f not in large]
            background = not wait and sum(size for _, size in rest) >= BACKGROUND_RELEASE_MIN
            released = None
            if large or background:
                # Moved under the budget lock: an exact count must not miss the bytes in transit.
                with budget_lock(tier):
                    if large:
                        count += len(self._spares.keep(owner_dir, directory, sorted(large)))
                    if background:
                        released = _set_aside(directory)
            if released is not None:
                self._releases.submit(released)
            elif not background:
                shutil.rmtree(directory, ignore_errors=True)
            else:
                continue  # released by someone else meanwhile
            count += len(rest)
        return count

    def drop_spares(self) -> bool:
        """Free the spares no write took (in the background); False if there were none."""
        return self._spares.drop()

    def _free_pending(self, tier: Tier) -> bool:
        """Free spares and the retired files in ``tier``, wait for background releases;
        whether any memory was pending."""
        dropped = self._spares.drop()
        retired = self._retired.release_now(lambda name: self._holds(tier, name))
        return self._releases.settle() or dropped or retired

    def _release_unpinned(self, name: str) -> bool:
        """Release a retired file, unless a saved notebook shows it: then mark it unshown by
        its kernel, for the server to free once no saved notebook shows it (Store.unpin)."""
        for _tier, group_dir, _name in self.store.placed([name], self.key):
            try:
                os.rename(layout.pin_path(group_dir, name), layout.unshown_path(group_dir, name))
            except FileNotFoundError:
                continue
            self._unshown.add(name)
            return False
        return self.release(name)

    def _holds(self, tier: Tier, name: str) -> bool:
        """Whether ``tier`` holds this file of ours."""
        match = parse_name(name)
        return (
            match is not None
            and match["owner"] == self.key
            and os.path.lexists(tier.file_path(self.key, match["group"], name))
        )

    def settle_releases(self) -> bool:
        """Wait for background releases to free their memory; False if none were pending."""
        return self._releases.settle()

    def release_all(self) -> int:
        """Remove every file of this owner but keep the owner alive."""
        count = 0
        for tier in self.store.tiers:
            for entry in scan_dir(tier.owner_dir(self.key)):
                if not layout.is_hidden(entry.name) and entry.is_dir(follow_symlinks=False):
                    count += _rmtree_count(Path(entry.path))
        return count

    def close(self, *, remove: bool = False) -> None:
        """Drop the locks; with ``remove``, delete the owner's files first.

        In a child forked from the owning process only the child's placeholders of the locks go
        (see vfs_ext.locks): the files, spares and locks are the parent's.
        """
        try:
            if self._pid == os.getpid():
                self._retired.close()
                self._spares.drop()
                self._releases.close()
                if remove:
                    for tier in self.store.tiers:
                        shutil.rmtree(tier.owner_dir(self.key), ignore_errors=True)
        finally:
            fds, self._lock_fds = self._lock_fds, []
            for fd in fds:
                locks.release(fd)

    def __enter__(self) -> Owner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _tier_failed(tier: Tier, exc: OSError | _DoesNotFit, partial: _Partial | None) -> _TierFailed:
    """What to report of a tier's failure: budget, space, or an I/O error named with its path."""
    if isinstance(exc, _DoesNotFit):
        return _TierFailed(str(exc), partial, kind=exc.kind)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _TierFailed(exc.strerror or str(exc), partial, kind=OUT_OF_SPACE)
    code = errno.errorcode.get(exc.errno or 0, "error")
    reason = f"writing in {tier.root} failed: {code} ({exc.strerror or exc})"
    log.warning("vfs_ext: the %s tier: %s", tier.name, reason)
    return _TierFailed(reason, partial, kind=IO_ERROR)


def _no_tier(reasons: list[str], kinds: set[str]) -> _NoTier:
    """The error for a file no tier took, with the fix for each kind of refusal."""
    room_helps = bool(kinds & {OVER_BUDGET, KEEP_FREE, OUT_OF_SPACE})
    advice = " or ".join(
        _ADVICE[kind] for kind in (OVER_BUDGET, KEEP_FREE, OUT_OF_SPACE, IO_ERROR) if kind in kinds
    )
    head = "fits in no tier" if room_helps else "could not be written to any tier"
    return _NoTier(
        f"the virtual file {head} ({'; '.join(reasons)}). To fix it, {advice} "
        "(in jupyter_server_config.py)"
        + (", or release files with %vfs clear." if room_helps else "."),
        room_helps=room_helps,
    )


def _set_aside(directory: Path) -> Path | None:
    """Rename ``directory`` to a released name in its parent (its URLs fail from now on); None
    if it is gone already. Call with the tier's budget lock held."""
    released = layout.new_released_dir(directory.parent)
    try:
        os.rename(directory, released)
    except FileNotFoundError:
        return None
    return released


def _gather(files: list[Path], owner_dir: Path) -> Path | None:
    """Move ``files`` (keeping their names, so the budget still counts them) into one new
    released directory of ``owner_dir``; None if it cannot be made. Call with the tier's budget
    lock held."""
    released = layout.new_released_dir(owner_dir)
    try:
        released.mkdir(mode=0o700)
    except OSError:
        return None
    for path in files:
        with contextlib.suppress(FileNotFoundError):
            os.rename(path, layout.file_path(released, path.name))
    return released


def _write_all(fd: int, chunk: memoryview) -> None:
    while chunk:
        n = os.write(fd, chunk)
        chunk = chunk[n:]


def _copy_prefix(partial: _Partial, fd: int) -> int:
    with open(partial.path, "rb") as f:
        remaining = partial.length
        while remaining:
            block = f.read(min(remaining, CHUNK))
            if not block:
                break
            _write_all(fd, memoryview(block))
            remaining -= len(block)
    _write_all(fd, memoryview(partial.pending))
    return partial.length - remaining + len(partial.pending)


def _unlink(path: Path) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def _group_files(path: Path) -> list[tuple[str, int]]:
    """(name, size) of a group directory's virtual files (not writes in progress, whose names
    start with a dot); empty if the directory is gone."""
    found = []
    for entry in scan_dir(path):
        if not layout.is_hidden(entry.name):
            with contextlib.suppress(FileNotFoundError):
                found.append((entry.name, entry.stat(follow_symlinks=False).st_size))
    return found


def _rmtree_count(path: Path) -> int:
    files = _group_files(path)
    shutil.rmtree(path, ignore_errors=True)
    return len(files)
