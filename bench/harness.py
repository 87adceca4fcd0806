"""One real ``jupyter server`` on loopback, one kernel, and the files every figure shares.

The server comes from ``tests/support/server.py`` (private tier, runtime and config dirs). What
the other halves of the project provide is probed, not assumed, so the bench runs (and says
``n/a``) while server_side or kernel_side is still missing.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.server import RunningServer, jupyter_server

from .kernel import KernelSession

BLOCK = 16 * 2**20

# Kernel-side helpers, defined once per kernel: a real PNG of about n bytes (stored deflate of
# random pixels, so it does not compress) and a virtual file written through the core alone.
KERNEL_SETUP = r'''
import hashlib as _hl, json as _json, os as _os, struct as _st, zlib as _zl
from IPython.display import Image, display

def _bench_png(n):
    w = max(1, min(1024, (n - 128) // 6))
    row = 3 * w + 1
    h = max(1, (n - 128) // row)
    raw = bytearray(_os.urandom(h * row))
    raw[::row] = bytes(h)
    def chunk(t, d):
        return _st.pack(">I", len(d)) + t + d + _st.pack(">I", _zl.crc32(t + d))
    ihdr = _st.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", _zl.compress(bytes(raw), 0)) + chunk(b"IEND", b""))

_bench_owner = None

def _bench_vfile(path):
    """Write a virtual file with the core only (no kernel_side needed)."""
    global _bench_owner
    from vfs_ext.store import Store
    if _bench_owner is None:
        store = Store.from_env()
        if store is None:
            raise RuntimeError("the server exported no vfs_ext environment")
        _bench_owner = store.open_owner("bench-" + _os.urandom(8).hex())
    info = _bench_owner.write(path, ext="bin")
    print(_json.dumps({"name": info.name, "path": str(info.path), "tier": info.tier}))
'''


@dataclass
class Bench:
    """The running pieces and what is available."""

    server: RunningServer
    kernel: KernelSession
    work: Path
    has_env: bool = False  # server_side exported the store to its kernels
    has_kernel_side: bool = False  # %load_ext vfs_ext works
    files: dict[int, Path] = field(default_factory=dict)  # size -> file under root_dir
    vfiles: dict[int, dict[str, Any]] = field(default_factory=dict)  # size -> name/path/tier

    def url(self, path: str) -> str:
        return self.server.url + path.lstrip("/")

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"token {self.server.token}"}

    def disk_file(self, size: int) -> Path:
        """A file of random bytes under the server's root_dir (what ``/files/`` serves)."""
        if size not in self.files:
            path = self.server.root_dir / f"bench-{size}.bin"
            block = os.urandom(min(size, BLOCK))
            with open(path, "wb") as f:
                left = size
                while left:
                    f.write(block[: min(left, len(block))])
                    left -= min(left, len(block))
            self.files[size] = path
        return self.files[size]

    async def virtual_file(self, size: int) -> dict[str, Any] | None:
        """The same bytes as ``disk_file(size)`` as a virtual file; None without server_side."""
        if not self.has_env:
            return None
        if size not in self.vfiles:
            path = self.disk_file(size)
            run = await self.kernel.execute(f"_bench_vfile({str(path)!r})")
            self.vfiles[size] = json.loads(run.stdout.strip().splitlines()[-1])
        return self.vfiles[size]


async def _probe(bench: Bench, kernel_setup: list[Path]) -> None:
    await bench.kernel.execute(KERNEL_SETUP)
    run = await bench.kernel.execute("print(_os.environ.get('VFS_EXT_TIERS') is not None)")
    bench.has_env = run.stdout.strip() == "True"
    run = await bench.kernel.execute(
        "try:\n    get_ipython().run_line_magic('load_ext', 'vfs_ext')\n    print('ok')\n"
        "except Exception as e:\n    print('no:', type(e).__name__, e)"
    )
    bench.has_kernel_side = run.stdout.strip() == "ok"
    for path in kernel_setup:
        await bench.kernel.execute(path.read_text())


@asynccontextmanager
async def running(
    extra_args: list[str] | None = None,
    server_config: list[Path] | None = None,
    kernel_setup: list[Path] | None = None,
) -> AsyncIterator[Bench]:
    """Start the server (optionally with a jupyter_server_config.py) and a kernel; remove
    everything afterwards."""
    work = Path(tempfile.mkdtemp(prefix="vfs_ext-bench-"))
    args = ["--allow-root"] if os.geteuid() == 0 else []
    env = {}
    if server_config:
        config_dir = work / "config"
        config_dir.mkdir()
        code = "\n\n".join(p.read_text() for p in server_config)
        (config_dir / "jupyter_server_config.py").write_text(code)
        env["JUPYTER_CONFIG_DIR"] = str(config_dir)
    try:
        with jupyter_server(work, extra_args=args + (extra_args or []), env=env) as server:
            kernel = await KernelSession.start(server)
            bench = Bench(server, kernel, work)
            try:
                await _probe(bench, kernel_setup or [])
                yield bench
            finally:
                await kernel.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)
