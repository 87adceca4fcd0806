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

The checks themselves live here too: a write needs room within the tier's budget *and* must
leave ``keep_free`` bytes of the tier's filesystem to other programs (others' use of the
filesystem counts there, unlike in a budget).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import layout, locks
from .config import format_size
from .errors import KEEP_FREE, NoRoom, too_large
from .tiers import Tier

#: How far ahead a stream of unknown size reserves budget (one budget-lock round trip per step).
RESERVE_STEP = 16 * 1024 * 1024

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
    with hold_budget_lock(tier.root) as fd:
        yield Ledger(fd, tier)


@contextmanager
def hold_budget_lock(root: Path) -> Iterator[int]:
    """The budget lock of the tier folder ``root`` (see ``budget_lock``); yields its fd."""
    fd = locks.open_lock_file(layout.budget_lock(root), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        locks.release(fd)


def require_room(
    tier: Tier, used: int, size: int, *, new: int, max_file_size: int | None = None
) -> None:
    """Raise NoRoom unless ``size`` bytes fit beside ``used`` within the budget, and ``new`` of
    them (those on pages not yet taken: a reused spare has its own) leave ``keep_free``; raise
    VirtualFileError above ``max_file_size``."""
    if max_file_size is not None and size > max_file_size:
        raise too_large(size, max_file_size)
    if used + size > tier.budget:
        raise NoRoom(
            f"budget {format_size(tier.budget)}, used {format_size(used)}, "
            f"needs {format_size(size)}"
        )
    if tier.keep_free and new > 0:
        free = tier.fs_free()
        if free - new < tier.keep_free:
            raise NoRoom(
                f"{format_size(free)} free on its filesystem, needs {format_size(new)} "
                f"and keeps {format_size(tier.keep_free)} free for other programs",
                kind=KEEP_FREE,
            )


def grow(
    ledger: Ledger,
    tier: Tier,
    *,
    reserved: int,
    needed: int,
    written: int,
    max_file_size: int | None = None,
) -> int:
    """The new reservation of a write in progress (``written`` bytes so far, ``reserved``
    charged) that needs ``needed`` bytes, charged to ``ledger``; raises NoRoom.

    Reserves ahead (up to RESERVE_STEP, and at most a quarter of the headroom left) so the
    budget lock is taken about once per step; never further than the filesystem's room above
    ``keep_free``, as nothing is checked until the reservation is used up.
    """
    others = ledger.used(needed - reserved) - reserved  # ours counts as its reservation
    require_room(tier, others, needed, new=needed - written, max_file_size=max_file_size)
    headroom = (tier.budget - others - needed) // 4  # leave most of it to others
    grant = max(needed, min(reserved + RESERVE_STEP, needed + headroom))
    if tier.keep_free:
        grant = max(needed, min(grant, written + tier.fs_free() - tier.keep_free))
    if max_file_size is not None:
        grant = max(needed, min(grant, max_file_size))
    ledger.charge(grant - reserved)
    return grant


def shortfall(tier: Tier, size: int) -> int:
    """Bytes to free in ``tier`` before ``size`` more fit its budget and its ``keep_free``
    (counted exactly; zero or less when they fit). OSError if the tier's directory is gone."""
    deficit = tier.used_bytes() + size - tier.budget
    if tier.keep_free:
        deficit = max(deficit, tier.keep_free + size - tier.fs_free())
    return deficit
