"""The tiers' contents as last counted, so nothing walks them on the server's event loop.

Counting every file is what ``Store.stats()`` does (about 270 ms at 20,000 files); done on the
event loop it held up every other request. Here it runs on a worker thread: ``api/vfs`` awaits
a fresh count, and a metrics scrape takes the latest one at once and, when that is older than
``max_age``, starts the next in the background. Counting also reads the kernels' new events
(Store.stats polls the events file), so counters derived from them advance with it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from vfs_ext.stats import StoreStats
from vfs_ext.store import Store

log = logging.getLogger("vfs_ext")

#: Seconds a count serves scrapes before the next is started (Prometheus scrapes every 15-60 s).
MAX_AGE = 10.0


class TierUsage:
    """The latest ``Store.stats()`` and when its count started (``counted``)."""

    def __init__(self, store: Store, max_age: float = MAX_AGE) -> None:
        self.store = store
        self.max_age = max_age
        self.stats: StoreStats = store.stats()  # at start-up, before any request
        self.counted = time.time()
        self._counting = False
        self._lock = threading.Lock()

    async def fresh(self) -> StoreStats:
        """Count now, on a worker thread."""
        return await asyncio.to_thread(self._count)

    def latest(self) -> StoreStats:
        """The last count at once; a stale one starts the next count in the background."""
        with self._lock:
            start = not self._counting and time.time() - self.counted > self.max_age
            self._counting = self._counting or start
        if start:
            threading.Thread(target=self._count_in_background, daemon=True).start()
        return self.stats

    def _count(self) -> StoreStats:
        started = time.time()
        stats = self.store.stats()
        with self._lock:
            if started >= self.counted:  # a slower count started earlier must not win
                self.stats, self.counted = stats, started
        return stats

    def _count_in_background(self) -> None:
        try:
            self._count()
        except Exception:  # a vanished directory at shutdown, an I/O error: next scrape retries
            log.exception("vfs_ext: counting the tiers for metrics failed")
        finally:
            with self._lock:
                self._counting = False
