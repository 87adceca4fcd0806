"""Fallbacks, evictions and errors happen in kernels; the server counts them for the admin view.

Each event is one JSON line appended (O_APPEND, so concurrent writers never interleave) to a
file in the namespace's last tier. The server reads it incrementally (``EventLog``) and keeps
the counts itself, so the file can be rotated: a server running for weeks neither fills its disk
nor re-reads every event on each admin request.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import layout

#: Rotate past this many bytes read (~5000 events); on disk at most about twice this.
MAX_BYTES = 1024 * 1024
#: Latest events kept for the admin view.
RECENT = 20
#: Kinds recorded for every write and release (counted by metrics, server_side.tally): too
#: frequent for the latest events, which show what went wrong.
ROUTINE = frozenset({"write", "release", "inline"})
_READ_CHUNK = 1024 * 1024
#: A "line" longer than this is not an event (writers append whole lines of a few hundred
#: bytes): skipped, so a damaged file cannot make the server hold it all in memory.
_MAX_LINE = 64 * 1024


def record(root: Path, kind: str, **fields: object) -> dict[str, Any]:
    """Append one event and return it; never raises (losing a counter must not lose an
    output)."""
    event = {"t": time.time(), "kind": kind, **fields}
    line = json.dumps(event, default=str) + "\n"
    try:
        fd = os.open(
            layout.events_file(root), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
    except OSError:
        pass
    return event


class _Cursor:
    """How far one file has been read: its inode (a new file starts over) and byte offset."""

    def __init__(self) -> None:
        self.inode: int | None = None
        self.offset = 0


class EventLog:
    """The server's reader of the events file: every event counted once, the latest kept.

    ``poll`` reads what was appended since the last call and rotates the file once it has read
    ``max_bytes``: writers open the file by name for each event, so after the rename new events
    go to a fresh file, and an event written into the old one meanwhile is still read, because
    the old generation is read to its end at every poll until the next rotation replaces it.
    The only reader: kernels count what they record themselves (Store.record_event).
    Thread-safe: the server polls from its sweeps (a worker thread) and from admin requests.
    """

    def __init__(
        self,
        root: Path,
        *,
        since: float = 0.0,
        max_bytes: int = MAX_BYTES,
        recent: int = RECENT,
    ) -> None:
        self.root = root
        self.since = since
        self.max_bytes = max_bytes
        self.counts: Counter[str] = Counter()
        self.recent: deque[dict[str, Any]] = deque(maxlen=recent)
        #: Called with each event counted, under the reader's lock (e.g. a metrics tally).
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self._current = _Cursor()
        self._rotated: _Cursor | None = None
        self._lock = threading.Lock()

    def poll(self) -> None:
        """Count what was appended since the last poll; rotate a file read past ``max_bytes``."""
        with self._lock:
            rotated = layout.rotated_events_file(self.root)
            if self._rotated is not None:
                self._read(rotated, self._rotated)
            current = layout.events_file(self.root)
            self._read(current, self._current)
            if self._current.offset >= self.max_bytes:
                try:
                    os.replace(current, rotated)
                except OSError:
                    return  # tried again at the next poll
                self._rotated, self._current = self._current, _Cursor()

    def _read(self, path: Path, cursor: _Cursor) -> None:
        """Count the complete lines of ``path`` after ``cursor``; a partial last line waits."""
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed below, read in chunks
        except OSError:
            return
        with f:
            st = os.fstat(f.fileno())
            # First read, or the file was replaced (a new inode, or the old number reused by a
            # file shorter than what was read): start from its beginning.
            if st.st_ino != cursor.inode or st.st_size < cursor.offset:
                cursor.inode, cursor.offset = st.st_ino, 0
            f.seek(cursor.offset)
            pending = b""
            while chunk := f.read(_READ_CHUNK):
                pending += chunk
                complete = pending.rfind(b"\n") + 1
                for line in pending[:complete].splitlines():
                    self._count(line)
                cursor.offset += complete
                pending = pending[complete:]
                if len(pending) > _MAX_LINE:
                    cursor.offset += len(pending)
                    pending = b""

    def _count(self, line: bytes) -> None:
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):  # not an event (a damaged or foreign line)
            return
        if not isinstance(event, dict) or not isinstance(event.get("t"), (int, float)):
            return
        if event["t"] >= self.since:
            self.counts[str(event.get("kind"))] += 1
            if event.get("kind") not in ROUTINE:
                self.recent.append(event)
            for listener in self.listeners:
                listener(event)
