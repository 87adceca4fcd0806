"""Writing one virtual file: into the first tier that takes it, falling back to the next.

Each attempt is a ``PendingWrite`` (vfs_ext.pending) in one tier. A tier that refuses the file
(budget, keep_free, space, I/O error) is skipped; a source that cannot be re-read continues in
the next tier from what the failed one holds (``Partial``). A failure to read the source
(SourceError) ends the write at once: no tier would do better.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

from .confine import check_namespace, make_private_dirs
from .errors import IO_ERROR, FitsNowhere, NoRoom, SourceError, refusal
from .pending import Partial, PendingWrite
from .reuse import SPARE_MIN, Spare
from .sources import Source
from .tiers import FileInfo, Tier

log = logging.getLogger("vfs_ext")


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


class TierFailed(Exception):
    """A tier could not take the file; ``partial`` keeps what a non-rereadable source wrote."""

    def __init__(self, reason: str, partial: Partial | None, *, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partial = partial
        self.kind = kind  # one of the kinds in vfs_ext.errors


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
            attempt.partial.path.unlink(missing_ok=True)
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
                self.partial.path.unlink(missing_ok=True)
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
