"""``stats()`` is what an admin sees; it must equal what is really on disk."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from tests.support.payloads import payload
from tests.support.tiers import tier_files
from vfs_ext.names import is_valid_name, owner_key


def on_disk(store) -> tuple[list[tuple[int, int]], dict[str, dict[str, int]]]:
    """(bytes, files) per tier and per owner, walking the tier dirs without vfs_ext."""
    per_tier, per_owner = [], {}
    for tier in store.tiers:
        used = count = 0
        for rel, size in tier_files(tier.root).items():
            parts = Path(rel).parts
            if len(parts) != 3 or not is_valid_name(parts[2]):
                continue  # locks, events, in-progress writes
            used += size
            count += 1
            owner = per_owner.setdefault(parts[0], {"files": 0, "bytes": 0})
            owner["files"] += 1
            owner["bytes"] += size
        per_tier.append((used, count))
    return per_tier, per_owner


def check(store) -> dict:
    """The typed stats agree with the directories; returned as the admin view's JSON."""
    stats = store.stats()
    per_tier, per_owner = on_disk(store)
    assert [(t.used, t.files) for t in stats.tiers] == per_tier
    assert {key: asdict(usage) for key, usage in stats.owners.items()} == per_owner
    for t, tier in zip(stats.tiers, store.tiers, strict=True):
        assert t.name == tier.name and t.path == str(tier.root)
        assert t.budget == tier.budget
        assert 0 <= t.free <= t.budget - t.used
    return stats.to_json()


def test_stats_match_the_directories(make_store, spawn):
    store = make_store(memory_budget=2 * 1024 * 1024)
    stats = check(store)
    assert stats["namespace"] == store.namespace
    assert stats["owners"] == {}
    assert stats["events"] == {"fallback": 0, "evict": 0, "error": 0}

    child = spawn(store, "hold", "kernel-c", "a:1500000", "a:1500000", "b:7")
    child.read()
    with store.open_owner("kernel-p") as owner:
        for i in range(5):
            owner.write(payload(str(i), 100_000 * i), "bin", f"g{i % 2}")
        stats = check(store)
        assert stats["owners"][owner_key("kernel-c")] == {"files": 3, "bytes": 3_000_007}
        assert stats["events"]["fallback"] >= 1

        owner.release_group("g0")
        stats = check(store)
        assert stats["owners"][owner_key("kernel-p")]["files"] == 2

        # junk that is not a virtual file is not counted as one
        (store.tiers[0].root / owner.key / ".part-99-abc").write_bytes(b"x" * 10)
        check(store)

    child.kill()
    store.sweep()
    stats = check(store)
    assert owner_key("kernel-c") not in stats["owners"]
