"""What a user sees while a large virtual output arrives, and what happens when it goes away.

The network is slowed with Chromium's own throttling (CDP ``Network.emulateNetworkConditions``)
so that a few MiB take seconds, long enough to see the page in the middle of a download.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from tests.support.browser import artifact, jupyter_env
from tests.support.jupyter_ui import NotebookUI
from tests.support.references import REF
from tests.support.server import RunningServer, jupyter_server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

#: Bytes per second while throttled: a 5 MiB payload takes about 5 s.
SLOW = 1_000_000
SETUP = """\
%load_ext vfs_ext
import io
import numpy as np
from PIL import Image as PILImage
from IPython.display import HTML, Image, display

def png(w, h, seed=0):
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    PILImage.fromarray(pixels).save(buf, "png", compress_level=1)
    return buf.getvalue()

rows = "".join(f"<tr><td>{i}</td><td>{i * 0.5}</td></tr>" for i in range(150_000))
"""
IMAGE_CELL = "%%vfs --threshold 1MiB\ndisplay(Image(png(1300, 1300)))"  # ~5 MB of PNG
KERNELSPEC = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
TABLE_CELL = "%%vfs --threshold 1MiB\ndisplay(HTML(f'<table>{rows}</table>'))"  # ~5 MB of HTML


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("loading")
    with jupyter_server(tmp, app="lab", env=jupyter_env(tmp / "jupyter")) as srv:
        yield srv


@pytest.fixture
def ui(server: RunningServer, context: Any) -> Iterator[NotebookUI]:
    """A notebook whose set-up cell has run, on a page whose network can be slowed."""
    name = f"loading-{len(list(server.root_dir.glob('*.ipynb')))}.ipynb"
    cells = [new_code_cell(source) for source in (SETUP, IMAGE_CELL, TABLE_CELL)]
    nbformat.write(new_notebook(cells=cells, metadata=KERNELSPEC), server.root_dir / name)
    ui = NotebookUI(context, "lab", server.url, server.token, name).open()
    ui.run_cell(0)
    yield ui
    ui.close()


def throttle(ui: NotebookUI, bytes_per_second: float) -> None:
    """Slow every download of the page (-1: no limit)."""
    cdp = ui.page.context.new_cdp_session(ui.page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": bytes_per_second,
            "uploadThroughput": -1,
        },
    )


def loading_ref(ui: NotebookUI, index: int) -> Any:
    """The cell's reference renderer once its download has begun."""
    ref = ui.cell(index).locator(REF).first
    ref.wait_for(state="attached")
    ui.page.wait_for_function("el => el.dataset.vfsState === 'loading'", arg=ref.element_handle())
    return ref


def test_a_large_image_says_it_is_loading_until_it_is_drawn(ui: NotebookUI) -> None:
    """While a 5 MB image arrives, a note over its room names its type and size; the room is
    already the image's size; once the image is drawn the note is gone."""
    throttle(ui, SLOW)
    ui.start_cell(1)
    ref = loading_ref(ui, 1)
    note = ref.locator(".jp-VfsReference-loading")
    note.wait_for(state="visible")
    assert "Loading image/png" in note.inner_text()
    assert "MiB" in note.inner_text()
    box = ref.locator("img").bounding_box()
    assert box is not None and box["height"] > 500, "the image's room is kept while it loads"
    ui.page.screenshot(path=str(artifact("loading-image.png")))
    throttle(ui, -1)
    assert ui.wait_image(ref.locator("img")) == 1300
    assert note.count() == 0
    assert ui.problems.ours() == []


def test_a_large_fetched_payload_shows_its_progress(ui: NotebookUI) -> None:
    """A 5 MB HTML table shows a progress bar that moves in bytes of its size, then the table
    rendered in the page."""
    throttle(ui, SLOW)
    ui.start_cell(2)
    ref = loading_ref(ui, 2)
    bar = ref.locator("progress")
    bar.wait_for(state="attached")
    ui.page.wait_for_function(
        "bar => bar.value > 0 && bar.value < bar.max", arg=bar.element_handle()
    )
    assert "text/html" in ref.inner_text() and " of " in ref.inner_text()
    ui.page.screenshot(path=str(artifact("loading-table.png")))
    throttle(ui, -1)
    ui.page.wait_for_function("el => el.dataset.vfsState === 'loaded'", arg=ref.element_handle())
    assert ref.locator("table tr").count() == 150_000
    assert ui.problems.ours() == []


def test_a_rerun_cancels_the_downloads_of_the_outputs_it_replaces(ui: NotebookUI) -> None:
    """Re-running cells whose large outputs are still arriving cancels those downloads (the
    image's request dropped, the fetch aborted); the new outputs then load."""
    throttle(ui, SLOW)
    urls = []
    for index in (1, 2):
        with ui.page.expect_request(file_get) as request:
            ui.start_cell(index)
        loading_ref(ui, index)
        urls.append(request.value.url)
        ui.wait_cell(index)
    for index, url in zip((1, 2), urls, strict=True):
        with ui.page.expect_event("requestfailed", predicate=aborted(url)):
            ui.start_cell(index)  # the old output is disposed as the cell starts again
        ui.wait_cell(index)
    throttle(ui, -1)
    assert ui.wait_image(ui.cell(1).locator(f"{REF} img")) == 1300
    table = ui.cell(2).locator(REF).first
    ui.page.wait_for_function("el => el.dataset.vfsState === 'loaded'", arg=table.element_handle())
    assert ui.problems.ours() == []


def file_get(request: Any) -> bool:
    return "/@file/" in request.url and request.method == "GET"


def aborted(url: str) -> Any:
    """Whether a failed request is the download of ``url``, cancelled by the page."""
    return lambda request: request.url == url and request.failure == "net::ERR_ABORTED"
