"""Writes in progress in this process, per (namespace, owner key).

A closed Owner's writes may still run on other threads when a new Owner of the same key opens
(``%reload_ext``): their ``.part-*`` files are not a dead predecessor's leftovers, so the new
Owner must not sweep them. The count is process-global (owners come and go, writes outlive
them) and reset in a forked child, which runs none of its parent's writes.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

_writing: Counter[tuple[str, str]] = Counter()
_lock = threading.Lock()


@contextmanager
def writing(namespace: str, key: str) -> Iterator[None]:
    """Count a write of ``key``'s files in ``namespace`` while it runs."""
    with _lock:
        _writing[namespace, key] += 1
    try:
        yield
    finally:
        with _lock:
            _writing[namespace, key] -= 1


def any_writing(namespace: str, key: str) -> bool:
    """Whether a write of ``key``'s files in ``namespace`` runs in this process."""
    with _lock:
        return _writing[namespace, key] > 0


def _in_child() -> None:
    """A forked child runs none of its parent's writes (and its copy of the lock is ours)."""
    _writing.clear()
    _lock.release()


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
    os.register_at_fork(
        before=_lock.acquire, after_in_parent=_lock.release, after_in_child=_in_child
    )
