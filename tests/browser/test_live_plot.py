"""A live plot in JupyterLab: a cell redrawing its image with ``clear_output(wait=True)`` as fast
as the kernel can shows its last frame, the browser (which renders the frames well after the
kernel replaced them) never gets a 404, and once the grace is over (vfs_ext.retire) the kernel
keeps the frame on screen only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import jupyter_env, write_notebook
from tests.support.jupyter_ui import NotebookUI
from tests.support.server import RunningServer, jupyter_server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

FRAMES = 40
SETUP = """%load_ext vfs_ext
import io
import numpy as np
from PIL import Image
from IPython.display import clear_output, display
import vfs_ext
from kernel_side.extension import current_session

def frame(i):  # ~300 KiB of noise, a new picture each time
    pixels = np.random.default_rng(i).integers(0, 256, (320, 320, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "png", compress_level=0)
    return buf.getvalue()

frames = [frame(i) for i in range(FRAMES)]
""".replace("FRAMES", str(FRAMES))
LOOP = "for f in frames:\n    clear_output(wait=True)\n    display(vfs_ext.image(f))"
AUTO_LOOP = (
    "%%vfs --threshold 64KiB\nfrom IPython.display import Image as IPyImage\n"
    "for f in frames:\n    clear_output(wait=True)\n    display(IPyImage(f))"
)
STORED = "current_session().owner().retired.settle(60)\nprint(len(current_session().files()))"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("live-plot")
    with jupyter_server(tmp, app="lab", env=jupyter_env(tmp / "jupyter")) as srv:
        yield srv


def test_a_live_plot_redraws_without_broken_frames(server: RunningServer, context: Any) -> None:
    write_notebook(Path(server.root_dir) / "live.ipynb", [SETUP, LOOP, AUTO_LOOP, STORED])
    ui = NotebookUI(context, "lab", server.url, server.token, "live.ipynb").open()
    ui.run_cells(range(4))
    for cell in (1, 2):
        imgs = ui.outputs(cell).locator("img[src*='@file/']")
        assert imgs.count() == 1, f"cell {cell}: the last frame only"
        assert ui.wait_image(imgs.first) == 320, f"cell {cell}"
    fetched = {r.url for r in ui.file_responses}
    assert len(fetched) >= 2
    assert ui.problems.ours() == []
    stored = ui.outputs(3).inner_text().strip()
    assert stored == "2", f"{stored} files: the two loops' last frames only"
    ui.close()


SAVED_MID_LOOP = """import os, time
for i, f in enumerate(frames[:20]):
    if i == 10:  # the test saves the notebook, then lets the loop go on
        deadline = time.monotonic() + 120
        while not os.path.exists("go") and time.monotonic() < deadline:
            time.sleep(0.05)
    clear_output(wait=True)
    display(vfs_ext.image(f, alt=f"frame {i}"))
assert current_session().owner().retired.settle(60)"""


def test_a_notebook_saved_mid_loop_shows_the_saved_frame(
    server: RunningServer, context: Any, browser: Any
) -> None:
    """The save holds the frame on screen then; the loop replaces it and the kernel frees what
    left the page, but not what a saved notebook shows (server_side.pins). Reopened in a fresh
    browser (no cached copy of the frame), the saved frame still loads."""
    write_notebook(Path(server.root_dir) / "reload.ipynb", [SETUP, SAVED_MID_LOOP])
    ui = NotebookUI(context, "lab", server.url, server.token, "reload.ipynb").open()
    ui.run_cells([0])
    ui.start_cell(1)
    ui.outputs(1).locator("img[alt='frame 9']").wait_for(state="visible")
    ui.save()
    (Path(server.root_dir) / "go").touch()
    ui.wait_cell(1)
    assert ui.outputs(1).locator("img[alt='frame 19']").count() == 1
    ui.close()
    fresh = browser.new_context(viewport={"width": 1280, "height": 1800})
    try:
        again = NotebookUI(fresh, "lab", server.url, server.token, "reload.ipynb").open()
        assert again.wait_image(again.outputs(1).locator("img[alt='frame 9']")) == 320
        assert again.problems.ours() == []
    finally:
        fresh.close()
