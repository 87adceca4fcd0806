"""What a browser gets from ``{base_url}@file/<name>``: headers, ranges, caching, errors."""

from __future__ import annotations

import hashlib
import os
import re

import pytest

from tests.support.server import RunningServer
from vfs_ext.owner import Owner
from vfs_ext.store import Store

DATA = bytes(range(256)) * 400  # 102400 bytes, every offset distinguishable
SIZE = len(DATA)


@pytest.fixture
def name(owner: Owner) -> str:
    return owner.write(DATA, ext="bin").name


def test_full_get_headers(server: RunningServer, name: str) -> None:
    status, headers, body = server.get_file(name)
    assert status == 200
    assert body == DATA
    assert headers["content-length"] == str(SIZE)
    assert headers["content-type"] == "application/octet-stream"
    assert headers["accept-ranges"] == "bytes"
    assert headers["cache-control"] == "private, max-age=31536000, immutable"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["etag"] == f'"{name}"'  # strong: no W/ prefix
    assert "last-modified" in headers
    assert "content-disposition" not in headers


@pytest.mark.parametrize(
    ("ext", "mime", "sandboxed"),
    [
        ("png", "image/png", False),
        ("webp", "image/webp", False),
        ("webm", "video/webm", False),
        ("mp4", "video/mp4", False),
        ("pdf", "application/pdf", False),
        ("parquet", "application/vnd.apache.parquet", False),
        ("wasm", "application/wasm", False),
        ("csv", "text/csv; charset=utf-8", False),
        ("zzzunknown", "application/octet-stream", False),
        ("html", "text/html; charset=utf-8", True),
        ("svg", "image/svg+xml", True),
        ("js", "text/javascript; charset=utf-8", True),
        ("xml", None, True),
        ("xhtml", "application/xhtml+xml", True),
        ("rdf", "application/rdf+xml", True),  # Firefox renders these as XML documents
        ("mml", "application/mathml+xml", True),
        ("atom", "application/atom+xml", True),
        ("xsl", None, True),
    ],
)
def test_content_type_and_sandbox(
    server: RunningServer, owner: Owner, ext: str, mime: str | None, sandboxed: bool
) -> None:
    """Anything not known to be passive runs sandboxed; a PDF must not be, or Chromium will not
    show it."""
    name = owner.write(b"<svg xmlns='http://www.w3.org/2000/svg'/>", ext=ext).name
    status, headers, _ = server.get_file(name)
    assert status == 200
    if mime is not None:
        assert headers["content-type"] == mime
    csp = headers["content-security-policy"]
    assert ("sandbox allow-scripts" in csp) is sandboxed
    assert "frame-ancestors 'self'" in csp


def test_head_matches_get_without_body(server: RunningServer, name: str) -> None:
    status, headers, body = server.request("HEAD", f"@file/{name}")
    assert status == 200
    assert body == b""
    assert headers["content-length"] == str(SIZE)
    assert headers["etag"] == f'"{name}"'
    assert headers["cache-control"] == "private, max-age=31536000, immutable"


def test_if_none_match_gives_304(server: RunningServer, name: str) -> None:
    status, headers, body = server.get_file(name, {"If-None-Match": f'"{name}"'})
    assert status == 304
    assert headers["etag"] == f'"{name}"'
    assert body == b""
    status, _, body = server.get_file(name, {"If-None-Match": '"some-other-name"'})
    assert status == 200
    assert body == DATA


@pytest.mark.parametrize(
    ("spec", "start", "end"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=100-199", 100, 200),
        ("bytes=1000-", 1000, SIZE),  # open-ended
        ("bytes=-500", SIZE - 500, SIZE),  # suffix
        ("bytes=-999999999", 0, SIZE),  # suffix longer than the file: the whole file
        (f"bytes={SIZE - 1}-", SIZE - 1, SIZE),  # last byte
        (f"bytes=5-{SIZE * 10}", 5, SIZE),  # end past the file is capped
    ],
)
def test_single_range(server: RunningServer, name: str, spec: str, start: int, end: int) -> None:
    status, headers, body = server.get_file(name, {"Range": spec})
    if (start, end) == (0, SIZE):
        assert status == 200  # the whole file is a plain 200
    else:
        assert status == 206
        assert headers["content-range"] == f"bytes {start}-{end - 1}/{SIZE}"
    assert body == DATA[start:end]
    assert headers["content-length"] == str(end - start)
    assert headers["etag"] == f'"{name}"'


def test_range_from_zero_is_a_200(server: RunningServer, name: str) -> None:
    """Chrome refuses audio that answers ``bytes=0-`` with 206; tornado answers 200."""
    status, headers, body = server.get_file(name, {"Range": "bytes=0-"})
    assert status == 200
    assert "content-range" not in headers
    assert body == DATA


@pytest.mark.parametrize("spec", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"])
def test_unsatisfiable_range_is_416(server: RunningServer, name: str, spec: str) -> None:
    status, headers, body = server.get_file(name, {"Range": spec})
    assert status == 416
    assert headers["content-range"] == f"bytes */{SIZE}"
    assert DATA[:16] not in body


@pytest.mark.parametrize("spec", ["bytes=0-9,20-29", "bytes=0-9, -5", "items=0-9", "bytes=x-y"])
def test_multi_and_malformed_ranges_give_the_whole_file(
    server: RunningServer, name: str, spec: str
) -> None:
    """RFC 9110 lets a server ignore a Range it does not support; the answer is then exact."""
    status, headers, body = server.get_file(name, {"Range": spec})
    assert status == 200
    assert body == DATA
    assert headers["content-length"] == str(SIZE)


def test_download_sets_rfc6266_content_disposition(server: RunningServer, name: str) -> None:
    status, headers, body = server.get_file(
        name, query="?download=1&filename=r%C3%A9sum%C3%A9%20x.csv"
    )
    assert status == 200
    assert body == DATA
    disposition = headers["content-disposition"]
    assert disposition.startswith("attachment; ")
    assert 'filename="r_sum_ x.csv"' in disposition
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%20x.csv" in disposition


@pytest.mark.parametrize(
    "hostile", ["..%2F..%2Fetc%2Fpasswd", "a%22%3B%20evil%3D1", "%0D%0ASet-Cookie%3A%20x", ""]
)
def test_download_filename_is_sanitized(server: RunningServer, name: str, hostile: str) -> None:
    status, headers, _ = server.get_file(name, query=f"?download=1&filename={hostile}")
    assert status == 200
    disposition = headers["content-disposition"]
    ascii_name = re.search(r'filename="([^"]*)"', disposition)
    assert ascii_name is not None
    assert "/" not in ascii_name.group(1)
    assert "\r" not in disposition
    assert "\n" not in disposition
    assert "set-cookie" not in {k for k in headers if k != "set-cookie"}
    if not hostile:
        assert ascii_name.group(1) == name  # no filename: the virtual file's own name


def test_missing_file_is_404_with_one_line(server: RunningServer, owner: Owner) -> None:
    name = owner.write(b"soon gone", ext="txt").name
    owner.release(name)
    status, headers, body = server.get_file(name)
    assert status == 404
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert body.count(b"\n") == 1
    assert b"released" in body
    assert "etag" not in headers
    assert "cache-control" not in headers or "immutable" not in headers["cache-control"]


def test_404_is_decided_before_any_body_byte(server: RunningServer, owner: Owner) -> None:
    """The status line says 404 up front, never a 200 that breaks off."""
    name = owner.write(b"x" * 1000, ext="bin").name
    owner.release(name)
    conn, resp = server.connect("GET", f"@file/{name}")
    try:
        assert resp.status == 404
        assert resp.getheader("Content-Length") == str(len(resp.read()))
    finally:
        conn.close()


def test_large_file_streams_whole(server: RunningServer, owner: Owner) -> None:
    data = os.urandom(5 * 1024 * 1024 + 17)
    name = owner.write(data, ext="bin").name
    status, headers, body = server.get_file(name)
    assert status == 200
    assert headers["content-length"] == str(len(data))
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()


def test_admin_view_counts_files_per_owner(server: RunningServer, owner: Owner) -> None:
    owner.write(b"a" * 1000, ext="bin")
    owner.write(b"b" * 3000, ext="bin")
    report = server.api("GET", "api/vfs")
    assert {t["name"] for t in report["tiers"]} == {"memory", "disk"}
    for tier in report["tiers"]:
        assert {"path", "budget", "used", "free", "files", "keep_free"} <= set(tier)
        assert tier["free"] <= tier["budget"] - tier["used"]
    kept = {t["name"]: t["keep_free"] for t in report["tiers"]}
    st = os.statvfs(server.memory_dir.parent)  # by default a tenth of /dev/shm stays free
    assert kept == {"memory": st.f_blocks * st.f_frsize // 10, "disk": 0}
    mine = [o for o in report["owners"] if o["owner"] == owner.key]
    assert mine == [
        {"owner": owner.key, "kernel_id": None, "sessions": [], "files": 2, "bytes": 4000}
    ]
    assert set(report["events"]) == {"fallback", "evict", "error"}
    assert report["sweeps"]["runs"] >= 1
    assert report["refused"] == {}


def test_admin_view_shows_what_kernels_recorded(server: RunningServer, store: Store) -> None:
    """Kernels append events to the namespace's file; the server counts them and shows the last."""
    before = server.api("GET", "api/vfs")["events"]
    store.record_event("fallback", name="x.png", to="disk", reasons=["memory: over budget"])
    report = server.api("GET", "api/vfs")
    assert report["events"] == {**before, "fallback": before["fallback"] + 1}
    latest = report["recent_events"][-1]
    assert latest["kind"] == "fallback" and latest["reasons"] == ["memory: over budget"]
    assert server.api("GET", "api/vfs")["events"] == report["events"]  # counted once


def test_admin_view_requires_auth(server: RunningServer) -> None:
    status, _, body = server.request("GET", "api/vfs", auth=False)
    assert status == 403
    assert b"namespace" not in body


def test_admin_view_counts_responses_by_status_and_bytes_sent(
    server: RunningServer, owner: Owner
) -> None:
    """The server's running figures (server_side.counters) as an admin reads them: every
    ``@file`` response by status, and the body bytes sent (the figures metrics export)."""
    data = os.urandom(300_000)
    name = owner.write(data, ext="bin").name
    before = server.api("GET", "api/vfs")["responses"]
    assert server.get_file(name)[0] == 200
    assert server.get_file(name, {"Range": "bytes=0-99"})[0] == 206
    assert server.get_file("0" * 16 + "-" + "0" * 12 + "-" + "0" * 32 + ".bin")[0] == 404
    after = server.api("GET", "api/vfs")["responses"]
    counted = {
        status: after["by_status"].get(status, 0) - before["by_status"].get(status, 0)
        for status in ("200", "206", "404")
    }
    assert counted == {"200": 1, "206": 1, "404": 1}
    assert after["bytes"] - before["bytes"] == len(data) + 100
