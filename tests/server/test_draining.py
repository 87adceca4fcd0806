"""Released files a slow reader still downloads keep counting against the memory budget until
the download ends: a stalled download must not let the tmpfs grow past the budget."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import wait_until
from tests.support.server import RunningServer, jupyter_server, server_store

SIZE = 32 * 1024 * 1024
ARGS = [
    "--VirtualFiles.memory_budget=48MiB",
    "--VirtualFiles.memory_keep_free=0",
    "--VirtualFiles.sweep_interval=0.3",
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with jupyter_server(tmp_path, extra_args=ARGS) as running:
        yield running


def memory_tier(server: RunningServer) -> dict:
    (tier,) = [t for t in server.api("GET", "api/vfs")["tiers"] if t["name"] == "memory"]
    return tier


def test_a_released_file_still_downloading_counts_until_the_download_ends(
    server: RunningServer,
) -> None:
    store = server_store(server)
    owner = store.open_owner("slow-reader")
    try:
        first = owner.write(os.urandom(SIZE), ext="bin", group="run-1")
        assert first.tier == "memory"
        conn, resp = server.connect("GET", f"@file/{first.name}")
        assert resp.status == 200
        resp.read(1024 * 1024)  # then stall: the server keeps the file open, blocked on send

        assert owner.release(first.name)  # the cell is re-run: its URL fails at once
        assert server.request("HEAD", f"@file/{first.name}")[0] == 404
        tier = memory_tier(server)
        assert (tier["used"], tier["draining"]) == (0, SIZE)
        assert tier["free"] == 48 * 1024 * 1024 - SIZE

        second = owner.write(os.urandom(SIZE), ext="bin", group="run-2")
        assert second.tier == "disk"  # 32 MiB draining + 32 MiB would exceed the 48 MiB budget

        conn.close()  # the reader gives up: a sweep (or the next write) frees the bytes
        wait_until(lambda: memory_tier(server)["draining"] == 0, "the draining file to go")
        third = owner.write(os.urandom(SIZE), ext="bin", group="run-3")
        assert third.tier == "memory"
    finally:
        owner.close(remove=True)
        store.close()
