"""Files taken off the page are released after a grace period, not at once.

A front end renders output messages in order and can lag well behind a kernel that redraws
faster than it draws: a JupyterLab tab asked for nearly every one of the 40 frames of a tight
``clear_output(wait=True)`` loop only after the kernel had replaced it, and each request for a
file released at once was a 404 in the browser's console (tests/browser/test_live_plot.py).
So a replaced output's file stays servable for ``RETIRE_GRACE_S`` seconds, then goes; sooner
when a write needs its room in the same tier; at once when the process exits (a restarted
kernel could not know them).
"""

from __future__ import annotations

import atexit
import heapq
import logging
import threading
import time
from collections.abc import Callable, Iterable

log = logging.getLogger("vfs_ext")

#: Seconds a retired file stays servable. Read at each ``retire`` call; 0 releases at once.
RETIRE_GRACE_S = 5.0


class Retirement:
    """Releases retired names when their grace is over, on one daemon thread started on first
    use; ``release_now`` and ``close`` release them sooner."""

    def __init__(self, release: Callable[[str], object]) -> None:
        self._release = release
        self._due: list[tuple[float, str]] = []  # (monotonic deadline, name), a heap
        self._releasing = 0  # names taken off the heap, not released yet
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def retire(self, names: Iterable[str]) -> None:
        """Release ``names`` after the grace period (at once when it is 0)."""
        names = list(names)
        grace = RETIRE_GRACE_S
        with self._cond:
            if grace > 0 and not self._closed:
                deadline = time.monotonic() + grace
                for name in names:
                    heapq.heappush(self._due, (deadline, name))
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="vfs_ext-retire", daemon=True
                    )
                    self._thread.start()
                    atexit.register(self.close)
                self._cond.notify_all()
                return
        self._release_all(names)

    def cancel(self, names: Iterable[str]) -> None:
        """Take back the pending retirement of ``names`` (shown again)."""
        wanted = set(names)
        with self._cond:
            if wanted and any(name in wanted for _, name in self._due):
                self._due = [entry for entry in self._due if entry[1] not in wanted]
                heapq.heapify(self._due)

    def pending(self) -> frozenset[str]:
        """The names retired whose grace is not over."""
        with self._cond:
            return frozenset(name for _, name in self._due)

    def release_now(self, which: Callable[[str], bool] | None = None) -> bool:
        """Release the retired names (those ``which`` accepts) now, their room being needed, and
        wait for releases in progress; False if there was nothing to release."""
        names = self._release_due(float("inf"), which)
        with self._cond:
            self._cond.wait_for(lambda: not self._releasing, 60.0)
        return bool(names)

    def settle(self, timeout: float = 60.0) -> bool:
        """Wait until every retired name was released; False if that took over ``timeout``."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._due and not self._releasing, timeout)

    def close(self) -> None:
        """Release what is left now and stop the thread (idempotent)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None:
            atexit.unregister(self.close)
            if thread is not threading.current_thread():
                thread.join()
        self.release_now()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._due or self._due[0][0] > time.monotonic()):
                    timeout = self._due[0][0] - time.monotonic() if self._due else None
                    self._cond.wait(timeout)
                if self._closed:
                    return
            self._release_due(time.monotonic())

    def _release_due(self, until: float, which: Callable[[str], bool] | None = None) -> list[str]:
        """Release the names due by ``until`` (and accepted by ``which``); returns them. Counted
        as being released meanwhile, so ``settle`` waits for them."""
        names = self._take(until, which)
        try:
            self._release_all(names)
        finally:
            self._done(len(names))
        return names

    def _take(self, until: float, which: Callable[[str], bool] | None = None) -> list[str]:
        """Pop the names due by ``until`` (and accepted by ``which``), counted as being
        released."""
        with self._cond:
            names: list[tuple[float, str]] = []
            kept: list[tuple[float, str]] = []
            while self._due and self._due[0][0] <= until:
                entry = heapq.heappop(self._due)
                (names if which is None or which(entry[1]) else kept).append(entry)
            for entry in kept:
                heapq.heappush(self._due, entry)
            self._releasing += len(names)
            return [name for _, name in names]

    def _done(self, count: int) -> None:
        with self._cond:
            self._releasing -= count
            self._cond.notify_all()

    def _release_all(self, names: list[str]) -> None:
        for name in names:
            try:
                self._release(name)
            except Exception:
                log.exception("vfs_ext: could not release %s after its grace period", name)
