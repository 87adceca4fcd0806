"""The huge page policy of a tier's tmpfs: real mounts in a private namespace, and the
system-wide override read from a file written as the kernel writes shmem_enabled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.mounts import can_unshare, in_private_tmpfs
from vfs_ext.mounts import system_shmem_policy

ROOT = Path(__file__).resolve().parents[2]

REPORT = (
    "import json, sys; from pathlib import Path; from vfs_ext.mounts import tmpfs_huge_pages;"
    " print(json.dumps([tmpfs_huge_pages(Path(p)) for p in sys.argv[1:]]))"
)


@pytest.mark.root
@pytest.mark.skipif(not can_unshare(), reason="needs root and unshare -m to mount a tmpfs")
@pytest.mark.skipif(
    system_shmem_policy() in ("force", "deny"),
    reason="shmem_enabled forces or denies huge pages for every tmpfs here",
)
def test_policy_comes_from_the_innermost_tmpfs(tmp_path: Path) -> None:
    """A directory not made yet on a huge=within_size tmpfs (its mount point's name holding a
    space, escaped in mountinfo), a plain tmpfs stacked inside it, and a path on no tmpfs."""
    huge = tmp_path / "huge pages"
    huge.mkdir()
    command = [
        *in_private_tmpfs(huge, options="size=8m,huge=within_size"),
        *("sh", "-c", 'mkdir "$1" && shift && exec "$@"', "sh", str(huge / "plain")),
        *in_private_tmpfs(huge / "plain", options="size=8m"),
        *(sys.executable, "-c", REPORT),
        *(str(huge / "tier" / "not-yet"), str(huge / "plain" / "tier"), "/proc/self"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["within_size", "never", None]


@pytest.mark.parametrize(("selected", "policy"), [("force", "always"), ("deny", "never")])
def test_system_force_or_deny_overrides_the_mount(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, selected: str, policy: str
) -> None:
    """shmem_enabled as the kernel writes it, with force or deny selected, wins over huge=."""
    from vfs_ext import mounts

    if not mounts.is_on_tmpfs(Path("/dev/shm")):
        pytest.skip("/dev/shm is not a tmpfs here")
    sysfs = tmp_path / "shmem_enabled"
    choices = ["always", "within_size", "advise", "never", "deny", "force"]
    sysfs.write_text(" ".join(f"[{c}]" if c == selected else c for c in choices) + "\n")
    monkeypatch.setattr(mounts, "SHMEM_ENABLED", sysfs)
    assert mounts.system_shmem_policy() == selected
    assert mounts.tmpfs_huge_pages(Path("/dev/shm/vfs_ext-x")) == policy
