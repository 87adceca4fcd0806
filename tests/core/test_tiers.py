"""Tier directories are private: created 0700; an existing directory (an admin's) is used as it is,
never chmodded or emptied of what is not ours; refused (with a logged reason, falling through to
the next tier) when a symlink, someone else's, or writable by others without the sticky bit."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from tests.support.tiers import backdate
from vfs_ext.config import (
    DISK,
    MEMORY,
    TierSpec,
    default_disk_dir,
    default_memory_dir,
    default_tiers,
)
from vfs_ext.errors import VirtualFileError
from vfs_ext.mounts import is_on_tmpfs
from vfs_ext.store import Store

NOBODY = 65534


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def assert_refused_and_disk_used(store: Store, caplog, why: str) -> None:
    assert [t.name for t in store.tiers] == [DISK]
    assert why in store.refused[MEMORY]
    assert store.stats().to_json()["refused"] == {MEMORY: store.refused[MEMORY]}
    assert any(
        r.name == "vfs_ext" and r.levelno == logging.WARNING and why in r.getMessage()
        for r in caplog.records
    )
    with store.open_owner("k") as owner:
        assert owner.write(b"still works", "txt").tier == DISK


def test_dirs_are_created_private(make_store, tiers):
    store = make_store()
    with store.open_owner("k") as owner:
        info = owner.write(b"x", "txt", "cell")
    for tier in store.tiers:
        for path in (tier.base, tier.root, tier.root / info.owner):
            assert mode(path) == 0o700, path
    group_dir = info.path.parent
    assert mode(group_dir) == 0o700
    assert mode(info.path) == 0o600


def test_existing_dir_is_used_as_is_and_what_is_not_ours_survives(make_store, tiers):
    """An admin may point a tier at a directory that holds other things: we neither chmod it nor
    sweep (or remove at stop) anything in it that is not a vfs_ext namespace."""
    base = tiers[0].path
    base.mkdir(mode=0o755)
    theirs = [base / "notes.txt", base / "papers" / "a.pdf", base / "projectA" / "r" / "d.txt"]
    for path in theirs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("keep me")
    backdate(base)  # old enough for any startup grace
    store = make_store()
    assert mode(base) == 0o755
    assert mode(store.tiers[0].root) == 0o700  # what we create inside is private
    with store.open_owner("k") as owner:
        owner.write(b"ours", "txt")
    store.sweep()
    store.close(remove=True)
    assert [p.read_text() for p in theirs] == ["keep me"] * 3
    assert mode(base) == 0o755
    assert sorted(os.listdir(base)) == ["notes.txt", "papers", "projectA"]


def test_base_we_created_goes_at_stop(make_store, tiers):
    store = make_store()
    base = store.tiers[0].base
    assert base == tiers[0].path and base.is_dir()
    store.close(remove=True)
    assert not base.exists()


def test_dir_others_may_write_into_is_refused(make_store, tiers, caplog):
    base = tiers[0].path
    base.mkdir()
    os.chmod(base, 0o777)
    caplog.set_level(logging.WARNING, "vfs_ext")
    store = make_store()
    assert_refused_and_disk_used(store, caplog, "writable by other users")
    assert mode(base) == 0o777


def test_sticky_shared_dir_like_dev_shm_is_accepted(make_store, tiers):
    base = tiers[0].path
    base.mkdir()
    os.chmod(base, 0o1777)
    store = make_store()
    assert [t.name for t in store.tiers] == [MEMORY, DISK]
    assert stat.S_IMODE(os.lstat(base).st_mode) == 0o1777


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")
@pytest.mark.parametrize("level", ["base", "namespace"])
def test_dir_of_another_user_is_refused(make_store, tiers, caplog, level):
    base = tiers[0].path
    base.mkdir(mode=0o700)
    target = base if level == "base" else base / "sforeign"
    target.mkdir(mode=0o700, exist_ok=True)
    os.chown(target, NOBODY, NOBODY)
    caplog.set_level(logging.WARNING, "vfs_ext")
    store = make_store(namespace="sforeign")
    assert_refused_and_disk_used(store, caplog, f"owned by uid {NOBODY}")
    assert os.lstat(target).st_uid == NOBODY, "left alone"


@pytest.mark.parametrize("level", ["base", "namespace"])
def test_symlink_tier_dir_is_refused(make_store, tiers, tmp_path, caplog, level):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    base = tiers[0].path
    if level == "base":
        base.symlink_to(elsewhere)
    else:
        base.mkdir(mode=0o700)
        (base / "slinked").symlink_to(elsewhere)
    caplog.set_level(logging.WARNING, "vfs_ext")
    store = make_store(namespace="slinked")
    assert_refused_and_disk_used(store, caplog, "symlink")
    assert list(elsewhere.iterdir()) == [], "nothing was written through the link"


def test_a_file_where_the_tier_dir_should_be_is_refused(make_store, tiers, caplog):
    tiers[0].path.write_bytes(b"not a dir")
    caplog.set_level(logging.WARNING, "vfs_ext")
    store = make_store()
    assert_refused_and_disk_used(store, caplog, "not a directory")


def test_no_usable_tier_raises(tmp_path):
    bad = tmp_path / "link"
    bad.symlink_to(tmp_path)
    afile = tmp_path / "file"
    afile.write_bytes(b"")
    with pytest.raises(VirtualFileError, match=r"VirtualFiles\.memory_dir") as err:
        Store.for_server((TierSpec(MEMORY, bad), TierSpec(DISK, afile)))
    assert "symlink" in str(err.value) and "not a directory" in str(err.value)


def test_missing_parents_are_created(make_store, shm_dir, tmp_path):
    store = make_store(
        tiers=(TierSpec(MEMORY, shm_dir / "a" / "b"), TierSpec(DISK, tmp_path / "c" / "d"))
    )
    assert [t.name for t in store.tiers] == [MEMORY, DISK]
    assert mode(shm_dir / "a") == 0o700


def test_default_tiers_put_memory_on_tmpfs(shm_dir, tmp_path):
    assert is_on_tmpfs(Path("/dev/shm")) and is_on_tmpfs(shm_dir / "not" / "yet")
    memory = default_memory_dir()
    assert memory == Path("/dev/shm") / f"vfs_ext-{os.geteuid()}"
    specs = default_tiers()
    assert [s.name for s in specs] == [MEMORY, DISK]
    assert specs[0].path == memory and specs[1].path == default_disk_dir()


def test_derived_budgets(make_store, shm_dir):
    store = make_store()
    st = os.statvfs(shm_dir)
    assert store.tiers[0].budget == st.f_blocks * st.f_frsize // 4
    assert 0 < store.tiers[1].budget <= 20 * 1024**3
