"""Re-running a cell reuses its previous output's memory, with a real server serving the files:
never while a download of the old output is still in progress, and nothing left over after."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

from tests.support.kernels import Kernel, new_cell_id
from tests.support.processes import wait_until
from tests.support.server import RunningServer
from vfs_ext.layout import SPARES_DIR

MiB = 1024 * 1024

SETUP = """
%load_ext vfs_ext
import os, hashlib
class RawPng:
    def __init__(self, size):
        global _last
        self.data = _last = b"\\x89PNG\\r\\n\\x1a\\n" + os.urandom(size - 8)
    def _repr_png_(self): return self.data
"""


def show(size: int) -> str:
    return f"%%vfs --threshold 1KB\ndisplay(RawPng({size}))"


def stored(server: RunningServer, url: str) -> Path:
    (path,) = server.memory_dir.glob(f"*/*/*/{url.rsplit('/', 1)[1]}")
    return path


def spares(server: RunningServer) -> list[Path]:
    return list(server.memory_dir.glob(f"*/*/{SPARES_DIR}/*"))


def test_a_rerun_overwrites_its_previous_outputs_memory(kernel: Kernel, server: RunningServer):
    kernel.execute(SETUP)
    cell = new_cell_id()
    first = kernel.execute(show(4 * MiB), cell).url()
    first_inode = stored(server, first).stat().st_ino
    second = kernel.execute(show(4 * MiB), cell).url()
    assert server.fetch(first)[0] == 404
    status, _, body = server.fetch(second)
    assert status == 200
    assert hashlib.sha256(body).hexdigest() == kernel.value("hashlib.sha256(_last).hexdigest()")
    assert stored(server, second).stat().st_ino == first_inode
    assert spares(server) == []


def test_a_download_in_progress_keeps_its_bytes_when_its_cell_reruns(
    kernel: Kernel, server: RunningServer
):
    kernel.execute(SETUP)
    cell, size = new_cell_id(), 32 * MiB
    first = kernel.execute(show(size), cell).url()
    first_sha = kernel.value("hashlib.sha256(_last).hexdigest()")
    first_inode = stored(server, first).stat().st_ino
    with socket.socket() as sock:
        # A small receive window: the server cannot hand all 32 MiB to the socket, so it keeps
        # the file open (and a chunk mapped) until we read on, like a slow browser.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.settimeout(60)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(
            f"GET {first} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            f"Authorization: token {server.token}\r\n\r\n".encode()
        )
        received = sock.recv(256 * 1024)
        assert received.startswith(b"HTTP/1.1 200")

        second = kernel.execute(show(size), cell).url()
        assert stored(server, second).stat().st_ino != first_inode, "a file being read is kept"
        assert server.fetch(first)[0] == 404, "its URL is released all the same"

        while chunk := sock.recv(4 * MiB):
            received += chunk
    body = received.partition(b"\r\n\r\n")[2]
    assert len(body) == size
    assert hashlib.sha256(body).hexdigest() == first_sha


def test_spares_a_rerun_does_not_use_are_freed(kernel: Kernel, server: RunningServer):
    kernel.execute(SETUP)
    cell = new_cell_id()
    kernel.execute(show(3 * MiB), cell)
    small = kernel.execute(show(20_000), cell).url()
    assert server.fetch(small)[0] == 200
    wait_until(lambda: spares(server) == [], "the unused spare to be freed")
