"""Several kernels writing and releasing while a sweeper runs in another process lose nothing
alive, and a reader never sees a file before its last byte is written."""

from __future__ import annotations

import hashlib
import os
import threading

from tests.support.payloads import payload
from tests.support.tiers import backdate, part_files
from vfs_ext.names import owner_key

WRITERS = 3


def test_writers_and_a_sweeper_at_once_lose_nothing_alive(make_store, spawn):
    store = make_store(memory_budget=8 * 1024 * 1024)  # small: writes spill to disk too
    dead = spawn(store, "hold", "kernel-dead", "cell:1000", "cell:2000000")
    dead_files = dead.read()["files"]
    dead.kill()

    sweeper = spawn(store, "sweeper")
    assert sweeper.read() == {"ready": True}  # sweeping before the first writer starts
    writers = [spawn(store, "writer", f"kernel-{i}", "8") for i in range(WRITERS)]
    results = [w.read()["files"] for w in writers]  # each waits, alive, after reporting
    assert sweeper.finish() == 0
    swept = sweeper.read()

    assert swept["sweeps"] >= 1
    assert owner_key("kernel-dead") in swept["owners"]
    assert all(owner_key(f"kernel-{i}") not in swept["owners"] for i in range(WRITERS))
    assert all(store.lookup(f["name"]) is None for f in dead_files)

    tiers_used = set()
    for files in results:
        assert len(files) == 3 * 5  # three cells (released and re-run) of five files each
        for name, f in files.items():
            info = store.lookup(name)
            assert info is not None, name
            data = info.path.read_bytes()
            assert len(data) == f["size"] == info.size
            assert hashlib.sha256(data).hexdigest() == f["sha"]
            tiers_used.add(info.tier)
    assert tiers_used == {"memory", "disk"}

    stats = store.stats().to_json()
    assert sum(t["files"] for t in stats["tiers"]) == WRITERS * 15
    assert all(t["used"] <= t["budget"] for t in stats["tiers"]), "budgets held under contention"
    assert all(part_files(t.root) == [] for t in store.tiers)
    for w in writers:
        assert w.finish() == 0


def test_a_starting_owner_is_never_taken_for_a_dead_one(store, spawn):
    """Owners appear (directory, then lock) while a sweeper runs: none may be swept."""
    sweeper = spawn(store, "sweeper")
    assert sweeper.read() == {"ready": True}  # sweeping before the first writer starts
    openers = [spawn(store, "opener", f"k{i}", 150) for i in range(2)]
    keys = {k for o in openers for k in o.read()["keys"]}
    assert sweeper.finish() == 0
    swept = sweeper.read()
    assert swept["sweeps"] >= 1
    assert keys.isdisjoint(swept["owners"])
    for tier in store.tiers:
        assert all((tier.root / k / ".lock").is_file() for k in keys)


def test_reader_never_sees_a_partial_file(make_store, spawn):
    size = 6 * 1024 * 1024 + 17
    store = make_store(memory_budget=40 * 1024 * 1024)
    reader = spawn(store, "reader", size)
    assert reader.read() == {"ready": True}  # polling before the first write starts
    writer = spawn(store, "bigwriter", "kernel-w", "12", size)
    names = writer.read()["names"]
    assert reader.finish() == 0
    seen = reader.read()
    assert seen["bad"] == []
    assert seen["seen"] > 0, "the reader saw files appear"
    assert all(store.lookup(n).size == size for n in names)
    assert {store.lookup(n).tier for n in names} == {"memory", "disk"}


def test_a_stalled_stream_does_not_block_other_writers(make_store, spawn, tmp_path):
    """A kernel streaming from a slow source (unknown size) must not stall every other
    kernel's outputs while it waits for data."""
    store = make_store(memory_budget=64 * 1024 * 1024)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    streamer = spawn(store, "stream", "kernel-slow", fifo)
    data = payload("slow", 9 * 1024 * 1024)
    with open(fifo, "wb") as w:
        w.write(data[: 5 * 1024 * 1024])
        w.flush()
        other = spawn(store, "hold", "kernel-other", "cell:1000", "cell:3000000")
        files = other.read(timeout=60)["files"]  # while the stream is still open
        assert [store.lookup(f["name"]).tier for f in files] == ["memory", "memory"]
        w.write(data[5 * 1024 * 1024 :])
    out = streamer.read()
    assert out["size"] == len(data) and out["tier"] == "memory"
    assert store.lookup(out["name"]).path.read_bytes() == data
    assert all(part_files(t.root) == [] for t in store.tiers)


def test_threads_of_one_kernel_write_at_once(make_store):
    """Outputs may come from several threads of one kernel (widgets, callbacks), also right
    after its directory was removed under it (all threads then find the lock gone at once)."""
    store = make_store(memory_budget=4 * 1024 * 1024)
    written: dict[str, bytes] = {}
    errors: list[BaseException] = []

    def work(owner, t: int, phase: int) -> None:
        try:
            for i in range(6):
                data = payload(f"{phase}/{t}/{i}", 100_000 * (i + 1))
                written[owner.write(data, "bin", f"cell-{t}").name] = data
        except BaseException as exc:
            errors.append(exc)

    def run_threads(owner, phase: int) -> None:
        threads = [threading.Thread(target=work, args=(owner, t, phase)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

    with store.open_owner("k") as owner:
        run_threads(owner, 0)
        assert store.release_owner("k").files == len(written) == 24
        written.clear()
        run_threads(owner, 1)
        assert errors == []
        for tier in store.tiers:
            backdate(tier.root)
        assert store.sweep().owners == []
        assert len(written) == 24
        for name, data in written.items():
            assert store.lookup(name).path.read_bytes() == data
