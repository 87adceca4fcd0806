"""Fixtures for the server extension's tests: real ``jupyter server`` processes, files placed
through the vfs_ext core into the tiers the server reads."""

from __future__ import annotations

import http.client
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import RunningServer, jupyter_server
from vfs_ext.config import StoreConfig, TierSpec
from vfs_ext.owner import Owner
from vfs_ext.store import Store


def server_store(server: RunningServer) -> Store:
    """A writer's view of the server's namespace, from what the server reports in ``api/vfs``.

    Built like a kernel's (``Store(config)``), not ``Store.for_server``: the server holds the
    namespace's server lock.
    """
    report = server.api("GET", "api/vfs")
    tiers = tuple(TierSpec(t["name"], Path(t["path"]).parent, t["budget"]) for t in report["tiers"])
    return Store(StoreConfig(tiers=tiers, namespace=report["namespace"]))


def connect(server: RunningServer, method: str, path: str, headers: dict[str, str] | None = None):
    """A raw request whose body the caller reads (or abandons) at its own pace."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(
        method,
        server.base_url + path.lstrip("/"),
        headers={"Authorization": f"token {server.token}", **(headers or {})},
    )
    return conn, conn.getresponse()


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with jupyter_server(tmp_path_factory.mktemp("server")) as running:
        yield running


@pytest.fixture(scope="module")
def store(server: RunningServer) -> Iterator[Store]:
    s = server_store(server)
    yield s
    s.close()


@pytest.fixture
def owner(store: Store) -> Iterator[Owner]:
    """A live owner (its lock held by this test process), released after the test."""
    o = store.open_owner(f"test-{uuid.uuid4()}")
    yield o
    o.release_all()
    o.close(remove=True)
