"""A tier's budget check in O(1): the bytes in use are reckoned, not counted, on every write.

Counting means a ``stat`` of every file of every kernel of the server (~10 µs each): with 1,000
outputs alive, every write paid 10 ms under a lock that serializes all writers. Instead the
budget lock file holds a running figure. Every *increase* of a tier's usage is a reservation made
under that lock, which adds it to the figure; decreases (releases, deletions, a file shorter than
its reservation) do not touch it. So the figure is never below the truth, only above it; when it
would refuse a write, an exact count replaces it and decides. A writer that dies after charging
leaves the figure high, never low. Files moved between directories (released groups set aside,
spares kept for reuse) move under the lock too, so an exact count never finds them in neither
place.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from . import layout, locks
from .tiers import Tier

#: The figure as text, fixed width so that rewriting it in place never leaves old digits behind.
_WIDTH = 20


class Ledger:
    """The reckoned bytes in use of one tier; valid only while its budget lock is held."""

    def __init__(self, fd: int, tier: Tier) -> None:
        self._fd = fd
        self._tier = tier
        self._figure: int | None = None  # as ``used`` returned it

    def used(self, more: int) -> int:
        """Bytes in use, to check ``more`` bytes against the budget: the reckoned figure when it
        leaves room for them, else an exact count (which also becomes the new figure)."""
        figure = self._read()
        if figure is None or figure + more > self._tier.budget:
            figure = self._tier.used_bytes()
            self._write(figure)
        self._figure = figure
        return figure

    def charge(self, nbytes: int) -> None:
        """Add ``nbytes`` just reserved in the tier (nothing for a negative amount); after
        ``used``, within the same hold of the lock."""
        assert self._figure is not None, "charge() needs used() first"
        if nbytes > 0:
            self._figure += nbytes
            self._write(self._figure)

    def _read(self) -> int | None:
        """The figure, None if there is none yet (a new or truncated lock file) or it is garbled."""
        raw = os.pread(self._fd, _WIDTH + 1, 0)
        try:
            value = int(raw)
        except ValueError:
            return None
        return value if value >= 0 else None

    def _write(self, value: int) -> None:
        os.pwrite(self._fd, f"{value:0{_WIDTH}d}\n".encode("ascii"), 0)


@contextmanager
def budget_lock(tier: Tier) -> Iterator[Ledger]:
    """Serialize budget checks of all writers (all processes) in one tier; yields its ledger.

    Also held by whatever moves a tier's files between directories (a release setting a group
    aside, spares kept for reuse): an exact count interleaved with such a move would miss the
    moved bytes and write a figure below the truth. The fd is noted in vfs_ext.locks, so a
    process forked meanwhile does not keep the lock (and every writer of the tier waiting).
    """
    fd = locks.open_lock_file(layout.budget_lock(tier.root), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield Ledger(fd, tier)
    finally:
        locks.release(fd)
