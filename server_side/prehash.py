"""Hash ahead: the SHA-256 of each large file a kernel stores, computed in the background before
a save needs it, so a save of new outputs only copies them (server_side.persist_copy).

Kernels append one line per stored file to the events file (vfs_ext.events). A worker thread of
the server reads the new lines every ``POLL_S`` (an open and a read of one file, no directory
walk) and hashes the files they name one at a time, at the lowest CPU priority (nice 19 on
Linux), so kernels and requests keep the CPU first. A file released before the worker gets to it
is skipped (a redraw loop costs one hash per frame still shown), the queue keeps the newest
``QUEUE`` names, and files under ``MIN_BYTES`` are left to the save (cheap to hash then).

A hash is recorded with the identity of the file it read (inode, size, mtime, ctime), and a
save uses it only if the file it copies has that identity before and after the copy; otherwise
the save hashes the copy it made. A save that needs the file the worker is hashing does not wait
for it (a thread at nice 19 may not run for a while on a busy machine): it takes the hash state
the worker reached at its last chunk and goes on from there at its own priority, so at most one
chunk is hashed twice.
Kernels own their files and could change one without changing its times (through a mapping
written to before the hash), so what keeps a sidecar file from being served under a hash its
bytes do not match is still the check before its first serve (server_side.persist).
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vfs_ext.names import parse_name
from vfs_ext.store import Store

log = logging.getLogger("vfs_ext")

#: Files smaller than this are hashed at save (about 1 ms per MiB); no worker time for them.
MIN_BYTES = 1024 * 1024
#: Names waiting for the worker; the oldest are dropped (and hashed at save if still shown).
QUEUE = 256
#: Seconds between readings of the events file: the latency before hashing starts.
POLL_S = 0.5
#: Past this many hashes known, those of files no tier holds any more are forgotten.
KNOWN_MAX = 10_000
#: Bytes read and hashed between checks for a save that wants the file, or a stop.
CHUNK = 4 * 1024 * 1024

_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK

Identity = tuple[int, int, int, int, int]


def identity(st: os.stat_result) -> Identity:
    """What changes when a file's bytes are replaced or written (short of a live mapping)."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@dataclass(frozen=True)
class Hashed:
    """A file's SHA-256 and the identity of the file it was computed from."""

    digest: str
    identity: Identity


@dataclass
class _Job:
    """The file the worker is hashing; a save that wants it sets ``wanted`` (the worker stops)
    and goes on from ``reached``: a copy of the hash state after the last chunk, its offset and
    the identity of the file read."""

    name: str
    wanted: bool = False
    reached: tuple[Any, int, Identity] | None = None


def hash_into(
    state: Any, fd: int, size: int, offset: int = 0, step: Callable[[int], bool] | None = None
) -> int:
    """Feed bytes ``offset`` to ``size`` of ``fd`` into ``state`` in ``CHUNK`` reads (no mapping:
    a file truncated meanwhile is an OSError, not a SIGBUS); the offset reached, short of
    ``size`` if ``step(offset)``, called after each chunk, said to stop."""
    view = memoryview(bytearray(min(CHUNK, max(size - offset, 0))))
    while offset < size:
        n = os.preadv(fd, [view[: size - offset]], offset)
        if n == 0:
            raise OSError(errno.EIO, "file shrank while being hashed")
        state.update(view[:n])
        offset += n
        if step is not None and not step(offset):
            break
    return offset


class Prehasher:
    """The worker thread, its queue, and the hashes known (name -> Hashed; names are never
    reused for other bytes); thread-safe. ``start`` it, ``stop`` it with the server."""

    def __init__(self, store: Store, *, min_bytes: int = MIN_BYTES, poll_s: float = POLL_S):
        self.store = store
        self.min_bytes = min_bytes
        self.poll_s = poll_s
        self.totals = {
            "hashed_ahead_files": 0,
            "hashed_ahead_bytes": 0,
            "hashed_at_save_files": 0,
            "hashed_at_save_bytes": 0,
        }
        self._known: dict[str, Hashed] = {}
        self._queue: OrderedDict[str, None] = OrderedDict()
        self._current: _Job | None = None
        self._saving: set[str] = set()  # names saves are hashing
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.store.events is None:
            return  # not a server's store: no events to follow
        self.store.events.listeners.append(self.on_event)
        self._thread = threading.Thread(target=self._run, name="vfs_ext-prehash", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the worker (it checks between chunks) and wait for it."""
        self._stopping.set()
        self._wake.set()
        if self.store.events is not None and self.on_event in self.store.events.listeners:
            self.store.events.listeners.remove(self.on_event)
        if self._thread is not None:
            self._thread.join(10.0)
            if self._thread.is_alive():
                log.warning("vfs_ext: the hashing thread did not stop within 10 s")

    # -- the worker ----------------------------------------------------------------------------

    def on_event(self, event: dict[str, Any]) -> None:
        """An ``EventLog`` listener: queue each large file a kernel stored."""
        name, size = event.get("name"), event.get("size")
        if event.get("kind") not in ("write", "fallback") or not isinstance(size, int):
            return
        if size < self.min_bytes or parse_name(name) is None:
            return
        assert isinstance(name, str)
        with self._lock:
            if name in self._known or name in self._saving or self._stopping.is_set():
                return
            self._queue[name] = None
            while len(self._queue) > QUEUE:
                self._queue.popitem(last=False)
        self._wake.set()

    def _run(self) -> None:
        _lower_priority()
        events = self.store.events
        assert events is not None
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                events.poll()
            except Exception:
                log.exception("vfs_ext: could not read the events file")
            while (job := self._next()) is not None:
                try:
                    self._hash(job)
                except Exception:
                    log.exception("vfs_ext: could not hash %s ahead of a save", job.name)
                finally:
                    with self._lock:
                        self._current = None
            if len(self._known) > KNOWN_MAX:
                self._forget_released()
            self._wake.wait(self.poll_s)

    def _forget_released(self) -> None:
        """Keep memory bounded: only files still in a tier are ever copied by a save."""
        with self._lock:
            names = list(self._known)
        gone = [name for name in names if self.store.lookup(name) is None]
        with self._lock:
            for name in gone:
                self._known.pop(name, None)

    def _next(self) -> _Job | None:
        with self._lock:
            while self._queue and not self._stopping.is_set():
                name = self._queue.popitem(last=False)[0]
                if name not in self._known and name not in self._saving:
                    self._current = _Job(name)
                    return self._current
            return None

    def _hash(self, job: _Job) -> None:
        """Hash one file if it is still ours and still shown, chunk by chunk."""
        info = self.store.lookup(job.name)
        if info is None:
            return  # released before its turn
        try:
            fd = os.open(info.path, _FLAGS)
        except OSError:
            return
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return
            state = hashlib.sha256()
            done = hash_into(state, fd, st.st_size, step=lambda n: self._step(job, state, n, st))
            if done == st.st_size and identity(os.fstat(fd)) == identity(st):
                self._learn(job.name, Hashed(state.hexdigest(), identity(st)), files=1)
        except OSError:
            return  # truncated or unreadable: the save will see
        finally:
            os.close(fd)

    def _step(self, job: _Job, state: Any, offset: int, st: os.stat_result) -> bool:
        """After a chunk: count it, leave a copy of the state for a save, go on unless one
        wants the file or the server stops."""
        with self._lock:
            self.totals["hashed_ahead_bytes"] += offset - (job.reached[1] if job.reached else 0)
            job.reached = (state.copy(), offset, identity(st))
            return not (job.wanted or self._stopping.is_set())

    def _learn(self, name: str, hashed: Hashed, *, files: int = 0) -> None:
        with self._lock:
            self._known[name] = hashed
            self.totals["hashed_ahead_files"] += files

    # -- what saves use ------------------------------------------------------------------------

    def get(self, name: str) -> Hashed | None:
        with self._lock:
            return self._known.get(name)

    def pending(self) -> int:
        """Files waiting for the worker or being hashed by it."""
        with self._lock:
            return len(self._queue) + (self._current is not None)

    def hash_for_save(self, name: str, fd: int, st: os.stat_result) -> Hashed:
        """The hash of the file open at ``fd`` (``st`` its stat when opened): known ahead, taken
        over from the worker, or computed now (and counted). It is ``st``'s file's; the caller
        checks that the bytes it copied are that file's still."""
        now = identity(st)
        with self._lock:
            known = self._known.get(name)
            job = self._current if self._current and self._current.name == name else None
            if job is not None:
                job.wanted = True
                reached = job.reached
            else:
                self._queue.pop(name, None)  # hashed here instead
                reached = None
            self._saving.add(name)
        try:
            if known is not None and known.identity == now:
                return known
            state, offset = hashlib.sha256(), 0
            if reached is not None and reached[2] == now:
                state, offset = reached[0].copy(), reached[1]  # the job keeps its own
            hash_into(state, fd, st.st_size, offset)
            hashed = Hashed(state.hexdigest(), now)
            with self._lock:
                self._known[name] = hashed  # the caller trusts it only for an unchanged file
                self.totals["hashed_at_save_files"] += 1
                self.totals["hashed_at_save_bytes"] += st.st_size - offset
            return hashed
        finally:
            with self._lock:
                self._saving.discard(name)


def _lower_priority() -> None:
    """Nice 19 for the calling thread (Linux: setpriority applies to one thread); elsewhere
    the worker runs at the server's priority."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError) as exc:
        log.debug("vfs_ext: the hashing thread keeps the server's priority: %s", exc)
