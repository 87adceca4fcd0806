"""vfs_ext's JupyterLab extension in a real Chromium, JupyterLab 4 and Notebook 7.

With the reference MIME type, outputs of any type leave iopub and are drawn by JupyterLab's own
renderer for their type (plotly's, the HTML renderer), their URL follows the page's base URL,
a file that is gone shows a placeholder, and outputs load as they near the viewport.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from tests.support.browser import artifact, jupyter_env
from tests.support.jupyter_ui import NotebookUI
from tests.support.references import MAX_FRAME, REF, refs, wait_loaded, watch_frames
from tests.support.server import RunningServer, jupyter_server
from vfs_ext.records import HASH_KEY, METADATA_KEY, REFERENCE_MIME

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

#: JupyterLab's own way to turn a labextension off (`jupyter labextension disable`).
DISABLED = {"disabledExtensions": {"vfs-ext": True}}
PNG_SETUP = """
import io
import numpy as np
from PIL import Image as PILImage
from IPython.display import Image, display

def png(w, h, seed=0):
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    PILImage.fromarray(pixels).save(buf, "png", compress_level=1)
    return buf.getvalue()
"""


@pytest.fixture(scope="module", params=["lab", "notebook"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, RunningServer]]:
    app = request.param
    tmp = tmp_path_factory.mktemp(f"labext-{app}")
    env = jupyter_env(tmp / "jupyter")  # JupyterLab's default table of contents settings
    with jupyter_server(tmp, app=app, base_url="/user/alice/", env=env) as srv:
        yield app, srv


def write_notebook(path: Path, cells: list[Any]) -> None:
    nb = new_notebook(
        cells=[c if not isinstance(c, str) else new_code_cell(c) for c in cells],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    nbformat.write(nb, path)


def test_plotly_and_a_big_table_render_in_the_page(
    server: tuple[str, RunningServer], context: Any
) -> None:
    """%vfs auto on: plotly's renderer draws 300k points and a 100k-row DataFrame is a table in
    the page (no iframe), while no websocket frame exceeds 64 KiB."""
    app, srv = server
    write_notebook(
        srv.root_dir / "big.ipynb",
        [
            "%load_ext vfs_ext\n%vfs auto on",
            "import numpy as np, plotly.graph_objects as go, plotly.io as pio\n"
            "pio.renderers.default = 'plotly_mimetype'\n"
            "n = 300_000\n"
            "rng = np.random.default_rng(0)\n"
            "go.Figure(go.Scattergl(x=rng.random(n), y=rng.random(n), mode='markers'))",
            "import pandas as pd\n"
            "pd.set_option('display.max_rows', 200_000)\n"
            "pd.DataFrame({'a': np.arange(100_000), 'b': np.arange(100_000) * 0.5})",
        ],
    )
    ui = NotebookUI(context, app, srv.url, srv.token, "big.ipynb")
    frames = watch_frames(ui)  # before the kernel's websocket opens
    ui.open()
    ui.run_cells(range(3))
    plot = wait_loaded(ui, 1)
    assert plot.locator(".js-plotly-plot .main-svg").count() >= 1, "plotly's renderer drew it"
    assert plot.locator(".js-plotly-plot canvas").count() >= 1, "scattergl draws on a canvas"
    table = wait_loaded(ui, 2)
    assert table.locator("iframe").count() == 0
    assert table.locator("table.dataframe tbody tr").count() == 100_000
    ui.page.screenshot(path=str(artifact(f"labext-big-{app}.png")))
    assert frames, "the page's websocket frames were not seen"
    assert max(frames) <= MAX_FRAME, sorted(frames)[-5:]
    assert ui.problems.ours() == []


def test_url_follows_the_page_and_gone_files_show_a_placeholder(
    server: tuple[str, RunningServer], context: Any
) -> None:
    """A notebook saved under another base_url (its HTML says /old/@file/...) shows its image
    from this page's base_url; an output whose file exists nowhere shows the placeholder text
    and no broken image."""
    app, srv = server
    write_notebook(
        srv.root_dir / "make.ipynb",
        [
            f"%load_ext vfs_ext\n{PNG_SETUP}",
            "%%vfs --threshold 10KB\ndisplay(Image(png(400, 300)))",
        ],
    )
    ui = NotebookUI(context, app, srv.url, srv.token, "make.ipynb").open()
    ui.run_cells(range(2))
    wait_loaded(ui, 1)
    ui.save()
    saved = srv.api("GET", "api/contents/make.ipynb")["content"]
    (output,) = saved["cells"][1]["outputs"]
    name = output["data"][REFERENCE_MIME]["name"]
    moved = json.loads(json.dumps(output).replace(f"{srv.base_url}@file/", "/old/@file/"))
    assert f"/old/@file/{name}" in moved["data"]["text/markdown"]
    gone = json.loads(json.dumps(moved).replace(name, name[:-36] + "0" * 32 + ".png"))
    gone["metadata"][METADATA_KEY].pop(HASH_KEY, None)  # no saved copy backs it either
    cell = new_code_cell("# outputs saved elsewhere")
    cell.outputs = [
        new_output(
            **{k: v for k, v in moved.items() if k != "output_type"}, output_type="display_data"
        ),
        new_output(
            **{k: v for k, v in gone.items() if k != "output_type"}, output_type="display_data"
        ),
    ]
    write_notebook(srv.root_dir / "moved.ipynb", [cell])
    ui.close()

    ui = NotebookUI(context, app, srv.url, srv.token, "moved.ipynb").open()
    shown = refs(ui, 0).nth(0).locator("img")
    assert ui.wait_image(shown) == 400
    assert shown.get_attribute("src") == f"{srv.base_url}@file/{name}"
    missing = refs(ui, 0).nth(1)
    missing.locator(".jp-VfsReference-placeholder").wait_for()
    assert "Re-run the cell" in missing.inner_text()
    assert "image/png" in missing.inner_text()
    assert missing.locator("img").count() == 0, "no broken image"
    ui.page.screenshot(path=str(artifact(f"labext-moved-{app}.png")))


THIRTY = [
    f"%load_ext vfs_ext\n{PNG_SETUP}\nfrom IPython.display import HTML, Markdown",
    "%%vfs --threshold 10KB\n"
    "display(Markdown('## Noise from a Markdown output'), HTML('<h2>Noise from HTML</h2>'))\n"
    "for i in range(30):\n    display(Image(png(400, 400, i)))",
]


def test_outputs_load_as_they_near_the_viewport(
    server: tuple[str, RunningServer], context: Any
) -> None:
    """With JupyterLab's default settings, opening a notebook of 30 virtual images fetches
    those near the viewport, the rest as it scrolls; the table of contents (which looks for
    headings in outputs) still lists the headings of the outputs next to them."""
    app, srv = server
    write_notebook(srv.root_dir / "thirty.ipynb", THIRTY)
    ui = NotebookUI(context, app, srv.url, srv.token, "thirty.ipynb").open()
    ui.run_cells(range(2))
    ui.save()
    ui.file_responses.clear()
    ui.reopen()
    first = refs(ui, 1).nth(0).locator("img")
    assert ui.wait_image(first) == 400
    ui.page.wait_for_load_state("networkidle")
    fetched = {r.url for r in ui.file_responses if r.request.method == "GET"}
    assert 1 <= len(fetched) < 20, f"{len(fetched)} of 30 images fetched before any scroll"
    if app == "lab":  # Notebook 7 shows its table of contents from a menu; the model is the same
        ui.page.locator('.jp-SideBar [data-id="table-of-contents"]').click()
        toc = ui.page.locator(".jp-TableOfContents-tree")
        toc.get_by_text("Noise from a Markdown output").wait_for()
        toc.get_by_text("Noise from HTML").wait_for()
        assert {r.url for r in ui.file_responses if r.request.method == "GET"} == fetched
    last = refs(ui, 1).nth(29)
    last.scroll_into_view_if_needed()
    assert ui.wait_image(last.locator("img")) == 400
    for n in range(30):
        refs(ui, 1).nth(n).scroll_into_view_if_needed()
    ui.page.wait_for_function(
        f"document.querySelectorAll('{REF}[data-vfs-state=loaded]').length >= 30"
    )
    fetched = {r.url for r in ui.file_responses if r.request.method == "GET"}
    assert len(fetched) == 30
    assert ui.problems.ours() == []


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_without_the_extension_the_fallback_shows(
    app: str, tmp_path_factory: pytest.TempPathFactory, context: Any
) -> None:
    """JupyterLab / Notebook 7 with the extension disabled show each virtual image from its
    Markdown fallback, and JupyterLab still lists the outputs' headings in its table of
    contents."""
    tmp = tmp_path_factory.mktemp(f"labext-off-{app}")
    env = jupyter_env(tmp / "jupyter")
    page_config = tmp / "config" / "labconfig" / "page_config.json"
    page_config.parent.mkdir(parents=True)
    page_config.write_text(json.dumps(DISABLED))
    env["JUPYTER_CONFIG_PATH"] = str(tmp / "config")
    with jupyter_server(tmp, app=app, base_url="/user/alice/", env=env) as srv:
        write_notebook(srv.root_dir / "thirty.ipynb", THIRTY)
        ui = NotebookUI(context, app, srv.url, srv.token, "thirty.ipynb").open()
        ui.run_cells(range(2))
        images = ui.cell(1).locator(".jp-RenderedMarkdown img")
        images.nth(29).wait_for(state="attached")
        assert images.count() == 30
        assert ui.page.locator(REF).count() == 0, "the extension is off"
        for n in (0, 29):
            assert ui.wait_image(images.nth(n)) == 400
        src = images.nth(0).get_attribute("src")
        assert src is not None and src.startswith(f"{srv.base_url}@file/")
        if app == "lab":
            ui.page.locator('.jp-SideBar [data-id="table-of-contents"]').click()
            ui.page.locator(".jp-TableOfContents-tree").get_by_text("Noise from HTML").wait_for()
        ui.page.screenshot(path=str(artifact(f"labext-disabled-{app}.png")))
