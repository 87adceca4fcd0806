"""The huge page policy of a tier's tmpfs, read from real mounts in a private namespace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.mounts import NEEDS_PRIVATE_MOUNTS, in_private_tmpfs
from vfs_ext.mounts import system_shmem_policy

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    *NEEDS_PRIVATE_MOUNTS,
    pytest.mark.skipif(
        system_shmem_policy() in ("force", "deny"),
        reason="shmem_enabled forces or denies huge pages for every tmpfs here",
    ),
]

REPORT = (
    "import json, sys; from pathlib import Path; from vfs_ext.mounts import tmpfs_huge_pages;"
    " print(json.dumps([tmpfs_huge_pages(Path(p)) for p in sys.argv[1:]]))"
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
