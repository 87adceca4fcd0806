"""What a notebook user sees of vfs_ext in a cell's stderr: a few notices, each once per kernel
and on purpose; vfs_ext's log records go to ipykernel's log (the server's console) instead of
Python's last-resort handler, which would print them raw into the cell, one per output."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.kernels import Kernel, new_cell_id, running_kernel
from tests.support.processes import wait_until
from tests.support.server import RunningServer, jupyter_server

SETUP = """
%load_ext vfs_ext
%vfs auto on --threshold 100KiB
from IPython.display import HTML, display
"""


def html(mb: int) -> str:
    return f"display(HTML('<p>' + 'x' * {mb * 1_000_000} + '</p>'))"


@pytest.fixture(scope="module")
def small_tiers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A 1 MiB memory tier and an 8 MiB disk tier: 2 MB outputs fall back to disk."""
    args = [
        "--VirtualFiles.memory_budget=1MiB",
        "--VirtualFiles.memory_keep_free=0",
        "--VirtualFiles.disk_budget=8MiB",
    ]
    with jupyter_server(tmp_path_factory.mktemp("notices"), extra_args=args) as running:
        yield running


@pytest.fixture
def k(small_tiers: RunningServer) -> Iterator[Kernel]:
    with running_kernel(small_tiers, SETUP) as kernel:
        yield kernel


def test_a_fallback_to_disk_is_said_once_and_nothing_else(k: Kernel) -> None:
    first = k.execute(html(2), new_cell_id())
    assert "vfs_ext" in first.outputs()[0]["content"]["metadata"]  # moved out
    assert first.stream("stderr") == (
        "vfs_ext: the memory tier did not take a file of 1.9 MiB; it went to the disk tier, as "
        "later ones that do not fit will (said once; %vfs stats shows each tier's room)\n"
    )
    again = k.execute(html(2), new_cell_id())
    assert "vfs_ext" in again.outputs()[0]["content"]["metadata"]
    assert again.stream("stderr") == ""


def test_an_output_no_tier_takes_says_why_once(k: Kernel) -> None:
    first = k.execute(html(9), new_cell_id())
    assert "vfs_ext" not in first.outputs()[0]["content"]["metadata"]  # inline
    lines = first.stream("stderr").splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("vfs_ext: a text/html output stays inline: the virtual file fits")
    assert "raise VirtualFiles.memory_budget / VirtualFiles.disk_budget" in lines[0]
    assert k.execute(html(9), new_cell_id()).stream("stderr") == ""


def test_log_records_go_to_the_kernel_log_not_the_cell(
    k: Kernel, small_tiers: RunningServer
) -> None:
    out = k.execute("import logging; logging.getLogger('vfs_ext').warning('vfs_ext: to the log')")
    assert out.stream("stderr") == ""

    def logged() -> bool:
        return "vfs_ext: to the log" in small_tiers.log_text()

    wait_until(logged, "the record in the kernel's log (the server's console)")
