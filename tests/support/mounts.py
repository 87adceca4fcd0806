"""Private tmpfs mounts for one process under test (root only): ``unshare -m`` plus ``mount``.

The host's mounts are never touched: the tmpfs exists in the child's own mount namespace and
goes away with it, and the processes that child starts (a server's kernels) see it too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from vfs_ext.mounts import system_shmem_policy

#: ``sh -c`` body: mount a tmpfs with options "$1" on each point up to "--", then exec the rest.
_MOUNT_SCRIPT = (
    'opts=$1; shift; while [ "$1" != -- ]; do mount -t tmpfs -o "$opts" tmpfs "$1" || exit 97;'
    ' shift; done; shift; exec "$@"'
)


@cache
def can_unshare() -> bool:
    """Root, and a private mount namespace can really be made here (some sandboxes refuse)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "true"], capture_output=True, timeout=30
    )
    return probe.returncode == 0


#: Marks for tests that mount: skipped with the reason, never silently.
NEEDS_PRIVATE_MOUNTS = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root"),
    pytest.mark.skipif(
        not can_unshare(), reason="unshare -m (a private mount namespace) is not available here"
    ),
]


def needs_private_mounts(test: Callable[..., object]) -> Callable[..., object]:
    """``NEEDS_PRIVATE_MOUNTS`` for one test of a module whose other tests need no root."""
    for mark in NEEDS_PRIVATE_MOUNTS:
        test = mark(test)
    return test


#: For tests of a mount's own huge= setting, which shmem_enabled's force or deny would override.
HUGE_PAGES_PER_MOUNT = pytest.mark.skipif(
    system_shmem_policy() in ("force", "deny"),
    reason="shmem_enabled forces or denies huge pages for every tmpfs here",
)


def in_private_tmpfs(*mount_points: Path, options: str = "size=1m") -> list[str]:
    """Command prefix: a private mount namespace with a tmpfs (``options``) on each point."""
    return [
        "unshare",
        *("-m", "--propagation", "private"),
        *("sh", "-c", _MOUNT_SCRIPT, "sh", options),
        *map(str, mount_points),
        "--",
    ]
