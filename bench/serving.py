"""Figure 2 (and its half of figure 6): fetching the same bytes three ways.

``/@file/<name>`` (vfs_ext) vs jupyter_server's ``/files/<path>`` (what a user would link to
otherwise) vs a minimal ``os.sendfile`` responder in its own process (the ceiling). Repeats are
interleaved across endpoints so a noisy neighbour hurts all three alike.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.support.server import free_port

from . import httpclient
from .harness import Bench
from .plot import size_label
from .report import Results, Row, fmt_rate, fmt_s, verdict

MiB = 2**20


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (10 ms resolution; summed over repeats)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def ceiling(path: Path) -> Iterator[tuple[str, int]]:
    """Run ``bench.ceiling`` serving ``path``; yields its URL and pid."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.ceiling", str(port), str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the sendfile responder did not start")
        yield f"http://127.0.0.1:{port}/", proc.pid
    finally:
        proc.kill()
        proc.wait(10)


async def endpoints(bench: Bench, size: int) -> dict[str, str]:
    """name -> URL of ``size`` bytes via ``/files/`` and (with server_side) ``/@file/``."""
    disk = bench.disk_file(size)
    urls = {"/files/": bench.url(f"files/{disk.name}")}
    vfile = await bench.virtual_file(size)
    if vfile is not None:
        urls["/@file/"] = bench.url(f"@file/{vfile['name']}")
    return urls


def fetch_times(
    urls: dict[str, str],
    pids: dict[str, int],
    auth: dict[str, str],
    size: int,
    repeats: int,
    client: str,
) -> dict[str, tuple[float, float]]:
    """Per endpoint: median whole-body fetch time and the serving process's CPU seconds per
    GiB (one untimed warm-up each). CPU time barely moves when neighbours load the machine."""
    times: dict[str, list[float]] = {k: [] for k in urls}
    cpu: dict[str, float] = dict.fromkeys(urls, 0.0)
    for rep in range(repeats + 1):
        for name, url in urls.items():
            before = cpu_seconds(pids[name])
            got = httpclient.get(url, auth, client=client)
            if got.status != 200 or got.size != size:
                raise RuntimeError(f"{name}: status {got.status}, {got.size} of {size} bytes")
            if rep:
                times[name].append(got.seconds)
                cpu[name] += cpu_seconds(pids[name]) - before
    per_gib = 2**30 / (size * repeats)
    return {k: (statistics.median(times[k]), cpu[k] * per_gib) for k in urls}


def range_times(urls: dict[str, str], auth: dict[str, str], repeats: int) -> dict[str, float]:
    """Median time for a 1 KiB Range request (new connection each), per endpoint."""
    headers = {**auth, "Range": "bytes=0-1023"}
    times: dict[str, list[float]] = {k: [] for k in urls}
    for rep in range(repeats + 2):
        for name, url in urls.items():
            got = httpclient.get(url, headers)
            if got.status != 206 or got.size != 1024:
                raise RuntimeError(f"{name}: Range -> {got.status}, {got.size} bytes")
            if rep >= 2:
                times[name].append(got.seconds)
    return {k: statistics.median(v) for k, v in times.items()}


async def run(
    bench: Bench, results: Results, sizes: list[int], headline: int, repeats: int
) -> None:
    client = httpclient.default_client()
    results.notes.append(f"figures 2-3: HTTP client = {client}")
    server_pid = bench.server.proc.pid
    for size in sorted(set([*sizes, headline])):
        urls = await endpoints(bench, size)
        vfile = bench.vfiles.get(size)
        source = Path(vfile["path"]) if vfile else bench.disk_file(size)
        with ceiling(source) as (ceiling_url, ceiling_pid):
            urls["sendfile"] = ceiling_url
            pids = {"/files/": server_pid, "/@file/": server_pid, "sendfile": ceiling_pid}
            # The headline gets 3x the repeats: loopback throughput is the noisiest figure here.
            reps = 3 * repeats if size == headline else repeats
            reps = reps if size <= 256 * MiB else max(1, min(repeats, 3))
            med = fetch_times(urls, pids, bench.auth, size, reps, client)
        for name, (seconds, _) in med.items():
            results.point(f"GET {name}", size, seconds)
        if size == headline:
            _rows(results, size, med, vfile["tier"] if vfile else None)
    urls = await endpoints(bench, 64 * 1024)
    ttfb = range_times(urls, bench.auth, max(repeats * 4, 10))
    files = ttfb["/files/"]
    if "/@file/" in ttfb:
        ours = ttfb["/@file/"]
        results.add(
            Row(
                "2 serving",
                "1 KiB Range request, full round trip",
                fmt_s(ours),
                fmt_s(files) + " /files/",
                f"{files / ours:.2f}x",
                "<= /files/",
                verdict(ours, files, higher_is_better=False),
            )
        )
    else:
        results.add(
            Row(
                "2 serving",
                "1 KiB Range request",
                "n/a",
                fmt_s(files) + " /files/",
                verdict="n/a: server_side missing",
            )
        )


def _rows(
    results: Results, size: int, med: dict[str, tuple[float, float]], tier: str | None
) -> None:
    # The tier the virtual file landed in (the sendfile responder serves the same file): a
    # memory tier filled by earlier figures sends it to disk, like /files/.
    label = size_label(size) + (f" ({tier} tier)" if tier else "")
    (files, files_cpu), (ceil, ceil_cpu) = med["/files/"], med["sendfile"]
    if "/@file/" not in med:
        results.add(
            Row(
                "2 serving",
                f"{label} GET",
                "n/a",
                f"{fmt_rate(size, files)} /files/, {fmt_rate(size, ceil)} sendfile",
                verdict="n/a: server_side missing",
            )
        )
        return
    ours, ours_cpu = med["/@file/"]
    for against, short, theirs, target in (
        ("/files/", "/files/", files, 1.5),
        ("sendfile ceiling", "sendfile", ceil, 0.8),
    ):
        results.add(
            Row(
                "2 serving",
                f"{label} GET vs {against}",
                fmt_rate(size, ours),
                f"{fmt_rate(size, theirs)} {short}",
                f"{theirs / ours:.2f}x",
                f">= {target}x",
                verdict(theirs / ours, target),
            )
        )
    results.add(
        Row(
            "2 serving",
            f"{label} GET, serving process CPU per GiB (less noisy)",
            f"{ours_cpu:.2f} s",
            f"{files_cpu:.2f} s /files/, {ceil_cpu:.2f} s sendfile",
            f"{files_cpu / ours_cpu:.2f}x / {ceil_cpu / ours_cpu:.2f}x" if ours_cpu else "",
        )
    )
