"""Fast HTTP GET clients: curl when installed, else a raw socket reading into a fixed buffer.

Python's urllib copies every chunk several times; the bench must measure the server, not the
client, so the fallback reads with ``recv_into`` and never concatenates.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

RECV_BUF = 4 * 1024 * 1024


@dataclass
class Fetch:
    """What one GET returned and how long it took."""

    status: int
    size: int
    seconds: float
    ttfb: float
    body: bytes | memoryview | None = None


def curl_path() -> str | None:
    return shutil.which("curl")


def default_client() -> str:
    """``socket`` unless VFS_EXT_BENCH_CLIENT=curl: curl 7.88 reads 16 KiB per recv() and tops
    out near 1.5 GiB/s on loopback here, below the servers it is meant to measure."""
    wanted = os.environ.get("VFS_EXT_BENCH_CLIENT", "socket")
    return "curl" if wanted == "curl" and curl_path() else "socket"


def get(
    url: str,
    headers: dict[str, str] | None = None,
    *,
    keep: bool = False,
    into: bytearray | None = None,
    client: str = "socket",
    timeout: float = 120.0,
) -> Fetch:
    """GET ``url``; ``keep`` holds the body in one buffer (``into`` if given and large enough,
    else a new one), else the body is discarded."""
    if client == "curl" and not keep:
        return _curl_get(url, headers or {}, timeout)
    return _socket_get(url, headers or {}, keep, into, timeout)


def _curl_get(url: str, headers: dict[str, str], timeout: float) -> Fetch:
    args = [curl_path() or "curl", "-s", "-o", "/dev/null", "--max-time", str(timeout)]
    for k, v in headers.items():
        args += ["-H", f"{k}: {v}"]
    args += ["-w", "%{http_code} %{size_download} %{time_total} %{time_starttransfer}", url]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=timeout + 5)
    code, size, total, start = out.stdout.split()
    return Fetch(int(code), int(size), float(total), float(start))


def _socket_get(
    url: str, headers: dict[str, str], keep: bool, into: bytearray | None, timeout: float
) -> Fetch:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    t0 = time.perf_counter()
    with socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout) as sock:
        sock.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError(f"connection closed before headers: {head[:200]!r}")
            head += data
        ttfb = time.perf_counter() - t0
        head, _, rest = head.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        hdrs = {
            k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)
        }
        if "chunked" in hdrs.get("transfer-encoding", ""):
            raise NotImplementedError("chunked responses are not expected from file handlers")
        length = int(hdrs["content-length"]) if "content-length" in hdrs else None
        if keep and length is None:
            raise ValueError("keeping a body needs a Content-Length")
        if keep and length is not None:
            buf = into if into is not None and len(into) >= length else bytearray(length)
        else:
            buf = bytearray(RECV_BUF)
        mv = memoryview(buf)
        got = len(rest)
        if keep and length is not None:
            mv[:got] = rest
        while length is None or got < length:
            n = sock.recv_into(mv[got:] if keep else mv)
            if not n:
                break
            got += n
        seconds = time.perf_counter() - t0
    return Fetch(status, got, seconds, ttfb, mv[:got] if keep else None)
