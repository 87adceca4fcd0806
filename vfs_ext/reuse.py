"""What happens to a released file's memory: freed in the background, or reused by the next write.

Re-running a cell replaces its outputs. Freeing a 50 MiB output's tmpfs pages and allocating
(and zeroing) new ones for its successor costs more than copying the new bytes: measured in
bench/, a re-run of a 50 MiB image spends about 3 ms freeing and 15 ms writing into fresh pages.
So a re-run keeps its previous large files as *spares* and the next writes overwrite them in
place, after the group directory is gone, so the old URLs already fail.

Overwriting is only safe when nobody still reads the old bytes: a browser may be halfway through
downloading the previous output. A Linux write lease is granted only when no other open file or
mapping refers to the file (any process), so a spare is reused only if the lease is granted;
otherwise it is freed and the write takes fresh pages. The server copies bytes into its sockets
(``send``), so nothing it already sent refers to the file's pages.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import layout
from .drain import LEASE_BREAK_SIGNAL, discard

#: Released files at least this large are kept as spares; smaller ones cost little to free.
SPARE_MIN = 1024 * 1024

_SPARE_FLAGS = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC


def _delete(path: Path) -> None:
    """Remove a file or a directory tree (files still read go on counting: vfs_ext.drain)."""
    discard(path)


class FreeQueue:
    """Frees (deletes) released groups and unused spares on one background thread.

    Freeing a large output's tmpfs pages takes milliseconds that a re-run cell would otherwise
    wait for. What is queued is already out of sight (renamed), so its URLs fail at once; until
    deleted it still counts against the tier's budget, and a write that does not fit waits for
    the queue (``settle``) before falling back.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: set[Future[None]] = set()
        self._executor: ThreadPoolExecutor | None = None

    def submit(self, path: Path) -> None:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="vfs_ext-release")
            future = self._executor.submit(_delete, path)
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def settle(self, timeout: float = 60.0) -> bool:
        """Wait until every queued deletion finished; False if there was nothing to wait for."""
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            future.result(timeout)
        return bool(pending)

    def close(self) -> None:
        self.settle()
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


def take_lease(fd: int) -> bool:
    """A write lease on ``fd``'s file: Linux grants it only to the sole opener (no other open
    file or mapping, in any process). False without lease support (another OS, a filesystem
    without leases, ``fs.leases-enable = 0``)."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETSIG, LEASE_BREAK_SIGNAL)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
    except (AttributeError, OSError):
        return False
    return True


def unshared(fd: int) -> bool:
    """Whether no other open file or mapping (of any process) refers to ``fd``'s file: takes a
    write lease and gives it back at once. Without lease support: False, never reuse."""
    if not take_lease(fd):
        return False
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
    return True


@dataclass
class Spare:
    """A released file taken for reuse: open for writing, known to be read by nobody."""

    path: Path
    size: int
    fd: int


class SparePool:
    """One owner's spares, per tier directory (a spare is reused only in the tier it is in)."""

    def __init__(self, freeing: FreeQueue) -> None:
        self._freeing = freeing
        self._lock = threading.Lock()
        self._spares: dict[Path, list[tuple[Path, int]]] = {}  # owner dir -> (path, size)

    def keep(self, owner_dir: Path, group_dir: Path, names: list[tuple[str, int]]) -> list[str]:
        """Move these files (name, size) of ``group_dir`` into the spares; returns the names
        moved (not those released meanwhile by someone else).

        Call with the tier's budget lock held (vfs_ext.budget): an exact count of the tier
        running meanwhile could otherwise miss a file in transit and under-count the budget.
        """
        moved = []
        for name, size in names:
            target = layout.new_spare_path(owner_dir)
            try:
                target.parent.mkdir(mode=0o700, exist_ok=True)
                os.rename(group_dir / name, target)
            except FileNotFoundError:
                continue
            moved.append((name, target, size))
        with self._lock:
            self._spares.setdefault(owner_dir, []).extend((t, size) for _, t, size in moved)
        return [name for name, _, _ in moved]

    def take(self, owner_dir: Path, size: int) -> Spare | None:
        """The spare of ``owner_dir`` best fitted to ``size`` bytes that nobody reads, if any.

        Prefers the smallest spare that holds ``size`` (else the largest); a spare still being
        read is freed instead (its readers keep their bytes) and the next one tried.
        """
        while True:
            with self._lock:
                spares = self._spares.get(owner_dir)
                if not spares:
                    return None
                fitting = [s for s in spares if s[1] >= size]
                best = (
                    min(fitting, key=lambda s: s[1]) if fitting else max(spares, key=lambda s: s[1])
                )
                spares.remove(best)
            path, _ = best
            try:
                fd = os.open(path, _SPARE_FLAGS)
            except OSError:
                continue
            st = os.fstat(fd)
            if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and unshared(fd):
                return Spare(path, st.st_size, fd)
            os.close(fd)
            self._freeing.submit(path)

    def free(self) -> bool:
        """Free every spare left (in the background); False if there was none."""
        with self._lock:
            spares = [path for paths in self._spares.values() for path, _ in paths]
            self._spares.clear()
        for path in spares:
            self._freeing.submit(path)
        return bool(spares)
