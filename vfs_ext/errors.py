"""The errors users see, each saying what to change; and why a tier refused a file.

``VirtualFileError`` is the one exception a write, a lookup or the configuration raises for a
problem of the tiers; ``SourceError`` blames the data being stored instead. The kinds of
refusal below are kept per tier while a write falls back, so the final error gives the advice
for each.
"""

from __future__ import annotations

import errno
import io
from pathlib import Path

#: Why a tier refused a file: its byte budget, its filesystem's room kept free for other
#: programs, its filesystem's space, or another I/O error.
OVER_BUDGET, KEEP_FREE = "over budget", "keeping free"
OUT_OF_SPACE, IO_ERROR = "out of space", "I/O error"
#: Why a write was refused before any tier was tried: one file over max_file_size.
TOO_LARGE = "too large"
#: Refusals that more room would cure (so evicting older files may help).
FOR_WANT_OF_ROOM = frozenset({OVER_BUDGET, KEEP_FREE, OUT_OF_SPACE})

ADVICE = {
    OVER_BUDGET: "raise VirtualFiles.memory_budget / VirtualFiles.disk_budget",
    KEEP_FREE: "lower VirtualFiles.memory_keep_free / VirtualFiles.disk_keep_free (the room "
    "left to other programs) or free space on that filesystem",
    OUT_OF_SPACE: "free space or point VirtualFiles.memory_dir / VirtualFiles.disk_dir at a "
    "filesystem with more room",
    IO_ERROR: "fix the error above or point VirtualFiles.memory_dir / VirtualFiles.disk_dir at "
    "a directory that can be written",
}


class VirtualFileError(Exception):
    """A virtual file could not be written, found or configured."""


class FitsNowhere(VirtualFileError):
    """No tier took the file. ``room_helps`` when some refused it for want of room (so
    releasing older files may help), not only for I/O errors."""

    def __init__(self, message: str, *, room_helps: bool, reasons: list[str] | None = None) -> None:
        super().__init__(message)
        self.room_helps = room_helps
        self.reasons = reasons or []  # each tier's refusal, for the events log

    @classmethod
    def after(cls, reasons: list[str], kinds: set[str]) -> FitsNowhere:
        """The error for a file no tier took, with the fix for each kind of refusal."""
        room_helps = bool(kinds & FOR_WANT_OF_ROOM)
        advice = " or ".join(ADVICE[kind] for kind in ADVICE if kind in kinds)
        head = "fits in no tier" if room_helps else "could not be written to any tier"
        return cls(
            f"the virtual file {head} ({'; '.join(reasons)}). To fix it, {advice} "
            "(in jupyter_server_config.py)"
            + (", or release files with %vfs clear." if room_helps else "."),
            room_helps=room_helps,
            reasons=reasons,
        )


class InvalidExtension(VirtualFileError, ValueError):
    """A file extension that names cannot carry (also a ValueError, as before)."""


class NoRoom(Exception):
    """A tier's budget is exhausted, or its filesystem's room kept free; the next tier may do.
    Caught by the write, which falls back; never seen by users."""

    def __init__(self, reason: str, kind: str = OVER_BUDGET) -> None:
        super().__init__(reason)
        self.kind = kind


class TooLarge(VirtualFileError):
    """One file larger than ``VirtualFiles.max_file_size``: refused before any tier is tried."""


def too_large(size: int, max_file_size: int) -> TooLarge:
    from .config import format_size

    return TooLarge(
        f"{format_size(size)} is larger than VirtualFiles.max_file_size "
        f"({format_size(max_file_size)}); raise it in jupyter_server_config.py"
    )


def refusal(root: Path, exc: OSError | NoRoom) -> tuple[str, str]:
    """(reason, kind) of a tier's failure: budget, space, or an I/O error named with its path."""
    if isinstance(exc, NoRoom):
        return str(exc), exc.kind
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return exc.strerror or str(exc), OUT_OF_SPACE
    code = errno.errorcode.get(exc.errno or 0, "error")
    return f"writing in {root} failed: {code} ({exc.strerror or exc})", IO_ERROR


class SourceError(OSError):
    """Reading the data to store failed: the source is at fault, not a tier, so nothing is
    retried in another tier and nothing is evicted to make room."""

    @classmethod
    def reading(cls, exc: BaseException) -> SourceError:
        """The error to raise for ``exc``, raised by the source's read or seek (any exception
        a file-like object may raise: chain it with ``from exc``)."""
        if isinstance(exc, SourceError):
            return exc
        if isinstance(exc, io.UnsupportedOperation):
            return cls(f"the file to store cannot be read ({exc}); open it for reading ('rb')")
        if not isinstance(exc, OSError):
            return cls(
                f"reading the data to store failed: {type(exc).__name__}: {exc}; nothing was stored"
            )
        message = f"reading the data to store failed: {exc.strerror or exc}; nothing was stored"
        return cls(message) if exc.errno is None else cls(exc.errno, message)
