"""The huge page policy of a tier's tmpfs: real mounts in a private namespace, and the
system-wide override read from a file written as the kernel writes shmem_enabled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.mounts import HUGE_PAGES_PER_MOUNT, in_private_tmpfs, needs_private_mounts

REPORT = (
    "import json, sys; from pathlib import Path; from vfs_ext.mounts import tmpfs_huge_pages;"
    " print(json.dumps([tmpfs_huge_pages(Path(p)) for p in sys.argv[1:]]))"
)


SETUP = r"""
set -e
cd "$1"; shift
mkdir "huge pages"; mount -t tmpfs -o size=8m,huge=within_size tmpfs "huge pages"
mkdir "huge pages/plain"; mount -t tmpfs -o size=8m tmpfs "huge pages/plain"
odd="$(printf 'huge pages/\377')"; mkdir "$odd"; mount -t tmpfs -o size=8m,huge=always tmpfs "$odd"
ln -s "huge pages/plain" link
mkdir -p hidden/inner; mount -t tmpfs -o size=8m,huge=within_size tmpfs hidden/inner
mount -t tmpfs -o size=8m tmpfs hidden
exec "$@"
"""


@needs_private_mounts
@HUGE_PAGES_PER_MOUNT
def test_policy_comes_from_the_tmpfs_that_holds_the_path(tmp_path: Path) -> None:
    """Real mounts in a private namespace: a directory not made yet on a huge=within_size tmpfs
    (a space in its mount point's name, escaped in mountinfo), a plain tmpfs stacked inside it
    and reached through a symlink, a mount point whose name is not UTF-8, a tmpfs hidden under
    one mounted over its parent later, and a path on no tmpfs."""
    paths = [
        tmp_path / "huge pages" / "tier" / "not-yet",
        tmp_path / "link" / "tier",
        Path(os.fsdecode(os.fsencode(tmp_path) + b"/huge pages/\xff/tier")),
        tmp_path / "hidden" / "inner" / "tier",
        Path("/proc/self"),
    ]
    command = [
        *("unshare", "-m", "--propagation", "private", "sh", "-c", SETUP, "sh", str(tmp_path)),
        *(sys.executable, "-c", REPORT, *map(str, paths)),
    ]
    done = subprocess.run(command, capture_output=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert json.loads(done.stdout) == ["within_size", "never", "always", "never", None]


OVERRIDE = (
    "import sys; from pathlib import Path; from vfs_ext import mounts;"
    " mounts.SHMEM_ENABLED = Path(sys.argv[1]);"
    " print(mounts.system_shmem_policy(), mounts.tmpfs_huge_pages(Path(sys.argv[2])))"
)


@needs_private_mounts
@pytest.mark.parametrize(
    ("selected", "mount", "policy"),
    [("force", "size=8m", "always"), ("deny", "size=8m,huge=within_size", "never")],
)
def test_system_force_or_deny_overrides_the_mount(
    tmp_path: Path, selected: str, mount: str, policy: str
) -> None:
    """shmem_enabled as the kernel writes it (read from a file written so), with force or deny
    selected, wins over a tmpfs's own huge= setting."""
    sysfs = tmp_path / "shmem_enabled"
    choices = ["always", "within_size", "advise", "never", "deny", "force"]
    sysfs.write_text(" ".join(f"[{c}]" if c == selected else c for c in choices) + "\n")
    shm = tmp_path / "shm"
    shm.mkdir()
    command = [
        *in_private_tmpfs(shm, options=mount),
        *(sys.executable, "-c", OVERRIDE, str(sysfs), str(shm / "tier")),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [selected, policy]
