"""A re-run cell does not wait for its previous output's memory: ``release_group(wait=False)``
hides the group at once and frees it on a background thread, without ever letting a budget be
overrun or a write fall back to disk only because the freeing had not finished yet."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tests.support.payloads import payload
from tests.support.tiers import memory_used, part_files
from vfs_ext import release as release_module
from vfs_ext import reuse
from vfs_ext.config import MEMORY
from vfs_ext.layout import RELEASED_PREFIX, SPARES_DIR
from vfs_ext.names import owner_key

MiB = 1024 * 1024
TIMEOUT = 30.0


def released(store) -> list[Path]:
    return [p for t in store.tiers for p in t.root.glob(f"*/{RELEASED_PREFIX}*")]


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Every release in the background, and its deletion waits for this event, so a test
    sees it while still pending."""
    monkeypatch.setattr(release_module, "BACKGROUND_RELEASE_MIN", 0)
    event = threading.Event()
    delete = reuse._delete

    def gated(path: Path) -> None:
        assert event.wait(TIMEOUT), "the test never let the deletion go"
        delete(path)

    monkeypatch.setattr(reuse, "_delete", gated)
    return event


def test_urls_fail_at_once_and_memory_is_freed_after(store, gate):
    with store.open_owner("k") as owner:
        info = owner.write(payload("a", MiB), "png", "cell")
        kept = owner.write(payload("b", 1000), "png", "other")
        assert owner.release_group("cell", wait=False) == 1
        assert store.lookup(info.name) is None
        assert [f.name for f in owner.files()] == [kept.name]
        assert memory_used(store) == MiB + 1000, "still held until deleted: still counted"
        assert len(released(store)) == 1

        gate.set()
        assert owner.freeing.settle() is True
        assert memory_used(store) == 1000
        assert released(store) == []
        assert owner.freeing.settle() is False
        assert store.lookup(kept.name) is not None


def test_a_write_that_needs_the_released_room_waits_instead_of_falling_back(
    make_store, gate, monkeypatch
):
    store = make_store(memory_budget=3 * MiB, disk_budget=64 * MiB)
    settles: list[bool] = []
    settle = reuse.FreeQueue.settle

    def settle_opening_the_gate(self, timeout: float = TIMEOUT) -> bool:
        gate.set()
        settles.append(True)
        return settle(self, timeout)

    monkeypatch.setattr(reuse.FreeQueue, "settle", settle_opening_the_gate)
    with store.open_owner("k") as owner:
        owner.write(payload("first run", 2 * MiB), "png", "cell")
        owner.release_group("cell", wait=False)
        second = owner.write(payload("second run", 2 * MiB), "png", "cell")
        assert second.tier == MEMORY
        assert settles, "the write waited for the pending deletion"
        assert store.lookup(second.name).path.read_bytes() == payload("second run", 2 * MiB)
    assert store.stats().to_json()["events"] == {"fallback": 0, "evict": 0, "error": 0}


def test_a_small_group_is_freed_before_the_call_returns(store):
    with store.open_owner("k") as owner:
        info = owner.write(payload("a", MiB), "bin", "cell")
        assert info.size < release_module.BACKGROUND_RELEASE_MIN
        assert owner.release_group("cell", wait=False) == 1
        assert store.lookup(info.name) is None
        assert released(store) == []
        assert memory_used(store) == 0, "freed at once: the next write reuses its pages"


def test_closing_the_owner_finishes_its_releases(store, monkeypatch):
    monkeypatch.setattr(release_module, "BACKGROUND_RELEASE_MIN", 0)
    owner = store.open_owner("k")
    owner.write(payload("a", MiB), "bin", "cell")
    owner.release_group("cell", wait=False)
    owner.close()
    assert released(store) == []
    assert memory_used(store) == 0


@pytest.mark.parametrize("left", [f"{RELEASED_PREFIX}0123456789abcdef", SPARES_DIR])
def test_a_reopened_owner_frees_what_a_killed_process_left_released(store, left):
    leftover = store.tiers[0].root / owner_key("k") / left
    leftover.mkdir(parents=True)
    (leftover / "a.png").write_bytes(payload("a", 5000))
    assert memory_used(store) == 5000
    with store.open_owner("k") as owner:
        owner.freeing.settle()
        assert not leftover.exists()
        assert memory_used(store) == 0


def test_a_reopened_owner_frees_the_write_a_killed_process_left_unfinished(store, spawn, tmp_path):
    """A kernel killed in the middle of a write leaves its ``.part-*`` file, counted by its
    reservation; the restarted kernel (same owner) frees it instead of carrying it until the
    cell re-runs."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = spawn(store, "stream", "k", fifo)
    with open(fifo, "wb") as w:
        # Returns once the writer has read all but a pipe buffer of it: two 4 MiB chunks
        # (sources.CHUNK), so it has written the first.
        w.write(payload("a", 9 * MiB))
        w.flush()
        writer.kill()
    assert part_files(store.tiers[0].root)
    assert memory_used(store) >= 4 * MiB
    with store.open_owner("k") as owner:
        owner.freeing.settle()
        assert [part_files(t.root) for t in store.tiers] == [[], []]
        assert released(store) == []
        assert memory_used(store) == 0


def test_a_reopened_owner_leaves_this_processs_running_write_alone(store, tmp_path):
    """``%reload_ext`` closes the kernel's owner while a thread may still be writing: the new
    owner must not take that write's ``.part-*`` file for a dead predecessor's."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    first = store.open_owner("k")
    result: dict = {}

    def write() -> None:
        with open(fifo, "rb") as source:
            try:
                result["info"] = first.write(source, "bin")
            except BaseException as exc:
                result["error"] = exc

    writer = threading.Thread(target=write)
    writer.start()
    data = payload("a", 12 * MiB)
    try:
        with open(fifo, "wb") as w:
            w.write(data[: 9 * MiB])  # two 4 MiB chunks read: the first is written
            w.flush()
            first.close()
            with store.open_owner("k") as second:
                second.freeing.settle()
                w.write(data[9 * MiB :])
                w.close()
                writer.join(TIMEOUT)
                assert "error" not in result, result
                info = result["info"]
                assert info.tier == MEMORY
                assert store.lookup(info.name).path.read_bytes() == data
    finally:
        writer.join(TIMEOUT)
