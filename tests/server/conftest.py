"""Fixtures for the server extension's tests: real ``jupyter server`` processes, files placed
through the vfs_ext core into the tiers the server reads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.server import RunningServer, jupyter_server, server_store
from vfs_ext.owner import Owner
from vfs_ext.store import Store


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
