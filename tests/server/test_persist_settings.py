"""Persistence under other contents managers and settings: FileContentsManager works like the
default; a contents manager that is not file-based turns it off with one log line; a notebook
over ``VirtualFiles.persist_max_bytes`` keeps what fits and says so (log, api/vfs, %vfs stats)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.kernels import Kernel, shutdown_kernel
from tests.support.server import RunningServer, jupyter_server, server_store
from tests.support.sidecars import PNG, digest, save, sidecar_files
from vfs_ext.owner import Owner

FILE_MANAGER = "jupyter_server.services.contents.filemanager.FileContentsManager"
MEMORY_MANAGER = "tests.support.memory_contents.MemoryContentsManager"


@pytest.fixture
def started(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    with jupyter_server(tmp_path, extra_args=request.param) as running:
        yield running


@pytest.fixture
def writer(started: RunningServer) -> Iterator[Owner]:
    """A live owner in the started server's tiers (like a kernel of it)."""
    store = server_store(started)
    owner = store.open_owner("writer")
    yield owner
    owner.close(remove=True)
    store.close()


@pytest.mark.parametrize(
    "started", [[f"--ServerApp.contents_manager_class={FILE_MANAGER}"]], indirect=True
)
def test_the_synchronous_file_contents_manager_keeps_outputs(
    started: RunningServer, writer: Owner
) -> None:
    name = writer.write(PNG, "png").name
    save(started, "nb.ipynb", name)
    writer.release(name)
    assert sidecar_files(started) == [f"{digest(PNG)}.png"]
    assert started.get_file(name)[2] == PNG


@pytest.mark.parametrize(
    "started", [[f"--ServerApp.contents_manager_class={MEMORY_MANAGER}"]], indirect=True
)
def test_a_contents_manager_without_files_turns_persistence_off(
    started: RunningServer, writer: Owner
) -> None:
    name = writer.write(PNG, "png").name
    save_model = {
        "type": "notebook",
        "content": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
    }
    started.api("PUT", "api/contents/nb.ipynb", save_model)  # saving still works
    persist = started.api("GET", "api/vfs")["persist"]
    assert persist["enabled"] is False
    assert "MemoryContentsManager is not file-based" in persist["reason"]
    assert started.log_text().count("is not file-based") == 1
    assert started.get_file(name)[0] == 200


@pytest.mark.parametrize("started", [["--VirtualFiles.persist_max_bytes=20000"]], indirect=True)
def test_a_notebook_over_the_cap_keeps_what_fits_and_says_so(started: RunningServer) -> None:
    (started.root_dir / "cap").mkdir()
    session = started.api(
        "POST",
        "api/sessions",
        {
            "path": "cap/nb.ipynb",
            "name": "nb.ipynb",
            "type": "notebook",
            "kernel": {"name": "python3"},
        },
    )
    kernel_id = session["kernel"]["id"]
    kernel = Kernel(kernel_id, started.runtime_dir / f"kernel-{kernel_id}.json")
    try:
        kernel.execute("%load_ext vfs_ext\nimport vfs_ext, os")
        names = kernel.value("[vfs_ext.vfile(os.urandom(8000), ext='png').name for _ in range(3)]")
        save(started, "cap/nb.ipynb", *names)
        assert len(sidecar_files(started, "cap")) == 2
        assert "not kept beside the notebook" in started.log_text()
        notebooks = started.api("GET", "api/vfs")["persist"]["notebooks"]
        over = notebooks[str(started.root_dir / "cap" / "nb.ipynb")]["over_cap"]
        assert (over["files"], over["bytes"], over["cap"]) == (1, 8000, 20000)
        stats = kernel.execute("%vfs stats").stream()
        assert "this notebook: 15.6 KiB in 2 file(s) beside it" in stats
        assert "its last save left 1 output file(s) (7.8 KiB) out" in stats
    finally:
        shutdown_kernel(started, kernel)
