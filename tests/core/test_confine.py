"""Kernels write only inside a namespace their server made; removing it stops them at once."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from vfs_ext.config import DISK, TierSpec
from vfs_ext.confine import ServerGone, leftover_removals
from vfs_ext.errors import VirtualFileError
from vfs_ext.store import Store


def modes(base: Path) -> dict[str, int]:
    """Every folder under ``base`` (and ``base``) -> its permission bits."""
    found = {str(base): stat.S_IMODE(os.lstat(base).st_mode)}
    for dirpath, dirnames, _ in os.walk(base):
        for name in dirnames:
            path = os.path.join(dirpath, name)
            found[path] = stat.S_IMODE(os.lstat(path).st_mode)
    return found


def kernel_store(server: Store) -> Store:
    """A store built as a kernel builds it, from what the server exported."""
    store = Store.from_env(server.resolved_config().to_env())
    assert store is not None
    return store


def test_a_kernel_never_makes_the_namespace(store: Store) -> None:
    roots = [t.root for t in store.tiers]
    store.close(remove=True)
    with pytest.raises(VirtualFileError, match="does not exist"):
        kernel_store(store)
    assert not any(r.exists() for r in roots)


def test_writes_after_the_server_left_fail_and_recreate_nothing(store: Store) -> None:
    kernel = kernel_store(store)
    owner = kernel.open_owner("k")
    owner.write(b"before", group="cell")
    roots = [t.root for t in store.tiers]
    store.close(remove=True)
    with pytest.raises(ServerGone, match="has stopped"):
        owner.write(b"after", group="cell-2")
    with pytest.raises(ServerGone):
        kernel.open_owner("another")
    owner.close()
    assert not any(r.exists() for r in roots)
    assert [leftover_removals(t.base) for t in store.tiers] == [[], []]


def test_a_servers_missing_parents_are_made_0700(
    make_store: Callable[..., Store], tmp_path: Path
) -> None:
    old = os.umask(0o002)  # a umask that would let others list and enter them
    try:
        make_store(tiers=(TierSpec(DISK, tmp_path / "a" / "b" / "disk"),))
    finally:
        os.umask(old)
    assert set(modes(tmp_path / "a").values()) == {0o700}, modes(tmp_path / "a")


def test_owner_and_group_folders_are_0700(store: Store) -> None:
    old = os.umask(0o002)
    try:
        with kernel_store(store).open_owner("k") as owner:
            owner.write(b"x", group="cell")
    finally:
        os.umask(old)
    for tier in store.tiers:
        assert set(modes(tier.root).values()) == {0o700}, modes(tier.root)
