"""IPython's embedded ``Video`` and ``Audio`` and a matplotlib ``to_jshtml`` animation under
``%vfs auto on`` in JupyterLab and Notebook 7: the outputs carry URLs instead of megabytes of
base64, and Chromium plays them, also after the notebook reopens untrusted (sanitized HTML)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.support.browser import artifact, jupyter_env, write_notebook
from tests.support.jupyter_ui import NotebookUI
from tests.support.server import RunningServer, jupyter_server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

IOPUB_LIMIT = 64 * 1024
FRAMES = 50
CELLS = [
    "%load_ext vfs_ext\n%vfs auto on --threshold 64KiB\n"
    "import numpy as np\nfrom IPython.display import Audio, HTML, Video",
    "Video('clip.webm', embed=True, width=320)",
    "Audio(np.sin(np.arange(44100 * 30) * 2 * np.pi * 440 / 44100), rate=44100)",
    """import matplotlib
matplotlib.use("agg")
import matplotlib.pyplot as plt
from matplotlib.animation import FuncAnimation
fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
xs = np.linspace(0, 2 * np.pi, 200)
line, = ax.plot(xs, np.sin(xs))
anim = FuncAnimation(fig, lambda i: line.set_ydata(np.sin(xs + i / 5)), frames=FRAMES)
plt.close(fig)
HTML(anim.to_jshtml())""".replace("FRAMES", str(FRAMES)),
]


@pytest.fixture(scope="module", params=["lab", "notebook"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, media: dict[str, Path]
) -> Iterator[tuple[str, RunningServer]]:
    app = request.param
    tmp = tmp_path_factory.mktemp(f"media-in-html-{app}")
    with jupyter_server(tmp, app=app, env=jupyter_env(tmp / "jupyter")) as srv:
        shutil.copyfile(media["webm"], srv.root_dir / "clip.webm")
        yield app, srv


def animation_frame(ui: NotebookUI) -> Any:
    return ui.outputs(3).locator("img[id^='_anim_img']").first


def test_embedded_media_and_animations_play(
    server: tuple[str, RunningServer], context: Any
) -> None:
    app, srv = server
    path = srv.root_dir / "media.ipynb"
    write_notebook(path, CELLS)
    ui = NotebookUI(context, app, srv.url, srv.token, "media.ipynb").open()
    ui.run_cells(range(len(CELLS)))

    video = ui.outputs(1).locator("video").first
    assert "@file/" in (video.get_attribute("src") or "")
    assert ui.wait_media_ready(video, play=False) >= 2
    audio = ui.outputs(2).locator("audio").first
    assert ui.wait_media_ready(audio, play=True) >= 2

    # The animation's script runs (trusted output) and shows frames served by URL.
    frame = animation_frame(ui)
    assert "@file/" in frame.get_attribute("src")
    assert ui.wait_image(frame) == 400
    first = frame.get_attribute("src")
    ui.outputs(3).locator("button[title='Next frame']").click()
    assert frame.get_attribute("src") != first and "@file/" in frame.get_attribute("src")
    assert ui.wait_image(frame) == 400
    ui.page.wait_for_function(
        f"() => performance.getEntriesByType('resource')"
        f".filter(e => e.name.includes('/@file/') && e.name.endsWith('.png')).length >= {FRAMES}"
    )
    ui.page.screenshot(path=str(artifact(f"media-in-html-{app}.png")), full_page=True)

    # Saved, every output is small; reopened untrusted (scripts do not run, <source src> is
    # stripped), the video and audio still play from the src on their own element.
    ui.save()
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells[1 : len(CELLS)]:  # (running the last cell added an empty one)
        (output,) = cell.outputs
        assert len(json.dumps(output)) < IOPUB_LIMIT
        assert "base64," not in json.dumps(output)
    nb.metadata["edited_elsewhere"] = True
    nbformat.write(nb, path)
    ui.reopen()
    assert ui.wait_media_ready(ui.outputs(1).locator("video").first, play=False) >= 2
    assert ui.wait_media_ready(ui.outputs(2).locator("audio").first, play=True) >= 2
    assert ui.problems.ours() == []
    assert "Traceback" not in srv.log_text()
    ui.close()
