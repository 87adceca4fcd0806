"""Writing one virtual file: into the first tier that takes it, falling back to the next.

Each attempt is a ``PendingWrite``: a temporary ``.part-<reserved>-<token>`` file whose name
carries its reservation in the tier's budget (vfs_ext.budget), written with ``write(2)`` and
renamed to its final name, so readers never see a partial file. ``write(2)`` on a full tmpfs
fails with ENOSPC; an mmap would die of SIGBUS instead. A stream of unknown size grows its
reservation step by step, so a stalled stream never blocks other writers.

A tier that refuses the file (budget, keep_free, space, I/O error) is skipped; a source that
cannot be re-read continues in the next tier from what the failed one holds (``Partial``).
A failure to read the source (SourceError) ends the write at once: no tier would do better.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from . import layout
from .budget import budget_lock, grow, require_room
from .confine import check_namespace, make_private_dirs
from .errors import IO_ERROR, FitsNowhere, NoRoom, SourceError, refusal
from .reuse import SPARE_MIN, Spare
from .sources import CHUNK, Source
from .tiers import FileInfo, Tier

log = logging.getLogger("vfs_ext")

_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class Writer(Protocol):
    """What a write needs of the owner it writes for (vfs_ext.owner.Owner)."""

    key: str

    @property
    def tiers(self) -> list[Tier]: ...

    @property
    def max_file_size(self) -> int | None: ...

    def keep_lock(self, tier: Tier) -> None: ...

    def take_spare(self, tier: Tier, size: int) -> Spare | None: ...

    def free_later(self, path: Path) -> None: ...

    def free_pending(self, tier: Tier) -> bool: ...

    def record_event(self, kind: str, **fields: object) -> None: ...


@dataclass
class Partial:
    """Bytes already written to a tier that failed, for a source that cannot be re-read."""

    path: Path
    length: int
    pending: bytes = b""  # the chunk that was being written when the tier failed


class TierFailed(Exception):
    """A tier could not take the file; ``partial`` keeps what a non-rereadable source wrote."""

    def __init__(self, reason: str, partial: Partial | None, *, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partial = partial
        self.kind = kind  # one of the kinds in vfs_ext.errors


class PendingWrite:
    """One attempt to write a file into one tier: reserve, grow, commit or abort."""

    def __init__(self, tier: Tier, path: Path, fd: int, reserved: int, *, reused: bool) -> None:
        self.tier = tier
        self.path = path  # the temporary name, carrying the reservation
        self.fd: int | None = fd
        self.reserved = reserved
        self.reused = reused  # a spare overwritten in place (may be longer than its new bytes)
        self.written = 0
        self.chunk: memoryview | None = None  # being written when a failure came

    @classmethod
    def reserve(
        cls,
        tier: Tier,
        directory: Path,
        size: int,
        spare: Spare | None,
        *,
        max_file_size: int | None,
        free_later: Callable[[Path], None],
    ) -> PendingWrite:
        """Reserve ``size`` bytes and create the temporary file: ``spare``'s when given (it
        already counts as used, so reusing it needs only the difference; unused, it is freed
        with ``free_later``). Raises NoRoom when the tier has no room."""
        held = spare.size if spare else 0
        pending = None
        try:
            with budget_lock(tier) as ledger:
                used = ledger.used(size - held) - held
                require_room(tier, used, size, new=size - held, max_file_size=max_file_size)
                path = layout.part_path(directory, size)
                if spare is not None:
                    os.rename(spare.path, path)
                    pending, spare = cls(tier, path, spare.fd, size, reused=True), None
                else:
                    fd = os.open(path, _WRITE_FLAGS, 0o600)
                    pending = cls(tier, path, fd, size, reused=False)
                ledger.charge(size - held)
            return pending
        except BaseException:
            if pending is not None:
                pending.abort()
            raise
        finally:
            if spare is not None:  # not taken (the tier has no room): free it
                os.close(spare.fd)
                free_later(spare.path)

    def write(self, chunk: memoryview, max_file_size: int | None) -> None:
        """Append ``chunk``, growing the reservation first when it would pass it."""
        self.chunk = chunk
        if self.written + len(chunk) > self.reserved:
            self._grow(self.written + len(chunk), max_file_size)
        _write_all(self._fd(), chunk)
        self.written += len(chunk)
        self.chunk = None

    def copy(self, partial: Partial) -> None:
        """Start with what a failed tier holds of a source that cannot be re-read."""
        with open(partial.path, "rb") as f:
            remaining = partial.length
            while remaining:
                block = f.read(min(remaining, CHUNK))
                if not block:
                    break
                _write_all(self._fd(), memoryview(block))
                remaining -= len(block)
        _write_all(self._fd(), memoryview(partial.pending))
        self.written = partial.length - remaining + len(partial.pending)

    def commit(self, final: Path) -> None:
        """Close the file and give it its final name: readers see it whole from now on."""
        fd = self._fd()
        if self.reused:
            os.ftruncate(fd, self.written)  # the spare may have been larger
        self.fd = None
        os.close(fd)
        os.rename(self.path, final)

    def abort(self, *, keep: bool = False) -> Partial | None:
        """Close and remove the file; with ``keep``, keep what was written (and the chunk being
        written) for the next tier, if anything was."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if keep and (self.written > 0 or self.chunk is not None):
            return Partial(self.path, self.written, bytes(self.chunk or b""))
        unlink(self.path)
        return None

    def _grow(self, needed: int, max_file_size: int | None) -> None:
        with budget_lock(self.tier) as ledger:
            grant = grow(
                ledger,
                self.tier,
                reserved=self.reserved,
                needed=needed,
                written=self.written,
                max_file_size=max_file_size,
            )
            grown = layout.part_path(self.path.parent, grant, layout.part_token(self.path))
            os.rename(self.path, grown)
        self.path, self.reserved = grown, grant

    def _fd(self) -> int:
        assert self.fd is not None, "the pending write was committed or aborted"
        return self.fd


def write_file(owner: Writer, source: Source, gkey: str, name: str) -> FileInfo:
    """Write ``source`` as ``name`` in group ``gkey`` into the first tier that takes it.

    A tier refusing it for want of room is retried once after freeing what is pending there
    (spares, retired files, releases in the background); raises FitsNowhere when none takes it.
    """
    attempt = _Fallback(owner)
    queue = list(owner.tiers)
    try:
        while queue:
            tier = queue.pop(0)
            if attempt.count and source.restartable:
                source.rewind()
            attempt.count += 1
            try:
                info = _write_tier(owner, tier, source, gkey, name, attempt.partial)
            except TierFailed as failed:
                if attempt.retry(tier, failed):
                    queue.insert(0, tier)
                continue
            if tier is not owner.tiers[0]:
                log.info(
                    "vfs_ext: %s fell back to the %s tier (%s)", name, tier.name, attempt.reasons
                )
                owner.record_event(
                    "fallback",
                    name=name,
                    to=tier.name,
                    reasons=attempt.reasons,
                    why=sorted(attempt.kinds),
                    size=info.size,
                )
            else:
                owner.record_event("write", name=name, tier=tier.name, size=info.size)
            return info
    finally:
        if attempt.partial is not None:
            unlink(attempt.partial.path)
    check_namespace([tier.root for tier in owner.tiers])  # failed as the server left
    raise FitsNowhere.after(attempt.reasons, attempt.kinds)


class _Fallback:
    """What the tiers tried so far said, and what a non-rereadable source left in them."""

    def __init__(self, owner: Writer) -> None:
        self.owner = owner
        self.count = 0
        self.reasons: list[str] = []
        self.kinds: set[str] = set()
        self.partial: Partial | None = None
        self._freed: set[str] = set()  # tiers whose pending releases were freed for this write

    def retry(self, tier: Tier, failed: TierFailed) -> bool:
        """Note ``failed``; whether to try ``tier`` again (pending memory was freed there)."""
        if failed.partial is not None:
            if self.partial is not None:
                unlink(self.partial.path)
            self.partial = failed.partial
        if tier.name not in self._freed and failed.kind != IO_ERROR:
            self._freed.add(tier.name)
            if self.owner.free_pending(tier):  # released memory was not free yet: retry
                return True
        self.reasons.append(f"{tier.name}: {failed.reason}")
        self.kinds.add(failed.kind)
        return False


def _write_tier(
    owner: Writer, tier: Tier, source: Source, gkey: str, name: str, partial: Partial | None
) -> FileInfo:
    """One attempt in one tier; TierFailed when the tier refuses or fails."""
    pending = _reserve(owner, tier, source, gkey, partial)
    try:
        if partial is not None:
            pending.copy(partial)
        for chunk in source.chunks():
            pending.write(chunk, owner.max_file_size)
        final = tier.file_path(owner.key, gkey, name)
        pending.commit(final)
        return FileInfo(
            name, final, pending.written, tier.name, os.stat(final).st_mtime, owner.key, gkey
        )
    except SourceError:
        pending.abort()
        raise  # the source is at fault: no other tier would do better
    except (OSError, NoRoom) as exc:
        kept = pending.abort(keep=not source.restartable)
        raise _failed(tier, exc, kept) from exc
    except BaseException:
        pending.abort()
        raise


def _reserve(
    owner: Writer, tier: Tier, source: Source, gkey: str, partial: Partial | None
) -> PendingWrite:
    """The attempt's reservation: the source's size, else what a failed tier already holds.
    A spare of about that size is overwritten in place when this owner has one."""
    if source.size is not None:
        size = source.size
    else:
        size = 0 if partial is None else partial.length + len(partial.pending)
    try:
        owner.keep_lock(tier)
        directory = tier.group_dir(owner.key, gkey)
        make_private_dirs(directory, below=tier.root)
        spare = None
        if partial is None and source.size is not None and source.size >= SPARE_MIN:
            spare = owner.take_spare(tier, source.size)
        return PendingWrite.reserve(
            tier,
            directory,
            size,
            spare,
            max_file_size=owner.max_file_size,
            free_later=owner.free_later,
        )
    except (OSError, NoRoom) as exc:
        raise _failed(tier, exc, None) from exc


def _failed(tier: Tier, exc: OSError | NoRoom, partial: Partial | None) -> TierFailed:
    reason, kind = refusal(tier.root, exc)
    if kind == IO_ERROR:
        log.warning("vfs_ext: the %s tier: %s", tier.name, reason)
    return TierFailed(reason, partial, kind=kind)


def _write_all(fd: int, chunk: memoryview) -> None:
    while chunk:
        n = os.write(fd, chunk)
        chunk = chunk[n:]


def unlink(path: Path) -> bool:
    """Remove a file; False if it was gone already."""
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
