"""What a store holds, as ``Store.stats()`` returns it: read from the directories themselves.

Typed, for the admin view (server_side.admin, as JSON with ``to_json``), ``%vfs stats``
(kernel_side.magics) and metrics.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .drain import draining_bytes
from .mounts import tmpfs_huge_pages
from .tiers import Tier

#: The kinds of events kernels record (vfs_ext.events), each counted in EventCounts.
EVENT_KINDS = ("fallback", "evict", "error")


@dataclass(frozen=True)
class TierStats:
    name: str
    path: str
    budget: int
    used: int  # bytes of complete virtual files
    files: int
    free: int  # what a write may still take: within the budget and above keep_free
    keep_free: int
    draining: int  # released files' bytes a reader still holds (vfs_ext.drain)
    huge_pages: str | None  # the tmpfs huge= policy; None when not on tmpfs


@dataclass
class Usage:
    """One owner's (kernel's) files."""

    files: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class EventCounts:
    """Events recorded since the server started (a kernel's store: by this kernel)."""

    fallback: int = 0
    evict: int = 0
    error: int = 0


@dataclass(frozen=True)
class StoreStats:
    namespace: str
    tiers: list[TierStats]
    owners: dict[str, Usage]  # owner key -> usage
    refused: dict[str, str]  # tier name -> why it is not used
    events: EventCounts
    recent_events: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def collect(
    namespace: str,
    tiers: Sequence[Tier],
    refused: dict[str, str],
    counts: dict[str, int],
    recent: Iterable[dict[str, Any]],
) -> StoreStats:
    """Count every tier's files now; ``counts`` and ``recent`` are the events read so far."""
    owners: dict[str, Usage] = {}
    return StoreStats(
        namespace=namespace,
        tiers=[_tier_stats(tier, owners) for tier in tiers],
        owners=owners,
        refused=dict(refused),
        events=EventCounts(**{kind: counts.get(kind, 0) for kind in EVENT_KINDS}),
        recent_events=list(recent),
    )


def _tier_stats(tier: Tier, owners: dict[str, Usage]) -> TierStats:
    used = files = 0
    for f in tier.iter_files():
        used += f.size
        files += 1
        usage = owners.setdefault(f.owner, Usage())
        usage.files += 1
        usage.bytes += f.size
    try:
        fs_free = tier.fs_free()
    except OSError:
        fs_free = 0
    draining = draining_bytes(tier.root)  # released, still being read: still counts
    return TierStats(
        name=tier.name,
        path=str(tier.root),
        budget=tier.budget,
        used=used,
        files=files,
        free=max(0, min(tier.budget - used - draining, fs_free - tier.keep_free)),
        keep_free=tier.keep_free,
        draining=draining,
        huge_pages=tmpfs_huge_pages(tier.root),
    )
