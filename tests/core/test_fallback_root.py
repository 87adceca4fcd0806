"""Fallback for real: a full tmpfs must move a write to the next tier, not kill the writer.

Each writer runs in its own mount namespace (``unshare -m``) with a 1 MiB tmpfs mounted over the
memory tier's parent, so the host's /dev/shm is never filled. Writing with mmap would die of
SIGBUS here; vfs_ext writes with write(2) and gets ENOSPC.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.support.mounts import NEEDS_PRIVATE_MOUNTS, in_private_tmpfs
from tests.support.payloads import payload
from tests.support.tiers import part_files, tier_files
from vfs_ext.config import DISK, MEMORY, StoreConfig, TierSpec
from vfs_ext.names import is_valid_name

pytestmark = NEEDS_PRIVATE_MOUNTS

SIZE = 4 * 1024 * 1024
BIG_BUDGET = 1 << 30  # larger than the 1 MiB filesystem: only ENOSPC can stop the write
# (memory tiers here keep nothing free, keep_free=0: the kernel's ENOSPC is what is tested)
CASES = ("bytes", "file", "stream", "pipe")
#: A tmpfs with transparent huge pages fills 2 MiB at a time: it must fail as cleanly.
MEMORY_MOUNTS = {"small-pages": "size=1m", "huge-pages": "size=3m,huge=within_size"}


def run_fallback(
    spawn, config: StoreConfig, source: Path, mounts: list[Path], options: str = "size=1m"
) -> dict:
    child = spawn(config, "fallback", source, prefix=in_private_tmpfs(*mounts, options=options))
    out = child.read()
    rc = child.finish()
    assert rc == 0, f"writer died (rc {rc}, SIGBUS is {-signal.SIGBUS}): {child.stderr()}"
    return out


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "source.bin"
    path.write_bytes(payload("fallback", SIZE))
    return path


@pytest.mark.parametrize("mount", list(MEMORY_MOUNTS))
@pytest.mark.parametrize(
    "memory_budget", [BIG_BUDGET, None], ids=["out-of-space", "derived-budget"]
)
def test_full_memory_tier_falls_back_to_disk(
    shm_dir, tmp_path, spawn, source, memory_budget, mount
):
    """4 MiB into a 1 MiB memory tier (3 MiB with huge pages) lands on disk whole, whatever
    the source; no partials."""
    disk = tmp_path / "disk"
    config = StoreConfig(
        tiers=(TierSpec(MEMORY, shm_dir / "mem", memory_budget, 0), TierSpec(DISK, disk)),
        namespace="sfallback",
    )
    out = run_fallback(spawn, config, source, [shm_dir], MEMORY_MOUNTS[mount])

    assert out["tiers"] == [MEMORY, DISK]
    for case in CASES:
        result = out["results"][case]
        assert result == {"tier": DISK, "same": True, "lookup_tier": DISK}, case
    assert out["results"]["small"] == {"tier": MEMORY}  # the memory tier is still usable
    assert out["parts"] == {MEMORY: [], DISK: []}
    assert out["stats"]["events"]["fallback"] == len(CASES)
    if memory_budget == BIG_BUDGET:  # the kernel's ENOSPC refused them, not a budget
        reasons = [r for e in out["stats"]["recent_events"] for r in e.get("reasons", [])]
        assert reasons and all("No space left" in r for r in reasons), reasons

    on_disk = tier_files(disk / "sfallback")
    stored = [size for path, size in on_disk.items() if is_valid_name(Path(path).name)]
    assert stored == [SIZE] * len(CASES)
    assert part_files(disk) == []


def test_full_disk_tier_raises_error_naming_the_setting(shm_dir, tmp_path, spawn, source):
    """When every tier's filesystem is full the writer gets VirtualFileError, stays alive, and
    the message says which setting to change; nothing partial is left anywhere."""
    disk = tmp_path / "disk"
    disk.mkdir()
    config = StoreConfig(
        tiers=(TierSpec(MEMORY, shm_dir / "mem", BIG_BUDGET, 0), TierSpec(DISK, disk, BIG_BUDGET)),
        namespace="sfull",
    )
    out = run_fallback(spawn, config, source, [shm_dir, disk])

    for case in CASES:
        error = out["results"][case].get("error", "")
        assert "No space left" in error, case
        assert "VirtualFiles.disk_dir" in error, case
    assert out["results"]["small"] == {"tier": MEMORY}
    assert out["parts"] == {MEMORY: [], DISK: []}
    assert out["stats"]["events"]["error"] == len(CASES)


def test_over_disk_budget_error_names_the_budget(shm_dir, tmp_path, spawn, source):
    """A tiny tmpfs disk tier with its derived budget: the error names the budget settings."""
    disk = tmp_path / "disk"
    disk.mkdir()
    config = StoreConfig(
        tiers=(TierSpec(MEMORY, shm_dir / "mem", keep_free=0), TierSpec(DISK, disk)),
        namespace="sbudget",
    )
    out = run_fallback(spawn, config, source, [shm_dir, disk])
    for case in CASES:
        error = out["results"][case].get("error", "")
        assert "VirtualFiles.memory_budget" in error and "VirtualFiles.disk_budget" in error, case
    assert out["parts"] == {MEMORY: [], DISK: []}


def test_a_read_only_tier_is_skipped_and_the_error_names_it(shm_dir, tmp_path, spawn):
    """EROFS is neither a budget nor a space problem: the write falls back to the next tier,
    and when every tier is read-only the error names their directories and the errno."""
    disk = tmp_path / "disk"
    disk.mkdir()
    config = StoreConfig(
        tiers=(TierSpec(MEMORY, shm_dir / "mem", BIG_BUDGET, 0), TierSpec(DISK, disk, BIG_BUDGET)),
        namespace="sreadonly",
    )
    child = spawn(config, "readonly", shm_dir, disk, prefix=in_private_tmpfs(shm_dir, disk))
    before, memory_read_only, all_read_only = child.read()["results"]
    assert child.finish() == 0, child.stderr()

    assert (before, memory_read_only) == (MEMORY, DISK)
    for root in (shm_dir / "mem" / "sreadonly", disk / "sreadonly"):
        assert f"writing in {root} failed: EROFS (Read-only file system)" in all_read_only
    assert "budget" not in all_read_only and "free space" not in all_read_only
    assert "a directory that can be written" in all_read_only
