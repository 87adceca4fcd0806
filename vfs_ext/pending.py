"""One attempt to write a virtual file into one tier: reserve, grow, commit or abort.

The attempt is a temporary ``.part-<reserved>-<token>`` file whose name carries its reservation
in the tier's budget (vfs_ext.budget), written with ``write(2)`` and renamed to its final name,
so readers never see a partial file. ``write(2)`` on a full tmpfs fails with ENOSPC; an mmap
would die of SIGBUS instead. A stream of unknown size grows its reservation step by step, so a
stalled stream never blocks other writers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import layout
from .budget import budget_lock, grow, require_room
from .reuse import Spare
from .sources import CHUNK
from .tiers import Tier

_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class Partial:
    """Bytes already written to a tier that failed, for a source that cannot be re-read."""

    path: Path
    length: int
    pending: bytes = b""  # the chunk that was being written when the tier failed


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
        self.path.unlink(missing_ok=True)
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


def _write_all(fd: int, chunk: memoryview) -> None:
    while chunk:
        n = os.write(fd, chunk)
        chunk = chunk[n:]
