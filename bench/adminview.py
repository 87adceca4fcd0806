"""Figure 8: the admin view at scale. A Prometheus scrape of ``{base_url}metrics`` and
``GET api/vfs`` with 100 / 5,000 / 20,000 virtual files in the tiers.

Before, both walked every file on the server's event loop (``Store.stats()``: 274 ms at 20,000
files, every other request waiting meanwhile). Now a scrape reads running figures and the
latest count (server_side.usage), and ``api/vfs`` counts on a worker thread. The collector is
timed alone (the server's code on the same tiers, in this process) against that walk; the HTTP
scrape, which also carries jupyter_server's own metrics, beside a trivial authenticated GET.
"""

from __future__ import annotations

import functools
import statistics
import time
from pathlib import Path

from server_side.counters import ServerCounters
from server_side.metrics import VirtualFilesCollector
from server_side.tally import Tally
from server_side.usage import TierUsage
from tests.support.server import RunningServer
from vfs_ext.config import StoreConfig, TierSpec
from vfs_ext.store import Store

from .harness import Bench
from .report import Results, Row, fmt_s, median_time

#: A scrape's target: cheap enough for any scrape interval, whatever the tiers hold.
SCRAPE_TARGET_S = 0.005
FILES_PER_GROUP = 500


def _writer_store(server: RunningServer) -> Store:
    """A kernel's view of the server's namespace (as tests/server/conftest.server_store)."""
    report = server.api("GET", "api/vfs")
    tiers = tuple(TierSpec(t["name"], Path(t["path"]).parent, t["budget"]) for t in report["tiers"])
    return Store(StoreConfig(tiers=tiers, namespace=report["namespace"]))


def _collect_all(collector: VirtualFilesCollector) -> list[object]:
    """One scrape's worth of work: every metric family the collector yields."""
    return list(collector.collect())


def _timed(server: RunningServer, path: str, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        status, _, _ = server.request("GET", path)
        times.append(time.perf_counter() - t0)
        assert status == 200, (path, status)
    return times


async def run(bench: Bench, results: Results, counts: list[int], repeats: int) -> None:
    server = bench.server
    store = _writer_store(server)
    owner = store.open_owner("bench-admin-view")
    written = 0
    try:
        for count in counts:
            while written < count:
                owner.write(b"x" * 64, "bin", group=f"g{written // FILES_PER_GROUP}")
                written += 1
            walk = median_time(store.stats, max(repeats, 3))
            # The collector the server runs, on the same tiers, timed alone in this process.
            collector = VirtualFilesCollector(
                store.tiers, TierUsage(store), Tally(), ServerCounters()
            )
            collect = median_time(functools.partial(_collect_all, collector), 20 * repeats)
            results.add(
                Row(
                    "8 admin view",
                    f"metrics collector, {count:,} files",
                    fmt_s(collect),
                    f"walk {fmt_s(walk)}",
                    f"{walk / collect:.0f}x",
                    "< 5 ms",
                    "ok" if collect < SCRAPE_TARGET_S else "MISS",
                )
            )
            server.request("GET", "api/vfs")  # the count a scrape then reads
            scrape = statistics.median(_timed(server, "metrics", 10 * repeats))
            floor = statistics.median(_timed(server, "api/status", 10 * repeats))
            results.add(
                Row(
                    "8 admin view",
                    f"GET metrics over HTTP, {count:,} files",
                    fmt_s(scrape),
                    f"GET api/status {fmt_s(floor)}",
                )
            )
            api = statistics.median(_timed(server, "api/vfs", max(repeats, 3)))
            results.add(
                Row(
                    "8 admin view",
                    f"GET api/vfs, {count:,} files (counted on a worker thread)",
                    fmt_s(api),
                    f"walk {fmt_s(walk)}",
                )
            )
    finally:
        owner.close(remove=True)
        store.close()
