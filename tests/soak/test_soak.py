"""Soak: ~10 minutes of mixed load on a real server, loopback only (``make soak``; excluded from
``make test``). Set VFS_EXT_SOAK_SECONDS for a shorter run.

Three kernels re-run a plotting cell and a ``clear_output`` loop; one of them also holds four
256 MiB files that 64 clients download whole or by random Range, hanging up at random; a kernel is
SIGKILLed every 15-30 s (the server restarts it); the server itself is restarted midway. At the
end: no 5xx, every byte a client got is the file's, no leaked descriptors, the server's RSS flat,
what the tiers hold (du) = what ``api/vfs`` and the kernels' ``%vfs stats`` report = what the live
outputs show, and nothing left once the server stops (also after the restart midway).
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.execute import printed, run_code
from tests.support.leftovers import tree
from tests.support.processes import kernel_pid, open_fds, status_bytes, wait_until
from tests.support.server import RunningServer, jupyter_server, stop
from tests.support.soak_load import (
    BIG_CELL,
    SETUP,
    Downloader,
    DownloadStats,
    KernelDriver,
    Targets,
)
from vfs_ext.config import format_size

DURATION = float(os.environ.get("VFS_EXT_SOAK_SECONDS", "420"))  # + ~3 min of set-up
KERNELS = 3
CLIENTS = 64
#: How much the server's RSS may grow from a quarter into the second run to its end.
RSS_GROWTH_BOUND = 64 * 1024 * 1024
#: Descriptors the server may hold at the end beyond its count once its kernels were set up.
FD_SLACK = 16
SERVER_ARGS = [
    "--VirtualFiles.memory_budget=3GiB",
    "--VirtualFiles.disk_budget=2GiB",
    "--VirtualFiles.sweep_interval=5",
]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(int(DURATION) + 900)]


@dataclass
class Run:
    """What one server's run saw."""

    kills: int = 0
    cells: int = 0
    interrupted: int = 0
    rss: list[int] = field(default_factory=list)
    fds_start: int = 0
    fds_end: int = 0
    tiers: dict[str, int] = field(default_factory=dict)
    leftovers: list[tuple[str, int, int]] = field(default_factory=list)


def held_bytes(bases: list[Path]) -> int:
    """du of the tiers' outputs: every byte in owner folders and draining, not locks or logs."""
    total = 0
    for base in bases:
        for path, _mode, size in tree(base):
            parts = Path(path).relative_to(base).parts
            if len(parts) >= 3 and not parts[-1].endswith(".lock"):
                total += size if Path(path).is_file() else 0
    return total


#: The gauge of the bytes each tier holds in ``{base_url}metrics`` (server_side/metrics.py).
TIER_BYTES_METRIC = "vfs_ext_tier_bytes"


def scraped_tier_bytes(server: RunningServer) -> int:
    """The tiers' bytes as the server's Prometheus metrics say (as last counted)."""
    status, _, body = server.request("GET", "metrics")
    assert status == 200, f"metrics scrape answered {status}"
    total = 0
    for line in body.decode().splitlines():
        if line.split("{", 1)[0].split(" ", 1)[0] == TIER_BYTES_METRIC:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def start_kernels(server: RunningServer) -> list[tuple[str, Path]]:
    kernels = []
    for i in range(KERNELS):
        notebook = {"path": f"soak-{i}.ipynb", "name": f"soak-{i}.ipynb", "type": "notebook"}
        model = server.api("POST", "api/sessions", {**notebook, "kernel": {"name": "python3"}})
        kernel_id = model["kernel"]["id"]
        kernels.append((kernel_id, server.runtime_dir / f"kernel-{kernel_id}.json"))
    return kernels


def run_server(server: RunningServer, targets: Targets, seconds: float, final: bool) -> Run:
    """Load ``server`` for ``seconds``; on the final run, stop the load and check the figures."""
    run = Run()
    kernels = start_kernels(server)
    printed_lines = printed(run_code(kernels[0][1], SETUP + BIG_CELL, timeout=300)).splitlines()
    big = json.loads(printed_lines[-1])
    stop_drivers = threading.Event()
    drivers = [KernelDriver(k, c, stop_drivers) for k, c in kernels]
    for driver in drivers:
        driver.start()
    targets.set(server.port, server.token, big)
    rng = random.Random(7)
    start = time.monotonic()
    next_kill = start + rng.uniform(15, 30)
    while (now := time.monotonic()) < start + seconds:
        run.rss.append(status_bytes(server.proc.pid, "VmRSS"))
        if not run.fds_start and now > start + min(30, seconds / 4):
            run.fds_start = open_fds(server.proc.pid)
        if now >= next_kill:
            kernel_id, _ = rng.choice(kernels)
            try:
                os.kill(kernel_pid(kernel_id), signal.SIGKILL)
                run.kills += 1
            except AssertionError:
                pass  # still restarting from the last kill: another time
            next_kill = now + rng.uniform(15, 30)
        time.sleep(1)  # a sampling tick
    targets.open.clear()
    stop_drivers.set()
    for driver in drivers:
        driver.join(120)
    run.cells = sum(d.runs["plot"] + d.runs["loop"] for d in drivers)
    run.interrupted = sum(d.runs["interrupted"] for d in drivers)
    if final:
        settle(server, run, drivers, big, kernels)
    return run


def settle(
    server: RunningServer, run: Run, drivers: list[KernelDriver], big: list[str], kernels: list
) -> None:
    """Once the load is over: the tiers hold exactly what the live outputs show."""
    for driver in drivers:
        driver.finish()
    shown = big + [p for d in drivers for p in d.shown.paths()]
    sizes = []
    for path in shown:
        status, headers, _ = server.request("HEAD", path.lstrip("/"))
        assert status == 200, f"a live output's file is gone: {path} -> {status}"
        sizes.append(int(headers["content-length"]))
    expected = sum(sizes)
    bases = [server.memory_dir, server.disk_dir]

    def reported() -> int:
        return sum(t["used"] for t in server.api("GET", "api/vfs")["tiers"])

    # Replaced outputs go after the retire grace, draining ones at the next sweep.
    wait_until(lambda: held_bytes(bases) == reported() == expected, "the tiers to settle", 90)
    code = (
        "from kernel_side.extension import current_session\n"
        "print(sum(t.used for t in current_session().store.stats().tiers))"
    )
    in_kernel = int(printed(run_code(kernels[1][1], SETUP + code)).split()[-1])
    run.tiers = {
        "expected": expected,
        "du": held_bytes(bases),
        "api": reported(),
        "kernel": in_kernel,
    }
    # The metric is the latest count, at most usage.MAX_AGE old: a stale scrape starts a recount.
    wait_until(lambda: scraped_tier_bytes(server) == expected, "the metrics to count", 60)
    run.tiers["metrics"] = scraped_tier_bytes(server)
    run.fds_end = open_fds(server.proc.pid)


def stopped(server: RunningServer, run: Run) -> None:
    """Stop the server (SIGTERM, as an admin would) and note what it left."""
    stop(server)
    run.leftovers = tree(server.memory_dir) + tree(server.disk_dir)


def test_soak(tmp_path: Path) -> None:
    memory_dir = Path("/dev/shm") / f"vfs_ext-soak-{secrets.token_hex(4)}"
    dirs = {"memory_dir": memory_dir, "disk_dir": tmp_path / "disk", "extra_args": SERVER_ARGS}
    targets = Targets()
    stop_clients = threading.Event()
    clients = [Downloader(targets, stop_clients, seed) for seed in range(CLIENTS)]
    for client in clients:
        client.start()
    began = time.monotonic()
    try:
        with jupyter_server(tmp_path / "first", **dirs) as first:
            one = run_server(first, targets, DURATION / 2, final=False)
            stopped(first, one)
        with jupyter_server(tmp_path / "second", **dirs) as second:
            two = run_server(second, targets, DURATION / 2, final=True)
            stop_clients.set()
            targets.open.set()
            for client in clients:
                client.join(120)
            two.fds_end = open_fds(second.proc.pid)
            stopped(second, two)
    finally:
        stop_clients.set()
        targets.open.set()
    downloads = DownloadStats()
    for client in clients:
        downloads.merge(client.stats)
    print_table(one, two, downloads, time.monotonic() - began)

    assert not [s for s in downloads.statuses if s >= 500], downloads.statuses
    assert downloads.bad_bytes == 0
    assert downloads.completed > 0 and downloads.aborted > 0 and downloads.ranges > 0
    assert one.leftovers == [] and two.leftovers == []
    assert len(set(two.tiers.values())) == 1, two.tiers
    assert two.fds_end <= two.fds_start + FD_SLACK, (two.fds_start, two.fds_end)
    quarter = len(two.rss) // 4
    assert max(two.rss[-quarter:]) <= max(two.rss[quarter : 2 * quarter]) + RSS_GROWTH_BOUND


def print_table(one: Run, two: Run, downloads: DownloadStats, elapsed: float) -> None:
    quarter = max(1, len(two.rss) // 4)
    rows = [
        ("duration", f"{elapsed:.0f} s (2 server runs of {DURATION / 2:.0f} s, loopback)"),
        ("kernels", f"{KERNELS} per run, {one.kills + two.kills} SIGKILLed and restarted"),
        (
            "cells run",
            f"{one.cells + two.cells} ({one.interrupted + two.interrupted} cut by kills)",
        ),
        (
            "downloads",
            f"{downloads.started} by {CLIENTS} clients ({downloads.ranges} Range, "
            f"{downloads.aborted} hung up midway), {format_size(downloads.bytes)} received",
        ),
        ("HTTP statuses", ", ".join(f"{k}: {v}" for k, v in sorted(downloads.statuses.items()))),
        ("connection errors", f"{downloads.conn_errors} (clients pause while the server restarts)"),
        ("wrong bytes", str(downloads.bad_bytes)),
        (
            "server RSS (2nd run)",
            f"{format_size(max(two.rss[quarter : 2 * quarter]))} at 25-50%, "
            f"{format_size(max(two.rss[-quarter:]))} in the last 25% "
            f"(bound: +{format_size(RSS_GROWTH_BOUND)})",
        ),
        ("server fds (2nd run)", f"{two.fds_start} after set-up, {two.fds_end} at the end"),
        ("tier bytes at the end", ", ".join(f"{k} {v}" for k, v in two.tiers.items())),
        ("left after each stop", f"{len(one.leftovers)} + {len(two.leftovers)} entries"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"| {'':{width}} | soak |", f"|{'-' * (width + 2)}|------|"]
    lines += [f"| {k:{width}} | {v} |" for k, v in rows]
    table = "\n".join(lines)
    print("\n" + table)
    out = Path(__file__).resolve().parents[2] / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "soak.md").write_text(table + "\n")
