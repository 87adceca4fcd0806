"""``--huge-pages``: the whole bench in a private mount namespace whose ``/dev/shm`` is a tmpfs
with transparent huge pages (``huge=within_size``), as an admin gets by mounting the memory
tier so (docs/admin.md, "Huge pages for the memory tier"). Root only; the host's /dev/shm is
untouched.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.support.mounts import can_unshare, in_private_tmpfs
from vfs_ext.mounts import tmpfs_huge_pages

SHM = Path("/dev/shm")
#: Set in the re-executed bench, so it runs rather than re-executing again.
INSIDE = "VFS_EXT_BENCH_HUGE_PAGES"


def reexec(argv: list[str]) -> None:
    """Run ``python -m bench argv`` again over a huge-page /dev/shm of the same size; returns
    only when already there."""
    if os.environ.get(INSIDE) == "1":
        return
    if not can_unshare():
        raise SystemExit("--huge-pages needs root and unshare -m (a private mount namespace)")
    st = os.statvfs(SHM)
    options = f"huge=within_size,mode=1777,size={st.f_blocks * st.f_frsize}"
    command = [*in_private_tmpfs(SHM, options=options), sys.executable, "-m", "bench", *argv]
    os.execvpe(command[0], command, {**os.environ, INSIDE: "1"})


def note() -> str:
    """What the memory tier's tmpfs does with huge pages in this run."""
    policy = tmpfs_huge_pages(SHM)
    if policy is None:
        return "memory tier: /dev/shm is not a tmpfs here"
    where = " (private mount over /dev/shm, --huge-pages)" if os.environ.get(INSIDE) else ""
    return f"memory tier: /dev/shm huge pages {policy}{where}"
