"""keep_free: the room of a tier's filesystem that vfs_ext leaves to other programs.

Other users of /dev/shm (PyTorch DataLoader workers, multiprocessing, browsers) die of SIGBUS
when it fills; vfs_ext stops short of that and sends the write to the next tier.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.mounts import in_private_tmpfs, needs_private_mounts
from tests.support.tiers import part_files
from vfs_ext.config import DISK, MEMORY, TierSpec
from vfs_ext.errors import VirtualFileError

MiB = 1024 * 1024


def fs_size(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_blocks * st.f_frsize


def test_memory_tiers_keep_a_tenth_of_their_filesystem_free_by_default(make_store, shm_dir):
    memory, disk = make_store().tiers
    assert memory.keep_free == fs_size(shm_dir) // 10
    assert disk.keep_free == 0


def test_a_write_into_the_room_kept_free_goes_to_the_next_tier(make_store, shm_dir, tmp_path):
    """The whole filesystem kept free: nothing lands in memory, the fallback says why."""
    store = make_store(
        tiers=(
            TierSpec(MEMORY, shm_dir / "m", keep_free=fs_size(shm_dir)),
            TierSpec(DISK, tmp_path / "d"),
        )
    )
    with store.open_owner("k") as owner:
        info = owner.write(b"x" * 4096, "bin")
    assert info.tier == DISK
    (event,) = [e for e in store.stats().to_json()["recent_events"] if e["kind"] == "fallback"]
    assert "free for other programs" in event["reasons"][0], event
    assert store.stats().to_json()["tiers"][0]["free"] == 0


def test_when_every_tier_keeps_its_room_the_error_names_the_settings(make_store, shm_dir, tmp_path):
    disk = tmp_path / "d"
    disk.mkdir()
    store = make_store(
        tiers=(
            TierSpec(MEMORY, shm_dir / "m", keep_free=fs_size(shm_dir)),
            TierSpec(DISK, disk, keep_free=fs_size(disk)),
        )
    )
    with store.open_owner("k") as owner, pytest.raises(VirtualFileError) as caught:
        owner.write(b"x" * (17 * MiB), "bin", evict=True)  # above the inline fallback, too
    message = str(caught.value)
    assert "VirtualFiles.memory_keep_free" in message and "VirtualFiles.disk_keep_free" in message
    assert "VirtualFiles.memory_budget" not in message  # no budget was at fault
    assert part_files(shm_dir) == [] and part_files(disk) == []


def test_a_rerun_overwriting_its_spare_needs_no_new_room(make_store, shm_dir):
    """A re-run's output reuses its predecessor's pages (vfs_ext/reuse.py): it takes nothing
    from the room kept free, so it stays in memory when a fresh write could not."""
    store = make_store()
    memory = store.tiers[0]
    with store.open_owner("k") as owner:
        first = owner.write(b"a" * (2 * MiB), "bin", "cell")
        assert first.tier == MEMORY
        owner.release_group("cell", reuse=True)
        memory.keep_free = fs_size(shm_dir)  # from now on no fresh page may be taken here
        again = owner.write(b"b" * (2 * MiB), "bin", "cell")
        fresh = owner.write(b"c" * (2 * MiB), "bin", "other")
    assert again.tier == MEMORY and again.path.read_bytes() == b"b" * (2 * MiB)
    assert fresh.tier == DISK


SCRIPT = r"""
import json, sys
from pathlib import Path
from vfs_ext.config import TierSpec
from vfs_ext.store import Store

shm, disk = Path(sys.argv[1]), Path(sys.argv[2])
store = Store.for_server(tiers=[
    TierSpec("memory", shm / "vfs", 1 << 30, keep_free=4 << 20),
    TierSpec("disk", disk, 1 << 30),
])
tiers = []
with store.open_owner("k") as owner:
    first = owner.write(b"1" * (2 << 20), "bin", "a")
    tiers.append(first.tier)
    tiers.append(owner.write(b"2" * (3 << 20), "bin", "b").tier)  # 6 MiB free - 3 < 4
    owner.release(first.name)
    tiers.append(owner.write(b"3" * (3 << 20), "bin", "c").tier)  # 8 MiB free - 3 >= 4
store.close(remove=True)
print(json.dumps(tiers))
"""


@needs_private_mounts
def test_an_8_mib_tmpfs_keeping_4_mib_free(tmp_path: Path) -> None:
    """On a real 8 MiB tmpfs: writes fill it up to the 4 MiB kept free, then go to disk, and
    memory is used again once a file is released."""
    shm = tmp_path / "shm"
    shm.mkdir()
    command = [
        *in_private_tmpfs(shm, options="size=8m"),
        *(sys.executable, "-c", SCRIPT, str(shm), str(tmp_path / "disk")),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [MEMORY, DISK, MEMORY]


STREAM_SCRIPT = r"""
import json, os, sys
from pathlib import Path
from vfs_ext.config import TierSpec
from vfs_ext.store import Store

shm, disk = Path(sys.argv[1]), Path(sys.argv[2])
keep = 24 << 20
store = Store.for_server(tiers=[
    TierSpec("memory", shm / "vfs", 1 << 30, keep_free=keep),
    TierSpec("disk", disk, 1 << 30),
])

class Stream:
    # A non-seekable source of unknown size that notes the tmpfs's free space at each read,
    # i.e. between the writes of its chunks.
    def __init__(self, n):
        self.left, self.free = n, []
    def seekable(self):
        return False
    def readinto(self, buf):
        st = os.statvfs(shm)
        self.free.append(st.f_bavail * st.f_frsize)
        n = min(len(buf), self.left)
        buf[:n] = b"s" * n
        self.left -= n
        return n
    def read(self, size=-1):
        buf = bytearray(self.left if size is None or size < 0 else size)
        return bytes(buf[: self.readinto(buf)])

stream = Stream(40 << 20)
with store.open_owner("k") as owner:
    info = owner.write(stream, "bin")
    same = info.path.read_bytes() == b"s" * (40 << 20)
store.close(remove=True)
print(json.dumps({"tier": info.tier, "same": same, "lowest": min(stream.free), "keep": keep}))
"""


@needs_private_mounts
def test_a_stream_of_unknown_size_stops_at_the_room_kept_free(tmp_path: Path) -> None:
    """40 MiB from a pipe-like source into a 48 MiB tmpfs keeping 24 MiB free: the tmpfs never
    has less than 24 MiB free while the stream runs (its reservation grows ahead of the bytes,
    but not into that room), and the whole stream ends up on disk, intact."""
    shm = tmp_path / "shm"
    shm.mkdir()
    command = [
        *in_private_tmpfs(shm, options="size=48m"),
        *(sys.executable, "-c", STREAM_SCRIPT, str(shm), str(tmp_path / "disk")),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["tier"] == DISK and out["same"]
    assert out["lowest"] >= out["keep"], f"{out['lowest'] / MiB:.1f} MiB free at the lowest"
