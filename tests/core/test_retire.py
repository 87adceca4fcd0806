"""A replaced output's file stays servable for a grace period (a browser behind the kernel may
still ask for it), then goes; sooner when a write needs its room; and an owner that closes
releases what waits and leaves no thread behind."""

from __future__ import annotations

import threading

import pytest

from tests.support.payloads import payload
from tests.support.tiers import memory_used
from vfs_ext import retire
from vfs_ext.config import DISK, MEMORY

KiB = 1024
MiB = 1024 * KiB


def retire_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "vfs_ext-retire"]


def test_a_retired_file_is_served_through_its_grace_then_released(store, monkeypatch):
    monkeypatch.setattr(retire, "RETIRE_GRACE_S", 0.2)
    with store.open_owner("k") as owner:
        kept = owner.write(payload("kept", 1000), "bin")
        replaced = [owner.write(payload(str(i), 5000), "bin") for i in range(3)]
        owner.retire(f.name for f in replaced)
        assert owner.retired.settle(timeout=30)
        assert [store.lookup(f.name) for f in replaced] == [None] * 3
        assert store.lookup(kept.name) is not None
        assert memory_used(store) == 1000


def test_the_grace_holds_until_a_write_needs_the_room(make_store, monkeypatch):
    """A retired file is still served while its grace lasts; a write that would otherwise fall
    back to disk frees it first and stays in memory."""
    monkeypatch.setattr(retire, "RETIRE_GRACE_S", 3600.0)
    store = make_store(memory_budget=3 * MiB, disk_budget=64 * MiB)
    with store.open_owner("k") as owner:
        old = owner.write(payload("old", 2 * MiB), "bin")
        owner.retire([old.name])
        found = store.lookup(old.name)
        assert found is not None and found.path.read_bytes() == payload("old", 2 * MiB)
        new = owner.write(payload("new", 2 * MiB), "bin")
        assert new.tier == MEMORY
        assert store.lookup(old.name) is None
        assert store.stats().to_json()["events"]["fallback"] == 0


def test_no_grace_releases_at_once(store, monkeypatch):
    monkeypatch.setattr(retire, "RETIRE_GRACE_S", 0)
    with store.open_owner("k") as owner:
        info = owner.write(payload("a", 100), "bin")
        owner.retire([info.name])
        assert store.lookup(info.name) is None
    assert retire_threads() == []


def test_closing_releases_what_waits_and_stops_the_thread(store, monkeypatch):
    monkeypatch.setattr(retire, "RETIRE_GRACE_S", 3600.0)
    owner = store.open_owner("k")
    info = owner.write(payload("a", 100), "bin")
    owner.retire([info.name, "not-a-name", info.name])  # junk and repeats are harmless
    assert len(retire_threads()) == 1
    owner.close()
    assert store.lookup(info.name) is None
    assert retire_threads() == []


def test_many_retirements_share_one_thread(store, monkeypatch):
    monkeypatch.setattr(retire, "RETIRE_GRACE_S", 0.05)
    with store.open_owner("k") as owner:
        for i in range(50):
            owner.retire([owner.write(payload(str(i), 100), "bin").name])
            assert len(retire_threads()) <= 1
        assert owner.retired.settle(timeout=30)
        assert owner.files() == []


@pytest.mark.parametrize("grace", [0.0, 3600.0])
def test_a_released_file_retired_later_is_no_error(store, monkeypatch, grace):
    monkeypatch.setattr(retire, "RETIRE_GRACE_S", grace)
    with store.open_owner("k") as owner:
        info = owner.write(payload("a", 100), "bin", "cell")
        owner.release_group("cell")  # the cell re-ran before the grace was over
        owner.retire([info.name])
    assert retire_threads() == []


def test_room_is_made_from_the_refusing_tiers_retired_files_only(make_store, monkeypatch):
    """A write that does not fit memory frees the retired files in memory; retired files on
    disk keep their grace (freeing them would not help and would break a lagging browser)."""
    monkeypatch.setattr(retire, "RETIRE_GRACE_S", 3600.0)
    store = make_store(memory_budget=3 * MiB, disk_budget=64 * MiB)
    with store.open_owner("k") as owner:
        in_memory = owner.write(payload("m", 2 * MiB), "bin")
        on_disk = owner.write(payload("d", 4 * MiB), "bin")  # over the memory budget
        assert (in_memory.tier, on_disk.tier) == (MEMORY, DISK)
        owner.retire([in_memory.name, on_disk.name])
        assert owner.write(payload("new", 2 * MiB), "bin").tier == MEMORY
        assert store.lookup(in_memory.name) is None
        assert store.lookup(on_disk.name) is not None


def test_a_process_that_exits_releases_what_it_retired(store, spawn):
    """A kernel restarted (same owner) could not know which of its files were retired."""
    child = spawn(store, "retirer", "k", "3")
    names = child.read()["names"]
    assert all(store.lookup(n) is not None for n in names)
    assert child.finish() == 0
    assert [store.lookup(n) for n in names] == [None] * 3


def test_making_room_waits_for_releases_in_progress(store, monkeypatch):
    """The retire thread is freeing a file when a write needs room: the write waits for it
    rather than falling back to disk while the memory is about to be free."""
    monkeypatch.setattr(retire, "RETIRE_GRACE_S", 0.01)
    entered, go = threading.Event(), threading.Event()
    order: list[str] = []

    def slow_release(name: str) -> None:
        entered.set()
        assert go.wait(30)
        order.append(f"released {name}")

    retirement = retire.Retirement(slow_release)
    retirement.retire(["a"])
    assert entered.wait(30)
    waiter = threading.Thread(target=lambda: order.append(f"now {retirement.release_now()}"))
    waiter.start()
    waiter.join(0.5)  # still waiting for "a" (without the wait it would be done already)
    go.set()
    waiter.join(30)
    retirement.close()
    assert order == ["released a", "now False"]


def test_an_interrupted_release_does_not_wedge_settling(monkeypatch):
    monkeypatch.setattr(retire, "RETIRE_GRACE_S", 3600.0)

    def interrupted(name: str) -> None:
        raise KeyboardInterrupt

    retirement = retire.Retirement(interrupted)
    retirement.retire(["a", "b"])
    with pytest.raises(KeyboardInterrupt):
        retirement.release_now()
    assert retirement.settle(timeout=5)
    retirement.close()
