"""vfs_ext's lines in the server's log look like jupyter_server's own and honour its level: under
JupyterHub a bare warning without time or level, and no "swept" INFO line at all, left admins
guessing."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.support.server import jupyter_server
from vfs_ext.config import DISK, TierSpec
from vfs_ext.store import Store

#: jupyter_server's format: ``[I 2026-12-04 16:20:00.123 ServerApp] message``.
LINE = r"^\[{level} \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{{3}} vfs_ext\] vfs_ext: {message}"


def _leave_a_dead_server(disk: Path) -> None:
    """A namespace whose server and kernel are gone (locks free), with one file in it."""
    store = Store.for_server([TierSpec(DISK, disk)])
    owner = store.open_owner("killed-kernel")
    owner.write(b"x" * 1000, "bin")
    owner.close()
    store.close()


def test_vfs_ext_lines_use_the_servers_format_and_level(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    _leave_a_dead_server(disk)
    refused = tmp_path / "refused"
    refused.mkdir(mode=0o777)
    os.chmod(refused, 0o777)  # writable by others and not sticky: the memory tier is refused
    args = [f"--VirtualFiles.memory_dir={refused}", f"--VirtualFiles.disk_dir={disk}"]
    with jupyter_server(tmp_path, extra_args=args, disk_dir=disk) as running:
        log = running.log_text()
    assert re.search(
        LINE.format(level="I", message=r"swept 1 files \(1000 (bytes|B)\)"), log, re.M
    ), log
    assert re.search(LINE.format(level="W", message="memory tier disabled"), log, re.M), log
    assert not re.search(r"^vfs_ext:", log, re.M), "a bare line without time or level"


def test_the_servers_log_level_holds_for_vfs_ext(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    _leave_a_dead_server(disk)
    args = ["--ServerApp.log_level=WARN", "--VirtualFiles.memory_dir="]
    with jupyter_server(tmp_path, extra_args=args, disk_dir=disk) as running:
        running.api("GET", "api/vfs")  # started: the sweep at start-up is behind us
        log = running.log_text()
    assert "vfs_ext: swept" not in log, log
