"""Who owns a kernel's files and when they go, with real kernels behind a real server:
re-run, restart, shutdown, SIGKILL, and budgets (memory full -> disk, nothing fits -> error)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.kernels import Kernel, new_cell_id, running_kernel, shutdown_kernel, start_kernel
from tests.support.processes import kernel_pid, wait_until
from tests.support.server import RunningServer, jupyter_server
from vfs_ext.names import owner_key

MiB = 1024 * 1024

SETUP = """
%load_ext vfs_ext
import os, hashlib
from IPython.display import display
import vfs_ext
class RawPng:
    def __init__(self, size): self.data = b"\\x89PNG\\r\\n\\x1a\\n" + os.urandom(size - 8)
    def _repr_png_(self): return self.data
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    args = [
        "--VirtualFiles.sweep_interval=0.3",
        "--VirtualFiles.memory_budget=1MiB",
        "--VirtualFiles.disk_budget=6MiB",
        # A kernel killed for good (no automatic restart) leaves the server's kernel list, so
        # the next sweep may take its files.
        "--KernelRestarter.restart_limit=0",
        "--KernelRestarter.time_to_dead=0.5",
    ]
    with jupyter_server(tmp_path_factory.mktemp("life"), extra_args=args) as running:
        yield running


@pytest.fixture
def k(server: RunningServer) -> Iterator[Kernel]:
    with running_kernel(server, SETUP) as kernel:
        yield kernel


def owner_dirs(server: RunningServer, kernel_id: str) -> list[Path]:
    key = owner_key(kernel_id)
    return [p for base in (server.memory_dir, server.disk_dir) for p in base.glob(f"*/{key}")]


def status(server: RunningServer, url: str) -> int:
    return server.fetch(url)[0]


def test_rerun_releases_the_previous_run_only(k: Kernel, server: RunningServer) -> None:
    cell, other = new_cell_id(), new_cell_id()
    code = "%%vfs --threshold 1KB\ndisplay(RawPng(20_000))"
    first = k.execute(code, cell).url()
    kept = k.execute(code, other).url()
    api_file = k.value("vfs_ext.vfile(b'x' * 10).url")  # outside any cell id: the session's
    assert status(server, first) == 200
    second = k.execute(code, cell).url()
    assert status(server, first) == 404
    assert status(server, second) == 200
    assert status(server, kept) == 200
    assert status(server, api_file) == 200


def test_restart_keeps_outputs_until_their_cell_reruns(k: Kernel, server: RunningServer) -> None:
    cell = new_cell_id()
    code = "%%vfs --threshold 1KB\ndisplay(RawPng(20_000))"
    before = k.execute(code, cell).url()
    old_pid = kernel_pid(k.id)
    server.api("POST", f"api/kernels/{k.id}/restart")
    k.reconnect()
    assert kernel_pid(k.id) != old_pid
    assert status(server, before) == 200
    k.execute(SETUP)
    after = k.execute(code, cell).url()
    assert status(server, before) == 404
    assert status(server, after) == 200


def test_shutdown_removes_the_kernels_files(server: RunningServer) -> None:
    kernel = start_kernel(server)
    kernel.execute(SETUP)
    small = kernel.execute("%%vfs --threshold 1KB\ndisplay(RawPng(20_000))", "c").url()
    on_disk = kernel.value("(f := vfs_ext.vfile(os.urandom(2 * 1024 * 1024))).tier, f.url")
    assert on_disk[0] == "disk"
    assert len(owner_dirs(server, kernel.id)) == 2
    shutdown_kernel(server, kernel)
    wait_until(lambda: status(server, small) == 404, "the memory file to go")
    assert status(server, on_disk[1]) == 404
    wait_until(lambda: not owner_dirs(server, kernel.id), "the owner directories to go")
    # No other kernel runs now (the others were shut down by their fixtures): nothing is left.
    wait_until(lambda: not any_files(server), "the tiers to be empty")


def any_files(server: RunningServer) -> list[Path]:
    return [p for base in (server.memory_dir, server.disk_dir) for p in base.glob("*/*/*/*")]


def test_sigkilled_kernel_is_swept(server: RunningServer) -> None:
    kernel = start_kernel(server)
    kernel.execute(SETUP)
    url = kernel.execute("%%vfs --threshold 1KB\ndisplay(RawPng(20_000))", "c").url()
    os.kill(kernel_pid(kernel.id), signal.SIGKILL)
    kernel.close()
    wait_until(lambda: status(server, url) == 404, "the sweep to remove the killed kernel's files")
    wait_until(lambda: not owner_dirs(server, kernel.id), "the owner directories to go")


def test_full_memory_tier_falls_back_to_disk(k: Kernel, server: RunningServer) -> None:
    tier, url, size = k.value("(f := vfs_ext.vfile(b'm' * (2 * 1024 * 1024))).tier, f.url, f.size")
    assert tier == "disk" and size == 2 * MiB
    status_, _, body = server.fetch(url)
    assert status_ == 200 and body == b"m" * (2 * MiB)
    assert k.value("vfs_ext.vfile(b'small').tier") == "memory"
    assert "1 fallback(s)" in k.execute("%vfs stats").stream()


def test_outputs_that_fit_nowhere(k: Kernel, server: RunningServer) -> None:
    out = k.execute(
        "%%vfs --threshold 1KB\nprint('before')\ndisplay(RawPng(8 * 1024 * 1024))\nprint('after')",
        new_cell_id(),
    )
    (msg,) = out.outputs()
    assert "image/png" in msg["content"]["data"]  # small enough to stay inline
    assert out.stream() == "before\nafter\n"
    out = k.execute(
        "%%vfs --threshold 1KB\nprint('before')\ndisplay(RawPng(20 * 1024 * 1024))\nprint('after')",
        new_cell_id(),
    )
    (msg,) = out.outputs()
    text = msg["content"]["data"]["text/plain"]
    assert "could not be stored" in text and "VirtualFiles.disk_budget" in text
    assert "image/png" not in msg["content"]["data"]
    assert out.stream() == "before\nafter\n"
    out = k.execute(
        "try:\n    vfs_ext.vfile(os.urandom(7 * 1024 * 1024))\n"
        "except vfs_ext.VirtualFileError as exc:\n    print(exc)"
    )
    assert "fits in no tier" in out.stream()
    assert k.value("1 + 1") == 2


def test_an_image_that_fits_nowhere_is_formatted_as_base64(k: Kernel) -> None:
    """What stays inline reaches tools that call the formatter (ipywidgets' Output) as
    IPython's base64 text, not the raw bytes read to skip encoding it."""
    out = k.execute(
        "%%vfs --threshold 1KB\nimport base64\nfrom IPython.display import Image\n"
        "big = b'\\x89PNG\\r\\n\\x1a\\n' + os.urandom(8 * 1024 * 1024)\n"
        "d = get_ipython().display_formatter.format(Image(big, format='png'))[0]['image/png']\n"
        "print(type(d).__name__, isinstance(d, str) and base64.b64decode(d) == big)",
        new_cell_id(),
    )
    assert out.stream() == "str True\n"


def test_auto_mode_evicts_the_oldest_other_cell(k: Kernel, server: RunningServer) -> None:
    k.execute("%vfs auto on --threshold 1KB")
    try:
        old = k.execute("display(RawPng(4 * 1024 * 1024))", new_cell_id()).url()
        new = k.execute("display(RawPng(4 * 1024 * 1024))", new_cell_id()).url()
    finally:
        k.execute("%vfs auto off")
    assert status(server, old) == 404
    assert status(server, new) == 200
    assert "1 eviction(s)" in k.execute("%vfs stats").stream()


def test_files_belong_to_the_cell_even_after_nested_and_empty_runs(
    k: Kernel, server: RunningServer
) -> None:
    cell = new_cell_id()
    code = (
        "get_ipython().run_cell('')\n"  # an empty nested run: post_run_cell without pre
        "get_ipython().run_cell('x = 1')\n"
        "print(vfs_ext.vfile(b'x').url)"
    )
    first = k.execute(code, cell).stream().strip()
    second = k.execute(code, cell).stream().strip()
    assert status(server, first) == 404
    assert status(server, second) == 200
