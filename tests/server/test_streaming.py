"""Large files stream in bounded memory, survive release mid-download, and leak no descriptors."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.support.processes import open_fds, status_bytes
from tests.support.server import RunningServer, jupyter_server, server_store
from vfs_ext.owner import Owner

MiB = 1024 * 1024
WAIT_S = 15.0


def fd_targets(pid: int) -> set[str]:
    """What the server's descriptors point to (for a failure message)."""
    targets = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return targets


def wait_for_fds(pid: int, at_most: int) -> int:
    """The server closes a dropped connection's file once it notices; no event tells us when."""
    deadline = time.monotonic() + WAIT_S
    while (count := open_fds(pid)) > at_most and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


def test_file_released_mid_stream_finishes(server: RunningServer, owner: Owner) -> None:
    data = os.urandom(48 * MiB)
    name = owner.write(data, ext="bin").name
    conn, resp = server.connect("GET", f"@file/{name}")
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
    before = fd_targets(pid)

    results: dict[str, bytes] = {}

    def download() -> None:
        c, r = server.connect("GET", f"@file/{name}")
        try:
            results["whole"] = r.read()
        finally:
            c.close()

    quitter, resp = server.connect("GET", f"@file/{name}")
    assert resp.status == 200
    worker = threading.Thread(target=download)
    worker.start()
    assert len(resp.read(2 * MiB)) == 2 * MiB
    quitter.sock.close()  # the client goes away mid-file
    quitter.close()
    worker.join(60)
    assert not worker.is_alive()
    assert hashlib.sha256(results["whole"]).digest() == hashlib.sha256(data).digest()
    assert wait_for_fds(pid, baseline) <= baseline, fd_targets(pid) - before
    status, _, body = server.request("GET", f"@file/{name}", headers={"Range": "bytes=-4"})
    assert (status, body) == (206, data[-4:])  # the server is fine afterwards


def test_memory_stays_bounded_with_slow_clients(server: RunningServer, owner: Owner) -> None:
    """Three clients stalled mid-way through 256 MiB each: the server holds a few chunks each,
    not the files (a handler that read whole files would grow by 768 MiB)."""
    name = owner.write(_zeros(256 * MiB), ext="bin").name
    pid = server.proc.pid
    before = status_bytes(pid, "VmRSS")
    conns = []
    try:
        for _ in range(3):
            conn, resp = server.connect("GET", f"@file/{name}")
            assert resp.status == 200
            assert len(resp.read(8 * MiB)) == 8 * MiB
            conns.append(conn)
        growth = status_bytes(pid, "VmRSS") - before
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


@pytest.mark.parametrize(
    "start,end",
    [(1, None), (4095, 3 * MiB + 5), (MiB - 1, MiB + 1), (2 * MiB + 12345, None), (0, 2 * MiB)],
)
def test_ranges_of_a_large_file_at_any_offset(
    server: RunningServer, owner: Owner, start: int, end: int | None
) -> None:
    """Large responses are sent from mapped chunks; any start offset, page-aligned or not,
    gives exactly the requested bytes."""
    data = os.urandom(4 * MiB + 321)
    name = owner.write(data, ext="bin").name
    last = len(data) - 1 if end is None else end
    spec = f"bytes={start}-" if end is None else f"bytes={start}-{end}"
    status, headers, body = server.request("GET", f"@file/{name}", headers={"Range": spec})
    assert status == 206
    assert headers["content-range"] == f"bytes {start}-{last}/{len(data)}"
    assert body == data[start : last + 1]


def test_client_disconnects_are_not_logged_as_errors(server: RunningServer, owner: Owner) -> None:
    name = owner.write(_zeros(32 * MiB), ext="bin").name
    log_before = len(server.log_text())
    for _ in range(3):
        conn, resp = server.connect("GET", f"@file/{name}")
        assert resp.status == 200
        assert len(resp.read(MiB)) == MiB
        conn.sock.close()
        conn.close()
    status, _, body = server.request("GET", f"@file/{name}", headers={"Range": "bytes=-3"})
    assert (status, body) == (206, b"\0\0\0")  # served after the disconnects
    new_log = server.log_text()[log_before:]
    assert "Traceback" not in new_log
    assert "StreamClosedError" not in new_log


def test_compressed_responses_still_carry_the_file(tmp_path: Path) -> None:
    """With tornado's compress_response on, the bytes go through the gzip transform whole."""
    data = b"".join(b"line %d of a large text output\n" % i for i in range(100_000))
    with jupyter_server(
        tmp_path, extra_args=["--ServerApp.tornado_settings=compress_response=True"]
    ) as running:
        store = server_store(running)
        writer = store.open_owner(f"test-{uuid.uuid4()}")
        try:
            name = writer.write(data, ext="txt").name
            status, headers, body = running.request(
                "GET", f"@file/{name}", headers={"Accept-Encoding": "gzip"}
            )
        finally:
            writer.release_all()
            writer.close(remove=True)
            store.close()
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == data


def test_a_chunk_size_that_is_not_a_page_multiple(tmp_path: Path) -> None:
    """Mapped chunks start on page boundaries whatever chunk_size an admin configures."""
    data = os.urandom(3 * MiB + 777)
    with jupyter_server(tmp_path, extra_args=["--VirtualFiles.chunk_size=5000"]) as running:
        store = server_store(running)
        writer = store.open_owner(f"test-{uuid.uuid4()}")
        try:
            name = writer.write(data, ext="bin").name
            empty = writer.write(b"", ext="bin").name
            whole = running.request("GET", f"@file/{name}")
            part = running.request("GET", f"@file/{name}", headers={"Range": "bytes=6001-"})
            nothing = running.request("GET", f"@file/{empty}")
        finally:
            writer.release_all()
            writer.close(remove=True)
            store.close()
    assert (whole[0], whole[2]) == (200, data)
    assert (part[0], part[2]) == (206, data[6001:])
    assert (nothing[0], nothing[1]["content-length"], nothing[2]) == (200, "0", b"")
