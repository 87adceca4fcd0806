"""A re-run overwrites its previous output's memory instead of freeing it and allocating anew,
but never while anyone (an open file, a mapping, another process) still reads the old bytes."""

from __future__ import annotations

import hashlib
import mmap
import os
import subprocess
import sys

import pytest

from tests.support.payloads import payload
from tests.support.tiers import memory_used
from vfs_ext.config import MEMORY
from vfs_ext.layout import SPARES_DIR
from vfs_ext.reuse import SPARE_MIN, FreeQueue

MiB = 1024 * 1024


def spares(store) -> list[str]:
    return [p.name for t in store.tiers for p in t.root.glob(f"*/{SPARES_DIR}/*")]


def inode(info) -> int:
    return os.stat(info.path).st_ino


@pytest.mark.parametrize(
    "new_size", [2 * MiB - 1000, 2 * MiB, 3 * MiB], ids=["smaller", "same", "larger"]
)
def test_a_rerun_overwrites_the_previous_files_memory(store, new_size):
    with store.open_owner("k") as owner:
        old = owner.write(payload("old", 2 * MiB), "png", "cell")
        old_inode = inode(old)
        assert owner.release_group("cell", wait=False, reuse=True) == 1
        assert store.lookup(old.name) is None, "the old URL fails at once"
        new = owner.write(payload("new", new_size), "png", "cell")
        assert inode(new) == old_inode
        assert new.size == new_size
        assert store.lookup(new.name).path.read_bytes() == payload("new", new_size)
        assert spares(store) == []
        assert memory_used(store) == new_size


def test_a_file_held_open_is_not_overwritten(store):
    with store.open_owner("k") as owner:
        old = owner.write(payload("old", 2 * MiB), "png", "cell")
        old_inode = inode(old)
        with open(old.path, "rb") as reader:  # a download in progress
            head = reader.read(1000)
            owner.release_group("cell", wait=False, reuse=True)
            new = owner.write(payload("new", 2 * MiB), "png", "cell")
            assert head + reader.read() == payload("old", 2 * MiB)
        assert inode(new) != old_inode
        assert store.lookup(new.name).path.read_bytes() == payload("new", 2 * MiB)


def test_a_mapped_file_is_not_overwritten(store):
    """The server sends from mappings whose descriptor is already closed."""
    with store.open_owner("k") as owner:
        old = owner.write(payload("old", 2 * MiB), "png", "cell")
        old_inode = inode(old)
        with open(old.path, "rb") as f:
            mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            owner.release_group("cell", wait=False, reuse=True)
            new = owner.write(payload("new", 2 * MiB), "png", "cell")
            assert inode(new) != old_inode
            assert mapping[:] == payload("old", 2 * MiB)
        finally:
            mapping.close()


def test_a_file_another_process_reads_is_not_overwritten(store):
    with store.open_owner("k") as owner:
        old = owner.write(payload("old", 2 * MiB), "png", "cell")
        old_inode = inode(old)
        reader = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys, hashlib\n"
                f"f = open({str(old.path)!r}, 'rb'); print('open', flush=True)\n"
                "sys.stdin.readline(); print(hashlib.sha256(f.read()).hexdigest(), flush=True)",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert reader.stdout.readline().strip() == "open"
            owner.release_group("cell", wait=False, reuse=True)
            new = owner.write(payload("new", 2 * MiB), "png", "cell")
            assert inode(new) != old_inode
            reader.stdin.write("go\n")
            reader.stdin.flush()
            assert (
                reader.stdout.readline().strip()
                == hashlib.sha256(payload("old", 2 * MiB)).hexdigest()
            )
        finally:
            reader.kill()
            reader.wait(30)
            reader.stdin.close()
            reader.stdout.close()


def test_spares_count_against_the_budget_and_a_reuse_needs_only_the_difference(make_store):
    store = make_store(memory_budget=3 * MiB, disk_budget=64 * MiB)
    with store.open_owner("k") as owner:
        old = owner.write(payload("old", 2 * MiB), "png", "cell")
        old_inode = inode(old)
        owner.release_group("cell", wait=False, reuse=True)
        assert memory_used(store) == 2 * MiB, "a spare still holds its memory"
        new = owner.write(payload("new", 2 * MiB), "png", "cell")
        assert new.tier == MEMORY
        assert inode(new) == old_inode
    assert store.stats().to_json()["events"] == {"fallback": 0, "evict": 0, "error": 0}


def test_unused_spares_are_freed_by_free_spares(store):
    with store.open_owner("k") as owner:
        owner.write(payload("a", 2 * MiB), "png", "cell")
        owner.write(payload("b", 2 * MiB), "png", "cell")
        assert owner.release_group("cell", wait=False, reuse=True) == 2
        owner.write(payload("c", 2 * MiB), "png", "cell")
        assert len(spares(store)) == 1
        assert memory_used(store) == 4 * MiB
        assert owner.free_spares() is True
        owner.freeing.settle()
        assert spares(store) == []
        assert memory_used(store) == 2 * MiB
        assert owner.free_spares() is False


def test_small_files_are_freed_not_kept(store):
    with store.open_owner("k") as owner:
        small = owner.write(payload("a", SPARE_MIN - 1), "png", "cell")
        assert owner.release_group("cell", wait=False, reuse=True) == 1
        assert store.lookup(small.name) is None
        assert spares(store) == []
        assert memory_used(store) == 0


def test_closing_the_owner_frees_its_spares(store):
    owner = store.open_owner("k")
    owner.write(payload("a", 2 * MiB), "png", "cell")
    owner.release_group("cell", wait=False, reuse=True)
    owner.close()
    assert spares(store) == []
    assert memory_used(store) == 0


def test_closing_drops_the_locks_even_when_waiting_for_a_release_fails(store, monkeypatch):
    """Fault injection: waiting for the background deletions fails (as a deletion outlasting
    the wait would), so close() raises; the owner's locks go anyway, and a restarted kernel
    takes the owner over at once instead of timing out."""
    owner = store.open_owner("k")
    owner.write(payload("a", 2 * MiB), "png", "cell")
    owner.release_group("cell", wait=False, reuse=True)

    def stuck(queue: FreeQueue, timeout: float = 60.0) -> bool:
        raise TimeoutError("a deletion outlasted the wait")

    monkeypatch.setattr(FreeQueue, "settle", stuck)
    with pytest.raises(TimeoutError):
        owner.close()
    monkeypatch.undo()
    store.open_owner("k", lock_timeout=1).close()


LEASE_BREAK_PROBE = r"""
import os, signal, subprocess, sys
from vfs_ext import reuse

path = sys.argv[1]
# Block both, so whichever arrives is observed instead of acted on (SIGIO would terminate us).
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGIO, signal.SIGURG})
fd = os.open(path, os.O_RDWR)
assert reuse.take_lease(fd)
opener = subprocess.Popen([sys.executable, "-c", f"open({path!r}, 'rb')"])
info = signal.sigtimedwait({signal.SIGIO, signal.SIGURG}, 30)
os.close(fd)  # gives the lease back: the opener goes on
opener.wait(30)
print(signal.Signals(info.si_signo).name if info else "none")
"""


def test_another_opener_during_the_lease_test_cannot_kill_the_kernel(shm_dir):
    """Someone opening a spare in the instant its lease is held breaks the lease, which is
    signalled to us: with SIGURG (ignored by default), never SIGIO (which terminates)."""
    path = shm_dir / "spare"
    path.write_bytes(b"x" * 4096)
    out = subprocess.run(
        [sys.executable, "-c", LEASE_BREAK_PROBE, str(path)],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "SIGURG"
