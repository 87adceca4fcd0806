"""The running figure of a tier's bytes in use (vfs_ext.budget) is never below the truth, also
when an exact count runs while another owner moves files between its directories: a release
setting a group aside, a re-run keeping spares, a restarted kernel clearing its predecessor's.

Each test stops an exact count halfway (after it listed the owner's directories, before it read
the one about to move), lets the move run in another thread until it is done or waits for the
tier's budget lock, and then lets the count finish.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.payloads import payload
from vfs_ext import tiers as tiers_module
from vfs_ext.config import DISK, MEMORY
from vfs_ext.layout import BUDGET_LOCK, SPARES_DIR
from vfs_ext.names import owner_key
from vfs_ext.owner import Owner
from vfs_ext.release import BACKGROUND_RELEASE_MIN
from vfs_ext.store import Store
from vfs_ext.tiers import Tier

MiB = 1024 * 1024
TIMEOUT = 30.0

real_scan_dir = tiers_module.scan_dir


def waits_for_lock(path: Path) -> bool:
    """Whether a process or thread waits for the flock on ``path`` (/proc/locks marks waiters
    with '->')."""
    st = os.stat(path)
    file_id = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    with open("/proc/locks", encoding="ascii") as f:
        return any(line.split()[1:2] == ["->"] and file_id in line.split() for line in f)


def memory_tier(store: Store) -> Tier:
    (tier,) = [t for t in store.tiers if t.name == MEMORY]
    return tier


def figure(tier: Tier) -> int:
    return int((tier.root / BUDGET_LOCK).read_bytes())


class Interleave:
    """Runs ``move`` in a thread when an exact count first reads a directory in ``owner_dir``,
    and lets the count go on once the move is done or waits for the budget lock."""

    def __init__(self, tier: Tier, owner_dir: Path, move: Callable[[], object]) -> None:
        self.tier = tier
        self.owner_dir = owner_dir
        self.mover = threading.Thread(target=move)
        self.fired = False

    def scan_dir(self, path: Path) -> list[os.DirEntry[str]]:
        if not self.fired and Path(path).parent == self.owner_dir:
            self.fired = True
            self.mover.start()
            self._until_done_or_waiting()
        return real_scan_dir(path)

    def _until_done_or_waiting(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        while self.mover.is_alive() and not waits_for_lock(self.tier.root / BUDGET_LOCK):
            assert time.monotonic() < deadline, "the move neither ended nor waited for the lock"
            self.mover.join(0.005)


def spares(store: Store, opened: list[Owner]) -> Callable[[], object]:
    """A re-run keeps its previous output as a spare (moved into .spares)."""
    owner = store.open_owner("a")
    opened.append(owner)
    owner.write(payload("a", 6 * MiB), "bin", "cell")
    return lambda: owner.release_group("cell", wait=False, reuse=True)


def background(store: Store, opened: list[Owner]) -> Callable[[], object]:
    """A large group is set aside (renamed) and freed in the background."""
    owner = store.open_owner("a")
    opened.append(owner)
    owner.write(payload("a", BACKGROUND_RELEASE_MIN), "bin", "cell")
    return lambda: owner.release_group("cell", wait=False)


def restart(store: Store, opened: list[Owner]) -> Callable[[], object]:
    """A kernel was killed with a spare kept; its restart moves the spares out of the way."""
    spares = memory_tier(store).root / owner_key("a") / SPARES_DIR
    spares.mkdir(parents=True, mode=0o700)
    (spares / secrets.token_hex(8)).write_bytes(payload("a", 6 * MiB))
    return lambda: opened.append(store.open_owner("a"))


@pytest.mark.parametrize(
    ("held", "setup"),
    [(6 * MiB, spares), (BACKGROUND_RELEASE_MIN, background), (6 * MiB, restart)],
    ids=["spares", "background", "restart"],
)
def test_a_count_during_a_move_does_not_let_the_budget_overflow(
    make_store, monkeypatch, held, setup
):
    """What kernel "a" holds plus 3 MiB of kernel "b" fill all but 1 MiB of the memory budget:
    b's next 2 MiB must go to disk, however "a" moves its bytes meanwhile."""
    store = make_store(memory_budget=held + 4 * MiB, disk_budget=64 * MiB)
    memory = memory_tier(store)
    opened: list[Owner] = []
    try:
        move = setup(store, opened)
        with store.open_owner("b") as b:
            assert b.write(payload("b1", 3 * MiB), "bin").tier == MEMORY
            (memory.root / BUDGET_LOCK).write_bytes(b"")  # a lost figure: the next write counts
            interleave = Interleave(memory, memory.root / owner_key("a"), move)
            monkeypatch.setattr(tiers_module, "scan_dir", interleave.scan_dir)
            info = b.write(payload("b2", 2 * MiB), "bin")
            monkeypatch.undo()
            interleave.mover.join(TIMEOUT)
            assert interleave.fired and not interleave.mover.is_alive()

            assert info.tier == DISK, "the count missed the bytes in transit"
            assert figure(memory) >= memory.used_bytes()
    finally:
        for owner in opened:
            owner.close()


def test_a_write_finishing_during_a_count_is_still_counted(make_store, monkeypatch) -> None:
    """The count lists a group, then the writer renames its ``.part-<reserved>-*`` file to the
    final name before the count looks at it: neither name is counted unless the vanished part
    counts by its reservation."""
    store = make_store()
    tier = memory_tier(store)
    with store.open_owner("k") as owner:
        info = owner.write(payload("k", 5 * MiB), "bin", "cell")
        in_progress = info.path.with_name(f".part-{5 * MiB}-{secrets.token_hex(8)}")
        os.rename(info.path, in_progress)  # as it was just before the writer's final rename

        def listed_then_renamed(path: Path) -> list[os.DirEntry[str]]:
            entries = real_scan_dir(path)
            if Path(path) == in_progress.parent and in_progress.exists():
                os.rename(in_progress, info.path)  # the writer finishes meanwhile
            return entries

        monkeypatch.setattr(tiers_module, "scan_dir", listed_then_renamed)
        assert tier.used_bytes() >= 5 * MiB
