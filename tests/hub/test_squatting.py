"""Another local user pre-creates ``/dev/shm/vfs_ext-<uid>`` for a user: that user's server
refuses it and moves the memory tier to a base nobody else can pre-create, and says so in
``api/vfs``, ``%vfs stats`` and once in each kernel (real users, root only)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.execute import printed, run_code
from tests.support.hub import missing_requirement
from tests.support.mounts import can_unshare, in_private_tmpfs
from tests.support.server import jupyter_server
from tests.support.unix_users import UnixUser, as_user, interpreter_prefix

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(missing_requirement() is not None, reason=str(missing_requirement())),
]

SHOW = """
%load_ext vfs_ext
%vfs stats
import vfs_ext
print("tier:", vfs_ext.vfile(b"x" * 1000, ext="bin").tier)
"""


def squat(squatter: UnixUser, path: Path) -> None:
    """Create ``path`` as ``squatter``, the way any local user could."""
    subprocess.run(["mkdir", "-m", "0755", str(path)], user=squatter.name, check=True, timeout=30)
    assert path.stat().st_uid == squatter.uid


@pytest.mark.parametrize("runtime_tmpfs", [False, True], ids=["random-suffix", "xdg-runtime-dir"])
def test_a_squatted_memory_tier_moves_to_a_private_base(
    users: list[UnixUser], runtime_tmpfs: bool
) -> None:
    alice, mallory = users
    default = Path(f"/dev/shm/vfs_ext-{alice.uid}")
    squat(mallory, default)
    work = alice.home / f"srv-{runtime_tmpfs:d}"
    work.mkdir()
    xdg = alice.home / f"xdg-{runtime_tmpfs:d}"
    xdg.mkdir()
    prefix = interpreter_prefix(work / ".interpreter")
    if runtime_tmpfs:
        if not can_unshare():
            pytest.skip("unshare -m (a private mount namespace) is not available here")
        gid = alice.home.stat().st_gid
        prefix += in_private_tmpfs(xdg, options=f"size=64m,mode=0700,uid={alice.uid},gid={gid}")
    prefix += as_user(alice, alice.home)
    env = {"HOME": str(alice.home), "XDG_RUNTIME_DIR": str(xdg) if runtime_tmpfs else ""}
    try:
        with jupyter_server(work, memory_dir=default, env=env, prefix=prefix) as running:
            report = running.api("GET", "api/vfs")
            (memory,) = [t for t in report["tiers"] if t["name"] == "memory"]
            base = Path(memory["path"]).parent
            if runtime_tmpfs:
                assert base == xdg / "vfs_ext"
            else:
                assert base.parent == Path("/dev/shm") and base.name.startswith(default.name + "-")
            note = report["refused"]["memory"]
            assert note.startswith(f"moved: {default} refused") and str(base) in note, note
            assert f"owned by uid {mallory.uid}" in note
            assert f"memory tier moved: {default}" in running.log_text()

            kernel = running.api("POST", "api/kernels", {"name": "python3"})
            messages = run_code(running.runtime_dir / f"kernel-{kernel['id']}.json", SHOW)
            stderr = [
                m["content"]["text"]
                for m in messages
                if m.get("content", {}).get("name") == "stderr"
            ]
            assert sum(f"the memory tier moved: {default}" in text for text in stderr) == 1, stderr
            out = printed(messages)
            assert f"memory tier moved: {default} refused" in out, out
            assert "tier: memory" in out, out
            assert list(default.iterdir()) == []  # the squatter's folder is left as it was
        assert not base.exists() or list(base.iterdir()) == []
        assert not [p for p in Path("/dev/shm").glob(f"{default.name}-*")]
    finally:
        shutil.rmtree(default, ignore_errors=True)  # the private tmpfs went with its namespace
