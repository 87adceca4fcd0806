"""Fixtures for the core tests: private tier dirs in real tmpfs and on disk, and child processes.

Memory tiers live under ``/dev/shm/vfs_ext-test-*`` and are removed after each test, whatever
the test did to them (chowned, symlinked, mounted over inside a child's mount namespace).
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import Child
from vfs_ext.config import DISK, MEMORY, StoreConfig, TierSpec
from vfs_ext.store import Store


@pytest.fixture
def shm_dir() -> Iterator[Path]:
    """A fresh directory on the real /dev/shm tmpfs, removed afterwards."""
    path = Path("/dev/shm") / f"vfs_ext-test-{secrets.token_hex(6)}"
    path.mkdir(mode=0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def tiers(shm_dir: Path, tmp_path: Path) -> tuple[TierSpec, TierSpec]:
    """A memory tier on tmpfs and a disk tier under tmp_path, with default budgets."""
    return (TierSpec(MEMORY, shm_dir / "mem"), TierSpec(DISK, tmp_path / "disk"))


@pytest.fixture
def make_store(tiers: tuple[TierSpec, ...]) -> Iterator[Callable[..., Store]]:
    """``make_store(memory_budget=..., disk_budget=..., tiers=..., **config)`` -> a server Store."""
    stores: list[Store] = []

    def make(
        *,
        memory_budget: int | None = None,
        disk_budget: int | None = None,
        tiers: tuple[TierSpec, ...] | None = None,
        **kwargs: Any,
    ) -> Store:
        if tiers is None:
            budgets = {MEMORY: memory_budget, DISK: disk_budget}
            tiers = tuple(TierSpec(t.name, t.path, budgets[t.name]) for t in default_tiers)
        store = Store.for_server(tiers, **kwargs)
        stores.append(store)
        return store

    default_tiers = tiers
    yield make
    for store in stores:
        store.close(remove=True)


@pytest.fixture
def store(make_store: Callable[..., Store]) -> Store:
    return make_store()


@pytest.fixture
def spawn() -> Iterator[Callable[..., Child]]:
    """``spawn(store_or_config, *args)`` runs a worker that gets the store through the env."""
    children: list[Child] = []

    def start(config: Store | StoreConfig, *args: str, prefix: list[str] | None = None) -> Child:
        if isinstance(config, Store):
            config = config.resolved_config()
        child = Child([str(a) for a in args], config.to_env(), prefix)
        children.append(child)
        return child

    yield start
    for child in children:
        child.cleanup()
