"""Fixtures for the core tests: private tier dirs in real tmpfs and on disk, and child processes.

Memory tiers live under ``/dev/shm/vfs_ext-test-*`` and are removed after each test, whatever
the test did to them (chowned, symlinked, mounted over inside a child's mount namespace).
"""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vfs_ext.config import DISK, MEMORY, StoreConfig, TierSpec
from vfs_ext.store import Store

WORKER = Path(__file__).with_name("worker.py")
CHILD_TIMEOUT = 120.0


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
        **kwargs: object,
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


class Child:
    """A worker process (tests/core/worker.py) that reports JSON lines and waits for stdin."""

    def __init__(self, args: list[str], env: dict[str, str], prefix: list[str] | None = None):
        self.proc = subprocess.Popen(
            [*(prefix or []), sys.executable, str(WORKER), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
            text=True,
        )

    def read(self, timeout: float = CHILD_TIMEOUT) -> dict:
        """The next JSON line the worker printed; fails if it died or stays silent too long."""
        assert self.proc.stdout is not None
        if not select.select([self.proc.stdout], [], [], timeout)[0]:
            raise AssertionError(f"worker reported nothing within {timeout} s")
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(CHILD_TIMEOUT)
            raise AssertionError(
                f"worker exited {self.proc.returncode} without reporting: {self.stderr()}"
            )
        return json.loads(line)

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read() if self.proc.poll() is not None else "(still running)"

    def finish(self) -> int:
        """Close stdin (the worker's cue to exit) and wait for it."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(CHILD_TIMEOUT)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(CHILD_TIMEOUT)

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


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


def tier_files(root: Path) -> dict[str, int]:
    """Every regular file under ``root``, walked without vfs_ext: relative path -> size."""
    found = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = Path(dirpath, f)
            if p.is_file() and not p.is_symlink():
                found[str(p.relative_to(root))] = p.stat().st_size
    return found


def memory_used(store: Store) -> int:
    """Bytes the memory tier counts against its budget (files, spares, pending releases)."""
    (tier,) = [t for t in store.tiers if t.name == MEMORY]
    return tier.used_bytes()


def part_files(root: Path) -> list[str]:
    return [p for p in tier_files(root) if Path(p).name.startswith(".part-")]


def backdate(root: Path, seconds: float = 3600) -> None:
    """Make every directory under ``root`` look untouched for ``seconds`` (instead of sleeping
    through a grace period)."""
    for dirpath, _dirs, _files in os.walk(root):
        st = os.lstat(dirpath)
        os.utime(dirpath, (st.st_atime - seconds, st.st_mtime - seconds))
