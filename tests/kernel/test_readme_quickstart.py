"""The README's quickstart runs as written, in a real kernel of a real server, and does what it
says: its large outputs leave the message stream and are served by URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.kernels import (
    Execution,
    Kernel,
    new_cell_id,
    running_kernel,
)
from tests.support.markdown import code_blocks, read, section
from tests.support.server import RunningServer

#: A virtual output is a few hundred bytes; none of the quickstart's should carry its payload.
SMALL = 64 * 1024


@pytest.fixture
def fresh_kernel(server: RunningServer) -> Iterator[Kernel]:
    """A kernel without the extension loaded (the quickstart loads it), in the server's root
    directory, where the quickstart writes its image."""
    with running_kernel(server, path="") as kernel:
        yield kernel


def records(run: Execution) -> list[dict[str, Any]]:
    """The ``vfs_ext`` records of a cell's virtual outputs."""
    metadata = [m["content"]["metadata"] for m in run.outputs()]
    return [md["vfs_ext"] for md in metadata if "vfs_ext" in md]


def test_quickstart_runs_as_written(server: RunningServer, fresh_kernel: Kernel) -> None:
    cells = code_blocks(section(read("README.md"), "Quickstart"), "python")
    image, download, figure, listing = (fresh_kernel.execute(c, new_cell_id()) for c in cells)
    for run in (image, download, figure, listing):
        for msg in run.outputs():
            assert len(json.dumps(msg["content"])) < SMALL
    shown = [*records(image), *records(download), *records(figure)]
    assert len(shown) == 3  # the image, the download and the figure: one file each
    assert (server.root_dir / "big.png").stat().st_size == shown[0]["size"]
    for record in shown:
        status, _, body = server.fetch(record["url"])
        assert status == 200
        assert len(body) == record["size"] > 1024**2
    assert "noise.png" in json.dumps(download.outputs()[0]["content"]["data"])
    listed = json.dumps([m["content"]["data"] for m in listing.outputs()])
    assert all(record["url"] in listed for record in shown)
