"""What kernels did, counted from the events they record (vfs_ext.events): writes, fallbacks,
evictions and releases, for the server's metrics.

Kernels are separate processes; their only channel to the server is what the tiers hold, and
the events file is the part of it meant for counting. The server's reader (``EventLog``) hands
every event to ``Tally.count`` once, so these figures only grow, like Prometheus counters.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from vfs_ext.errors import IO_ERROR, KEEP_FREE, OUT_OF_SPACE, OVER_BUDGET, TOO_LARGE

#: Each refusal kind (vfs_ext.errors) as a Prometheus label value.
REASONS = {
    OVER_BUDGET: "over_budget",
    KEEP_FREE: "keep_free",
    OUT_OF_SPACE: "out_of_space",
    IO_ERROR: "io_error",
}


@dataclass
class TallySnapshot:
    """A consistent copy of the figures, for one scrape."""

    #: Writes by outcome: a tier's name (stored there), "refused" (no tier took it) or
    #: "too_large" (over max_file_size, no tier tried).
    writes: Counter[str] = field(default_factory=Counter)
    written_bytes: Counter[str] = field(default_factory=Counter)  # by tier
    fallbacks: Counter[str] = field(default_factory=Counter)  # by reason a tier was skipped
    evictions: Counter[str] = field(default_factory=Counter)  # files, by tier
    evicted_bytes: Counter[str] = field(default_factory=Counter)
    releases: Counter[str] = field(default_factory=Counter)  # files, by cause
    released_bytes: Counter[str] = field(default_factory=Counter)
    kept_inline: int = 0  # refused writes of outputs small enough to stay inline instead


class Tally:
    """Running counts of kernels' events; ``count`` is an ``EventLog`` listener."""

    def __init__(self) -> None:
        self._figures = TallySnapshot()
        self._lock = threading.Lock()  # events are read on worker threads, scraped on the loop

    def count(self, event: dict[str, Any]) -> None:
        """Add one event; fields of the wrong type count as zero (the file is not trusted)."""
        kind, size = event.get("kind"), _int(event.get("size"))
        f = self._figures
        with self._lock:
            if kind == "write":
                self._stored(f, str(event.get("tier")), size)
            elif kind == "fallback":
                self._stored(f, str(event.get("to")), size)
                why = event.get("why")
                for reason in why if isinstance(why, list) else []:
                    f.fallbacks[REASONS.get(str(reason), "other")] += 1
            elif kind == "error":
                why = event.get("why")
                too_large = isinstance(why, list) and TOO_LARGE in why
                f.writes["too_large" if too_large else "refused"] += 1
            elif kind == "inline":
                f.kept_inline += 1
            elif kind == "evict":
                tier = str(event.get("tier"))
                f.evictions[tier] += 1
                f.evicted_bytes[tier] += size
            elif kind == "release":
                cause = str(event.get("why"))
                f.releases[cause] += _int(event.get("files"))
                f.released_bytes[cause] += size

    @staticmethod
    def _stored(f: TallySnapshot, tier: str, size: int) -> None:
        f.writes[tier] += 1
        f.written_bytes[tier] += size

    def snapshot(self) -> TallySnapshot:
        with self._lock:
            return copy.deepcopy(self._figures)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
