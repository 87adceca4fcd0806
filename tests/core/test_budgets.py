"""Budgets decide where a file goes: over the memory budget -> disk (counted as a fallback);
over every budget -> a clear VirtualFileError; ``evict=True`` makes room from the owner's older
cells; ``max_file_size`` caps one file. Writes check a running figure of the bytes in use
(vfs_ext.budget) and count the tier only when that figure would refuse them."""

from __future__ import annotations

import errno
import os

import pytest

from tests.support.payloads import ReadOnly, payload
from tests.support.tiers import part_files
from vfs_ext.budget import Ledger
from vfs_ext.config import DISK, MEMORY
from vfs_ext.errors import VirtualFileError
from vfs_ext.layout import BUDGET_LOCK
from vfs_ext.tiers import Tier

KiB = 1024
MiB = 1024 * KiB


def no_partials(store) -> bool:
    return all(part_files(t.root) == [] for t in store.tiers)


def test_over_memory_budget_goes_to_disk(make_store):
    store = make_store(memory_budget=1 * MiB, disk_budget=64 * MiB)
    with store.open_owner("k") as owner:
        small = owner.write(payload("a", 100 * KiB), "bin")
        big = owner.write(payload("b", 2 * MiB), "bin")
        streamed = owner.write(ReadOnly(payload("c", 2 * MiB)), "bin")
    assert (small.tier, big.tier, streamed.tier) == (MEMORY, DISK, DISK)
    assert store.lookup(big.name).path.read_bytes() == payload("b", 2 * MiB)
    assert store.lookup(streamed.name).path.read_bytes() == payload("c", 2 * MiB)
    assert store.stats().to_json()["events"] == {"fallback": 2, "evict": 0, "error": 0}
    assert no_partials(store)


def test_budget_counts_every_owner(make_store):
    store = make_store(memory_budget=1 * MiB, disk_budget=64 * MiB)
    with store.open_owner("a") as a, store.open_owner("b") as b:
        assert a.write(payload("a", 700 * KiB)).tier == MEMORY
        assert b.write(payload("b", 700 * KiB)).tier == DISK


@pytest.mark.parametrize("streamed", [False, True], ids=["bytes", "stream"])
def test_over_every_budget_raises(make_store, streamed):
    store = make_store(memory_budget=1 * MiB, disk_budget=2 * MiB)
    data = payload("x", 3 * MiB)
    with store.open_owner("k") as owner:
        with pytest.raises(VirtualFileError) as err:
            owner.write(ReadOnly(data) if streamed else data, "bin")
        assert owner.files() == []
    message = str(err.value)
    assert "VirtualFiles.memory_budget" in message and "VirtualFiles.disk_budget" in message
    assert "memory: " in message and "disk: " in message
    assert store.stats().to_json()["events"]["error"] == 1
    assert no_partials(store)


def test_evict_removes_oldest_files_of_other_groups(make_store):
    store = make_store(memory_budget=1 * MiB, disk_budget=1 * MiB)
    with store.open_owner("k") as owner, store.open_owner("other") as other:
        mine = [owner.write(payload(f"a{i}", 300 * KiB), "bin", "cell-a") for i in range(3)]
        theirs = other.write(payload("t", 300 * KiB), "bin", "cell-x")
        current = owner.write(payload("b0", 300 * KiB), "bin", "cell-b")
        assert [f.tier for f in (*mine, theirs, current)] == [MEMORY] * 3 + [DISK] * 2

        big = payload("big", 700 * KiB)
        with pytest.raises(VirtualFileError):
            owner.write(big, "bin", "cell-b")  # no room anywhere without evicting
        info = owner.write(big, "bin", "cell-b", evict=True)
        assert info.tier == MEMORY
        assert store.lookup(info.name).path.read_bytes() == big

        # 900 KiB used + 700 KiB > 1 MiB: the two oldest of cell-a had to go, no more
        assert [store.lookup(f.name) is None for f in mine] == [True, True, False]
        assert store.lookup(current.name) is not None
        assert store.lookup(theirs.name) is not None
        evicted = 2
    assert store.stats().to_json()["events"]["evict"] == evicted


def test_evict_does_not_help_when_only_the_current_group_holds_space(make_store):
    store = make_store(memory_budget=1 * MiB, disk_budget=1 * MiB)
    with store.open_owner("k") as owner:
        owner.write(payload("a", 900 * KiB), "bin", "cell")
        owner.write(payload("b", 900 * KiB), "bin", "cell")
        with pytest.raises(VirtualFileError):
            owner.write(payload("c", 900 * KiB), "bin", "cell", evict=True)
        assert len(owner.files()) == 2


@pytest.mark.parametrize("streamed", [False, True], ids=["bytes", "stream"])
def test_max_file_size(make_store, streamed):
    store = make_store(max_file_size=1 * MiB)
    with store.open_owner("k") as owner:
        assert owner.write(payload("ok", 1 * MiB)).size == 1 * MiB
        data = payload("big", 1 * MiB + 1)
        with pytest.raises(VirtualFileError, match=r"VirtualFiles\.max_file_size"):
            owner.write(ReadOnly(data) if streamed else data, "bin")
        assert len(owner.files()) == 1
    assert no_partials(store)


def test_released_room_is_found_again(make_store):
    # Releases do not lower the running figure; the write it would refuse counts the tier.
    store = make_store(memory_budget=1 * MiB, disk_budget=64 * MiB)
    with store.open_owner("k") as owner:
        for i in range(4):
            assert owner.write(payload(f"r{i}", 700 * KiB), "bin", "cell").tier == MEMORY
            owner.release_group("cell")


def test_the_budget_holds_to_the_byte_after_releases(make_store):
    store = make_store(memory_budget=1 * MiB, disk_budget=64 * MiB)
    with store.open_owner("k") as owner, store.open_owner("other") as other:
        other.write(payload("kept", 300 * KiB), "bin", "a")
        owner.write(payload("gone", 400 * KiB), "bin", "b")
        owner.release_group("b")
        assert owner.write(payload("fits", 1 * MiB - 300 * KiB), "bin").tier == MEMORY
        assert other.write(payload("one more byte", 1), "bin").tier == DISK


@pytest.mark.parametrize("figure", [None, b"", b"not a number", b"-5"])
def test_a_lost_or_garbled_figure_is_recounted(make_store, figure):
    store = make_store(memory_budget=1 * MiB, disk_budget=64 * MiB)
    (memory,) = [t for t in store.tiers if t.name == MEMORY]
    with store.open_owner("k") as owner:
        owner.write(payload("a", 700 * KiB), "bin")
        lock = memory.root / BUDGET_LOCK
        if figure is None:
            lock.unlink()
        else:
            lock.write_bytes(figure)
        assert owner.write(payload("b", 700 * KiB), "bin").tier == DISK
        assert owner.write(payload("c", 200 * KiB), "bin").tier == MEMORY


def test_writes_do_not_count_the_tier_while_the_figure_leaves_room(make_store, monkeypatch):
    # Counting stats every file of every kernel: O(files) per write, under the lock that
    # serializes all writers. It happens only when the figure would refuse a write.
    store = make_store(memory_budget=8 * MiB, disk_budget=16 * MiB)
    with store.open_owner("k") as owner, store.open_owner("other") as other:
        for i in range(40):
            other.write(payload(f"o{i}", 4 * KiB), "bin", f"cell{i}")
        counted = []
        count = Tier.used_bytes
        monkeypatch.setattr(Tier, "used_bytes", lambda tier: counted.append(1) or count(tier))
        for i in range(20):
            assert owner.write(payload(f"k{i}", 64 * KiB), "bin", f"cell{i % 3}").tier == MEMORY
            owner.release_group(f"cell{(i + 1) % 3}")
        assert counted == []
        assert owner.write(payload("big", 8 * MiB), "bin").tier == DISK  # counted, refused
        assert counted


def test_a_tier_failing_after_its_file_was_opened_leaks_no_descriptor(make_store, monkeypatch):
    """Fault injection: recording the reservation in the memory tier fails (EIO) after the file
    was created. The write goes to disk, and no file descriptor is left open: a kernel that
    leaked one per failed write would run out of them."""
    store = make_store(memory_budget=8 * MiB, disk_budget=64 * MiB)
    charge = Ledger.charge

    def failing_charge(ledger: Ledger, nbytes: int) -> None:
        if ledger._tier.name == MEMORY:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        charge(ledger, nbytes)

    with store.open_owner("k") as owner:
        owner.write(payload("warm-up", 1000), "bin")
        fds = set(os.listdir("/proc/self/fd"))
        monkeypatch.setattr(Ledger, "charge", failing_charge)
        assert owner.write(payload("a", 100 * KiB), "bin").tier == DISK
        assert set(os.listdir("/proc/self/fd")) == fds
    assert no_partials(store)
