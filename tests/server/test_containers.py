"""The container recipe, for real: a server whose /dev/shm is Docker's (and Kubernetes') default
64 MiB, a private tmpfs in a mount namespace of its own. Small outputs stay in memory, large
ones go to disk, and the start-up log and api/vfs say why and how to fix it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.support.execute import printed, run_code
from tests.support.mounts import NEEDS_PRIVATE_MOUNTS, in_private_tmpfs
from tests.support.server import jupyter_server

pytestmark = NEEDS_PRIVATE_MOUNTS

MIB = 1024 * 1024

#: Outputs as the kernel stores them: three of 1 MiB, then one of 50 MiB.
OUTPUTS = """
import json
from kernel_side.extension import current_session
s = current_session()
small = [s.write(bytes(1024 * 1024), "png") for _ in range(3)]
large = s.write(bytes(50 * 1024 * 1024), "png")
print(json.dumps([[f.tier for f in small], large.tier, large.name]))
"""


def test_a_64_mib_dev_shm_keeps_small_outputs_in_memory_and_says_why(tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    prefix = in_private_tmpfs(shm, options="size=64m")
    with jupyter_server(tmp_path, prefix=prefix, memory_dir=shm / "vfs_ext-test") as running:
        notebook = {"path": "c.ipynb", "name": "c.ipynb", "type": "notebook"}
        session = running.api("POST", "api/sessions", {**notebook, "kernel": {"name": "python3"}})
        connection = running.runtime_dir / f"kernel-{session['kernel']['id']}.json"
        small, large, name = json.loads(printed(run_code(connection, OUTPUTS)))
        status, headers, _ = running.request("HEAD", f"@file/{name}")
        report = running.api("GET", "api/vfs")
        log = running.log_text()

    assert small == ["memory"] * 3
    assert large == "disk"
    assert (status, int(headers["content-length"])) == (200, 50 * MIB)

    memory = next(t for t in report["tiers"] if t["name"] == "memory")
    assert memory["budget"] == 16 * MIB  # a quarter of the 64 MiB tmpfs
    (warning,) = report["warnings"]
    for says in ("/dev/shm holds only 64.0 MiB", "--shm-size", "shm_size", "medium: Memory"):
        assert says in warning, says
    (fallback,) = [e for e in report["recent_events"] if e["kind"] == "fallback"]
    assert fallback["to"] == "disk" and "budget 16.0 MiB" in fallback["reasons"][0]
    line = r"^\[W [-\d: .]+ \w+\] vfs_ext: the memory tier's filesystem /dev/shm holds only"
    assert re.search(line + r" 64\.0 MiB.*--shm-size=2g", log, re.M), log
