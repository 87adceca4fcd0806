"""Pins and unshown marks: files a saved notebook shows outlive their retirement.

Both sides touch the same two markers beside a file (vfs_ext.layout):

- the server *pins* the files a notebook being saved shows (``.pin-<name>``) and *unpins* those
  no saved notebook shows any more (server_side.pins);
- a kernel retiring a pinned file does not release it but turns its pin into an *unshown* mark
  (``.unshown-<name>``); shown again, the mark turns back into a pin;
- unpinning a file marked unshown releases it: nobody shows it any more.

Renames and creations of markers are atomic, so the two sides need no lock between them.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from . import layout
from .drain import discard
from .names import parse_name
from .tiers import Tier


def placed(
    tiers: Sequence[Tier], names: Iterable[str], owner: str | None = None
) -> Iterator[tuple[Tier, Path, str]]:
    """(tier, group directory, name) for each valid name (of ``owner``'s key, if given), in
    every tier: where the file and its markers would be."""
    for name in names:
        match = parse_name(name)
        if match is not None and owner in (None, match["owner"]):
            for tier in tiers:
                yield tier, tier.group_dir(match["owner"], match["group"]), name


def pin(tiers: Sequence[Tier], names: Iterable[str]) -> int:
    """Pin these files (a saved notebook shows them); how many of ours were pinned."""
    pinned = 0
    for tier, group_dir, name in placed(tiers, names):
        if tier.find(group_dir.parent.name, group_dir.name, name) is None:
            continue
        with contextlib.suppress(OSError):
            flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW
            os.close(os.open(layout.pin_path(group_dir, name), flags, 0o600))
            pinned += 1
    return pinned


def unpin(tiers: Sequence[Tier], names: Iterable[str]) -> int:
    """No saved notebook shows these files any more: those marked unshown are released now,
    the others go back to the usual rules. Returns how many were released."""
    released = 0
    for _tier, group_dir, name in placed(tiers, names):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(layout.pin_path(group_dir, name))
        try:
            os.unlink(layout.unshown_path(group_dir, name))
        except FileNotFoundError:
            continue
        if discard(layout.file_path(group_dir, name)):
            released += 1
    return released


class UnshownMarks:
    """The kernel's side: the pinned files of one owner it retired (marked unshown)."""

    def __init__(self, tiers: Sequence[Tier], key: str) -> None:
        self._tiers = tiers
        self._key = key
        self._marked: set[str] = set()
        self._lock = threading.Lock()

    def mark(self, name: str) -> bool:
        """Turn the pin of a retired file into an unshown mark; False if it is not pinned
        (then it is the caller's to release)."""
        for _tier, group_dir, _name in placed(self._tiers, [name], self._key):
            try:
                os.rename(layout.pin_path(group_dir, name), layout.unshown_path(group_dir, name))
            except FileNotFoundError:
                continue
            with self._lock:
                self._marked.add(name)
            return True
        return False

    def unmark(self, names: Iterable[str]) -> None:
        """These files are shown again: their unshown marks become pins again."""
        with self._lock:
            again = [name for name in names if name in self._marked]  # no syscall per display
            self._marked.difference_update(again)
        for _tier, group_dir, name in placed(self._tiers, again, self._key):
            with contextlib.suppress(FileNotFoundError):
                os.rename(layout.unshown_path(group_dir, name), layout.pin_path(group_dir, name))
