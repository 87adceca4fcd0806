"""Every byte belongs to a live owner: a SIGKILLed kernel's files are swept, a live kernel's
never are, a restarting kernel (listed in keep_owner_ids) keeps its files, a restarted kernel
takes its files back, and a dead server's whole namespace goes."""

from __future__ import annotations

import hashlib

import pytest

from tests.support.tiers import backdate, tier_files
from vfs_ext.config import StoreConfig
from vfs_ext.names import new_namespace, owner_key
from vfs_ext.store import Store

SPECS = ("cell-1:1000", "cell-1:300000", "cell-2:5000000", ":10")


def files_intact(store: Store, files: list[dict]) -> bool:
    for f in files:
        info = store.lookup(f["name"])
        if info is None or hashlib.sha256(info.path.read_bytes()).hexdigest() != f["sha"]:
            return False
    return True


def gone(store: Store, files: list[dict]) -> bool:
    return all(store.lookup(f["name"]) is None for f in files)


@pytest.fixture
def split_store(make_store):
    """Small memory budget, so an owner's files are spread over both tiers."""
    return make_store(memory_budget=1024 * 1024)


def test_killed_owner_is_swept_live_owner_is_not(split_store, spawn):
    store = split_store
    live = spawn(store, "hold", "kernel-live", *SPECS)
    doomed = spawn(store, "hold", "kernel-doomed", *SPECS)
    live_files, doomed_files = live.read()["files"], doomed.read()["files"]
    assert {store.lookup(f["name"]).tier for f in doomed_files} == {"memory", "disk"}

    assert store.sweep().owners == []  # both alive: nothing to do
    assert files_intact(store, live_files) and files_intact(store, doomed_files)

    doomed.kill()
    report = store.sweep()
    assert report.owners == [owner_key("kernel-doomed")]
    assert report.files == len(SPECS)
    assert report.bytes == sum(f["size"] for f in doomed_files)
    assert gone(store, doomed_files)
    for tier in store.tiers:
        assert not (tier.root / owner_key("kernel-doomed")).exists()

    assert files_intact(store, live_files)
    assert live.finish() == 0  # a clean exit without release also frees the lock...
    store.sweep()
    assert gone(store, live_files)  # ...so its files go too


def test_keep_owner_ids_protects_a_restarting_kernel(store, spawn):
    child = spawn(store, "hold", "kernel-restarting", *SPECS)
    files = child.read()["files"]
    child.kill()  # the old process is gone, the server still lists the kernel
    assert store.sweep(keep_owner_ids=["kernel-restarting", "other"]).owners == []
    assert files_intact(store, files)
    store.sweep(keep_owner_ids=["other"])
    assert gone(store, files)


def test_restarted_owner_takes_over_and_releases(split_store, spawn):
    store = split_store
    child = spawn(store, "hold", "kernel-r", *SPECS)
    files = child.read()["files"]
    child.kill()

    kernel_store = Store.from_env(store.resolved_config().to_env())
    assert kernel_store is not None
    with kernel_store.open_owner("kernel-r", lock_timeout=5) as owner:
        assert {f.name for f in owner.files()} == {f["name"] for f in files}
        assert store.sweep().owners == [], "the new process holds the lock again"
        assert files_intact(store, files)

        assert owner.release_group("cell-1") == 2
        cell1 = [f for f in files if f["group"] == "cell-1"]
        rest = [f for f in files if f["group"] != "cell-1"]
        assert gone(store, cell1) and files_intact(store, rest)

        assert owner.release(rest[0]["name"]) is True
        assert owner.release(rest[0]["name"]) is False
        assert owner.release_all() == len(rest) - 1
        assert owner.files() == []


def test_second_live_process_cannot_claim_the_same_owner(store, spawn):
    child = spawn(store, "hold", "kernel-x", "cell:10")
    child.read()
    with pytest.raises(TimeoutError):
        store.open_owner("kernel-x", lock_timeout=0.2)
    child.kill()
    with store.open_owner("kernel-x", lock_timeout=5) as owner:
        assert len(owner.files()) == 1


def test_release_owner_and_close_remove(store):
    with store.open_owner("a") as a:
        a.write(b"1")
        a.write(b"2", group="g")
    assert store.release_owner("a").files == 2
    assert store.release_owner("a").files == 0
    b = store.open_owner("b")
    info = b.write(b"3")
    b.close(remove=True)
    assert store.lookup(info.name) is None
    for tier in store.tiers:
        assert not (tier.root / owner_key("b")).exists()


def test_owner_dir_without_lock_is_given_a_startup_grace(store):
    """A directory an owner is just creating (no lock yet) is not swept from under it."""
    tier = store.tiers[0]
    starting = tier.root / ("a" * 16)
    starting.mkdir()
    assert store.sweep().owners == []
    assert starting.exists()


def test_dead_servers_namespace_is_swept_and_removed(make_store, spawn):
    mine = make_store()
    other = spawn(mine, "server", "kernel-o", "100000")
    out = other.read()
    other_ns = out["namespace"]
    assert other_ns != mine.namespace
    roots = [t.base / other_ns for t in mine.tiers]
    assert all(r.is_dir() for r in roots)
    other_store = Store(StoreConfig(tiers=mine.config.tiers, namespace=other_ns))

    # alive: its namespace is untouched, even the owner that is gone (its server sweeps that)
    before = [tier_files(r) for r in roots]
    assert mine.sweep().owners == []
    assert [tier_files(r) for r in roots] == before
    assert other_store.lookup(out["name"]) is not None
    assert other_store.lookup(out["dead_name"]) is not None

    other.kill()  # server and its kernel die together here
    mine.sweep()
    assert all(not r.exists() for r in roots)
    assert [t.root.is_dir() for t in mine.tiers] == [True, True], "our own namespace stays"


def test_dead_servers_live_kernel_is_kept_until_it_exits(make_store, spawn):
    """After a server dies its kernels linger briefly: their files stay until they are gone."""
    mine = make_store()
    server = spawn(mine, "server", "kernel-s", "1000")
    ns = server.read()["namespace"]
    dead_server_config = StoreConfig(tiers=mine.config.tiers, namespace=ns)
    kernel = spawn(dead_server_config, "hold", "kernel-orphan", "cell:1000")
    files = kernel.read()["files"]
    server.kill()

    mine.sweep()
    orphan_store = Store(dead_server_config)
    assert files_intact(orphan_store, files)
    assert all((t.base / ns).is_dir() for t in mine.tiers)

    kernel.kill()
    mine.sweep()
    assert all(not (t.base / ns).exists() for t in mine.tiers)


def test_live_owner_whose_directory_was_removed_keeps_its_new_files(store):
    """After ``release_owner`` (or any clean-up) removed a live owner's directory, its next
    writes are locked again: they are not mistaken for orphans once the startup grace passed."""
    with store.open_owner("k") as owner:
        owner.write(b"before")
        assert store.release_owner("k").files == 1
        assert owner.release_all() == 0  # nothing there, no error
        info = owner.write(b"after")
        for tier in store.tiers:
            backdate(tier.root)
        assert store.sweep().owners == []
        assert store.lookup(info.name).path.read_bytes() == b"after"
        assert owner.release_all() == 1


def test_namespace_without_server_lock_is_swept_after_the_grace(make_store):
    mine = make_store()
    orphan_ns = new_namespace()
    orphan_config = StoreConfig(tiers=mine.config.tiers, namespace=orphan_ns)
    # A namespace no server holds (its server died between making it and locking it, or an
    # older vfs_ext's kernel recreated it after its server removed it).
    orphan = Store(orphan_config, create=True)
    with orphan.open_owner("alive") as alive:
        kept = alive.write(b"alive")
        dead = orphan.open_owner("dead")
        lost = dead.write(b"dead")
        dead.close()
        roots = [t.base / orphan_ns for t in mine.tiers]

        mine.sweep()  # young: maybe a server starting up, left alone
        assert orphan.lookup(lost.name) is not None

        for root in roots:
            backdate(root)
        mine.sweep()
        assert orphan.lookup(lost.name) is None
        assert orphan.lookup(kept.name) is not None
        assert all(r.is_dir() for r in roots)
    for root in roots:
        backdate(root)
    mine.sweep()
    assert not any(r.exists() for r in roots)


def test_closing_the_server_store_removes_its_namespace(make_store):
    store = make_store()
    with store.open_owner("k") as owner:
        info = owner.write(b"x")
    roots = [t.root for t in store.tiers]
    store.close(remove=True)
    assert not any(r.exists() for r in roots)
    assert store.lookup(info.name) is None


def test_an_owner_releases_only_its_own_files(store):
    with store.open_owner("a") as a, store.open_owner("b") as b:
        theirs = b.write(b"b's")
        assert a.release(theirs.name) is False
        assert a.release("not a name") is False
        assert a.release_group("") == 0
        assert store.lookup(theirs.name) is not None


def test_writing_through_a_closed_owner_is_a_clear_error(store):
    owner = store.open_owner("k")
    owner.close()
    with pytest.raises(ValueError, match="closed"):
        owner.write(b"x")
