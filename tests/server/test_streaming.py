"""Large files stream in bounded memory, survive release mid-download, and leak no descriptors."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time

from tests.support.server import RunningServer
from vfs_ext.owner import Owner

from .conftest import connect, open_fds

MiB = 1024 * 1024
WAIT_S = 15.0


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def wait_for_fds(pid: int, at_most: int) -> int:
    """The server closes a dropped connection's file once it notices; no event tells us when."""
    deadline = time.monotonic() + WAIT_S
    while (count := open_fds(pid)) > at_most and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


def test_file_released_mid_stream_finishes(server: RunningServer, owner: Owner) -> None:
    data = os.urandom(48 * MiB)
    name = owner.write(data, ext="bin").name
    conn, resp = connect(server, "GET", f"@file/{name}")
    try:
        assert resp.status == 200
        head = resp.read(MiB)
        assert owner.release(name)
        status, _, _ = server.request("HEAD", f"@file/{name}")
        assert status == 404  # new requests no longer find it...
        rest = resp.read()  # ...but the one in flight gets every byte
    finally:
        conn.close()
    assert hashlib.sha256(head + rest).digest() == hashlib.sha256(data).digest()


def test_concurrent_downloads_with_a_disconnect_leak_no_fds(
    server: RunningServer, owner: Owner
) -> None:
    data = os.urandom(64 * MiB)
    name = owner.write(data, ext="bin").name
    pid = server.proc.pid
    status, _, _ = server.request("GET", f"@file/{name}", headers={"Range": "bytes=0-0"})
    assert status == 206
    baseline = wait_for_fds(pid, open_fds(pid))

    results: dict[str, bytes] = {}

    def download() -> None:
        c, r = connect(server, "GET", f"@file/{name}")
        try:
            results["whole"] = r.read()
        finally:
            c.close()

    quitter, resp = connect(server, "GET", f"@file/{name}")
    assert resp.status == 200
    worker = threading.Thread(target=download)
    worker.start()
    assert len(resp.read(2 * MiB)) == 2 * MiB
    quitter.sock.close()  # the client goes away mid-file
    quitter.close()
    worker.join(60)
    assert not worker.is_alive()
    assert hashlib.sha256(results["whole"]).digest() == hashlib.sha256(data).digest()
    assert wait_for_fds(pid, baseline) <= baseline
    status, _, body = server.request("GET", f"@file/{name}", headers={"Range": "bytes=-4"})
    assert (status, body) == (206, data[-4:])  # the server is fine afterwards


def test_memory_stays_bounded_with_slow_clients(server: RunningServer, owner: Owner) -> None:
    """Three clients stalled mid-way through 256 MiB each: the server holds a few chunks each,
    not the files (a handler that read whole files would grow by 768 MiB)."""
    name = owner.write(_zeros(256 * MiB), ext="bin").name
    pid = server.proc.pid
    before = rss(pid)
    conns = []
    try:
        for _ in range(3):
            conn, resp = connect(server, "GET", f"@file/{name}")
            assert resp.status == 200
            assert len(resp.read(8 * MiB)) == 8 * MiB
            conns.append(conn)
        growth = rss(pid) - before
    finally:
        for conn in conns:
            conn.close()
    assert growth < 64 * MiB, f"server grew by {growth / MiB:.0f} MiB serving 3 stalled clients"


def _zeros(size: int) -> io.BufferedReader:
    """A binary file object of ``size`` zero bytes, so the test process does not hold it."""

    class Zeros(io.RawIOBase):
        def __init__(self) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def readinto(self, b: memoryview) -> int:  # type: ignore[override]
            n = min(len(b), self.left)
            b[:n] = bytes(n)
            self.left -= n
            return n

    return io.BufferedReader(Zeros(), buffer_size=MiB)
