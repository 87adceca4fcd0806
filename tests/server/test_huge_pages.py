"""Admins see whether the memory tier's tmpfs has huge pages, with servers in a private mount
namespace whose memory tier lives on a tmpfs of their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.mounts import HUGE_PAGES_PER_MOUNT, NEEDS_PRIVATE_MOUNTS, in_private_tmpfs
from tests.support.server import jupyter_server

pytestmark = [*NEEDS_PRIVATE_MOUNTS, HUGE_PAGES_PER_MOUNT]

HINT = "mounted with huge=within_size it takes large outputs several times faster"


@pytest.mark.parametrize(
    ("options", "policy"), [("size=64m,huge=within_size", "within_size"), ("size=64m", "never")]
)
def test_admin_view_and_log_tell_the_memory_tiers_huge_pages(
    tmp_path: Path, options: str, policy: str
) -> None:
    shm = tmp_path / "shm"
    shm.mkdir()
    with jupyter_server(
        tmp_path,
        memory_dir=shm / "vfs_ext",
        prefix=in_private_tmpfs(shm, options=options),
        extra_args=["--VirtualFiles.sweep_interval=0"],
    ) as server:
        tiers = {t["name"]: t for t in server.api("GET", "api/vfs")["tiers"]}
        log = server.log_text()
    assert tiers["memory"]["huge_pages"] == policy
    assert (HINT in log) == (policy == "never"), log
