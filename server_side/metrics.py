"""vfs_ext's Prometheus metrics, in jupyter_server's own registry (``{base_url}metrics``).

jupyter_server serves ``prometheus_client.REGISTRY`` with its own auth rule
(``ServerApp.authenticate_prometheus``); a custom collector registered there adds our figures
to that endpoint, no second endpoint or server. A scrape only reads figures already kept:
the tiers' contents as last counted off the event loop (server_side.usage), the kernels' events
as tallied (server_side.tally) and the server's own counters (server_side.counters).
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vfs_ext.mounts import filesystem_space
from vfs_ext.store import Store
from vfs_ext.tiers import Tier

from .counters import ServerCounters
from .tally import Tally
from .usage import MAX_AGE, TierUsage

#: Release causes, always exported (a counter that appears only once non-zero breaks rate()).
CAUSES = ("rerun", "retired", "shutdown", "swept")

log = logging.getLogger("vfs_ext")


class VirtualFilesCollector(Collector):
    """Every vfs_ext metric, built at scrape time from running figures."""

    def __init__(
        self, tiers: list[Tier], usage: TierUsage, tally: Tally, counters: ServerCounters
    ) -> None:
        self.tiers = tiers
        self.usage = usage
        self.tally = tally
        self.counters = counters
        #: What saves copied and hashed (server_side.persist), once persistence is on.
        self.persist_counters: Callable[[], Mapping[str, int]] | None = None

    def collect(self) -> Iterator[Metric]:
        yield from self._tiers()
        yield from self._kernels()
        yield from self._server()
        if self.persist_counters is not None:
            yield from self._persist(self.persist_counters())

    def _tiers(self) -> Iterator[Metric]:
        stats = self.usage.latest()
        yield _gauge(
            "tier_bytes",
            "Bytes of virtual files in the tier, as last counted.",
            {t.name: t.used for t in stats.tiers},
        )
        yield _gauge(
            "tier_files",
            "Virtual files in the tier, as last counted.",
            {t.name: t.files for t in stats.tiers},
        )
        counted = GaugeMetricFamily(
            "vfs_ext_tier_counted_timestamp_seconds",
            "When the tiers' bytes and files were counted (Unix time); counted again on a "
            f"worker thread when a scrape finds the count older than {MAX_AGE:g} s.",
        )
        counted.add_metric([], self.usage.counted)
        yield counted
        yield _gauge(
            "tier_budget_bytes",
            "Bytes the tier may hold (VirtualFiles.*_budget).",
            {t.name: t.budget for t in self.tiers},
        )
        yield _gauge(
            "tier_keep_free_bytes",
            "Bytes of the tier's filesystem left to other programs (VirtualFiles.*_keep_free).",
            {t.name: t.keep_free for t in self.tiers},
        )
        sizes = {t.name: _filesystem(t) for t in self.tiers}
        yield _gauge(
            "tier_capacity_bytes",
            "Size of the tier's filesystem.",
            {n: s[0] for n, s in sizes.items() if s},
        )
        yield _gauge(
            "tier_filesystem_free_bytes",
            "Free bytes of the tier's filesystem.",
            {n: s[1] for n, s in sizes.items() if s},
        )

    def _kernels(self) -> Iterator[Metric]:
        f = self.tally.snapshot()
        tiers = [t.name for t in self.tiers]
        yield _counter(
            "writes",
            "Virtual files kernels wrote, by outcome: the tier that took the file, refused "
            "(no tier took it) or too_large (over VirtualFiles.max_file_size).",
            "outcome",
            (*tiers, "refused", "too_large"),
            f.writes,
        )
        yield _counter(
            "written_bytes", "Bytes of the virtual files written.", "tier", tiers, f.written_bytes
        )
        yield _counter(
            "fallbacks",
            "Tiers skipped by a write, by reason: over_budget, keep_free, out_of_space, io_error.",
            "reason",
            ("over_budget", "keep_free", "out_of_space", "io_error"),
            f.fallbacks,
        )
        yield _total(
            "kept_inline",
            "Refused writes whose output stayed inline instead (small enough to).",
            f.kept_inline,
        )
        yield _counter(
            "evictions", "Files a kernel evicted to make room.", "tier", tiers, f.evictions
        )
        yield _counter(
            "evicted_bytes", "Bytes of the evicted files.", "tier", tiers, f.evicted_bytes
        )
        releases, released = self._releases(f.releases, f.released_bytes)
        yield _counter(
            "releases",
            "Virtual files released, by cause: rerun (their cell ran again), retired (no longer "
            "shown), shutdown (their kernel was shut down), swept (their kernel or server died).",
            "cause",
            CAUSES,
            releases,
        )
        yield _counter("released_bytes", "Bytes of the released files.", "cause", CAUSES, released)

    def _releases(
        self, files: Mapping[str, int], nbytes: Mapping[str, int]
    ) -> tuple[dict[str, int], dict[str, int]]:
        """Kernels' releases (re-run, retired) and the server's (shutdown, swept)."""
        c = self.counters
        return (
            {**files, "shutdown": c.released.files, "swept": c.sweeps.files},
            {**nbytes, "shutdown": c.released.bytes, "swept": c.sweeps.bytes},
        )

    def _server(self) -> Iterator[Metric]:
        c = self.counters
        by_class: Counter[str] = Counter()
        for status, n in c.responses.by_status.items():
            by_class[f"{status // 100}xx"] += n
        yield _counter(
            "file_requests",
            "Responses to {base_url}@file/ requests, by status class.",
            "status",
            ("2xx", "3xx", "4xx", "5xx"),
            by_class,
        )
        yield _total("file_sent_bytes", "Body bytes @file/ responses sent.", c.responses.bytes)
        yield _total("sweeps", "Sweeps run (at start and periodically).", c.sweeps.runs)
        yield _total(
            "swept_owners",
            "Dead kernels (or servers' kernels) whose files sweeps removed.",
            c.sweeps.owners,
        )

    @staticmethod
    def _persist(c: Mapping[str, int]) -> Iterator[Metric]:
        yield _total(
            "persist_copied_files", "Files saves copied beside notebooks.", c["copied_files"]
        )
        yield _total("persist_copied_bytes", "Bytes of the copied files.", c["copied_bytes"])
        when = ("ahead", "save")
        yield _counter(
            "persist_hashed_files",
            "Files hashed for saves: ahead (in the background, after their kernel stored them) "
            "or at save (the save waited for it).",
            "when",
            when,
            {"ahead": c["hashed_ahead_files"], "save": c["hashed_at_save_files"]},
        )
        yield _counter(
            "persist_hashed_bytes",
            "Bytes hashed for saves, ahead or at save.",
            "when",
            when,
            {"ahead": c["hashed_ahead_bytes"], "save": c["hashed_at_save_bytes"]},
        )


def _gauge(name: str, doc: str, values: Mapping[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(f"vfs_ext_{name}", doc, labels=["tier"])
    for tier, value in values.items():
        family.add_metric([tier], value)
    return family


def _total(name: str, doc: str, value: int) -> CounterMetricFamily:
    """A counter without labels (exported as ``vfs_ext_<name>_total``)."""
    family = CounterMetricFamily(f"vfs_ext_{name}", doc)
    family.add_metric([], value)
    return family


def _counter(
    name: str, doc: str, label: str, keys: Iterable[str], values: Mapping[str, int]
) -> CounterMetricFamily:
    """A counter family with every expected label value (0 until it happens) and any other
    value that occurred."""
    family = CounterMetricFamily(f"vfs_ext_{name}", doc, labels=[label])
    for key in dict.fromkeys([*keys, *values]):
        family.add_metric([key], values.get(key, 0))
    return family


def _filesystem(tier: Tier) -> tuple[int, int] | None:
    """(size, free bytes) of the tier's filesystem: one statfs, no walk."""
    try:
        return filesystem_space(tier.root)
    except OSError:
        return None


def install(store: Store, counters: ServerCounters) -> tuple[TierUsage, VirtualFilesCollector]:
    """Tally the kernels' events from now on and add our metrics to jupyter_server's registry;
    the tiers' usage counted off the event loop, for ``api/vfs`` too."""
    tally = Tally()
    if store.events is not None:
        store.events.listeners.append(tally.count)
    usage = TierUsage(store)
    collector = VirtualFilesCollector(store.tiers, usage, tally, counters)
    try:
        REGISTRY.register(collector)
    except ValueError:  # duplicated names: another server of this process exports them
        log.warning("vfs_ext: metrics not exported: another server in this process exports them")
    return usage, collector


def uninstall(collector: VirtualFilesCollector) -> None:
    """Leave the registry as it was (a server stopped and started again in one process)."""
    with contextlib.suppress(KeyError):
        REGISTRY.unregister(collector)
