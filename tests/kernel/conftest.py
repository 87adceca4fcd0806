"""Fixtures for the IPython side: a real server, and kernels it started (tests/support/kernels.py)
with the extension loaded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.kernels import Kernel, running_kernel
from tests.support.server import RunningServer, jupyter_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with jupyter_server(
        tmp_path_factory.mktemp("kernel"), extra_args=["--VirtualFiles.sweep_interval=0.5"]
    ) as running:
        yield running


@pytest.fixture(scope="module")
def kernel(server: RunningServer) -> Iterator[Kernel]:
    """One kernel with the extension loaded, shared by a module's independent tests."""
    with running_kernel(server, "%load_ext vfs_ext") as k:
        yield k


@pytest.fixture(scope="module")
def k(kernel: Kernel, request: pytest.FixtureRequest) -> Kernel:
    """The module's kernel after the module's ``SETUP`` code (the imports and helpers its
    tests use); a module with a kernel of its own overrides this."""
    kernel.execute(request.module.SETUP)
    return kernel
