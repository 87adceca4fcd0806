"""Saved outputs outlive their kernel in JupyterLab: a 5 MiB image and a Vega chart still show
after the kernel shut down, after a server restart on the same folder and in a copy of the
folder served by another server; exports (``jupyter nbconvert``, the "Export Notebook As" menu,
``jupyter vfs inline``) show every image with no vfs_ext server at all."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.browser import artifact, jupyter_env, write_notebook
from tests.support.export import nbconvert_html, vfs_inline
from tests.support.jupyter_ui import NotebookUI
from tests.support.server import jupyter_server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]


SETUP = """%load_ext vfs_ext
import io
import numpy as np
from PIL import Image as PILImage
from IPython.display import Image, display

def noise(seed, side=1300):  # about 5 MiB as an uncompressed PNG
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buf = io.BytesIO()
    PILImage.fromarray(pixels).save(buf, "png", compress_level=0)
    return buf.getvalue()
"""
IMAGE = "%%vfs\nImage(noise(1), width=200)"
CHART = """%%vfs --threshold 64KiB
rows = [{"x": i % 100, "y": i // 100} for i in range(10000)]
display({"application/vnd.vegalite.v5+json": {
    "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
    "data": {"values": rows}, "mark": {"type": "rect", "color": "#ff0000"},
    "width": 200, "height": 100,
    "encoding": {"x": {"field": "x", "type": "ordinal", "axis": None},
                 "y": {"field": "y", "type": "ordinal", "axis": None}}},
    "text/plain": "chart"}, raw=True)
"""
TEN = "%%vfs\nfor seed in range(10):\n    display(Image(noise(seed + 10)))"

#: Red pixels the chart drew (its axes and labels are not red): 0 when its data did not load.
RED_PIXELS = """el => {
    const canvas = el.querySelector('canvas');
    if (!canvas) return el.querySelectorAll('svg .mark-rect path').length;
    const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] > 200 && d[i + 1] < 60 && d[i + 2] < 60) n++;
    return n;
}"""


def lab(tmp: Path, root: Path | None = None, extra: list[str] | None = None):
    return jupyter_server(
        tmp, app="lab", env=jupyter_env(tmp / "jupyter"), root_dir=root, extra_args=extra
    )


def check_both_show(ui: NotebookUI, where: str) -> None:
    """The image loaded and the chart drew its points (its data file loaded)."""
    assert ui.wait_image(ui.outputs(1).locator("img").first) > 0, f"image, {where}"
    chart = ui.outputs(2).locator(".vega-embed").first
    chart.wait_for(state="visible")
    ui.page.wait_for_function(RED_PIXELS, arg=chart.element_handle(), timeout=30_000)
    assert ui.problems.ours() == [], where


def test_saved_outputs_show_without_their_kernel_after_a_restart_and_elsewhere(
    tmp_path: Path, context: Any
) -> None:
    root = tmp_path / "root"
    (root / "project").mkdir(parents=True)
    write_notebook(root / "project" / "nb.ipynb", [SETUP, IMAGE, CHART])
    with lab(tmp_path / "first", root) as srv:
        ui = NotebookUI(context, "lab", srv.url, srv.token, "project/nb.ipynb").open()
        ui.run_cells(range(3))
        check_both_show(ui, "live")
        ui.save()
        for kernel in srv.api("GET", "api/kernels"):
            srv.api("DELETE", f"api/kernels/{kernel['id']}")  # its files are released
        ui.reopen()
        check_both_show(ui, "kernel shut down")
        ui.close()
    with lab(tmp_path / "second", root) as srv:
        ui = NotebookUI(context, "lab", srv.url, srv.token, "project/nb.ipynb").open()
        check_both_show(ui, "server restarted")
        ui.page.screenshot(path=str(artifact("saved-outputs-restarted.png")))
        ui.close()
    with lab(tmp_path / "other") as srv:
        shutil.copytree(root / "project", srv.root_dir / "copied")
        ui = NotebookUI(context, "lab", srv.url, srv.token, "copied/nb.ipynb").open()
        check_both_show(ui, "folder copied to another server")
        ui.close()


def images_loaded(page: Any) -> list[int]:
    """naturalWidth of every image on a page, once each finished loading."""
    page.wait_for_function("[...document.images].every(img => img.complete)")
    return page.locator("img").evaluate_all("imgs => imgs.map(img => img.naturalWidth)")


def test_ten_images_saved_twenty_times_and_exported(
    tmp_path: Path, context: Any, browser: Any
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    write_notebook(root / "ten.ipynb", [SETUP, TEN])
    with lab(tmp_path / "lab", root) as srv:
        ui = NotebookUI(context, "lab", srv.url, srv.token, "ten.ipynb").open()
        ui.run_cells(range(2))
        ui.save()
        model = srv.api("GET", "api/contents/ten.ipynb")
        for _ in range(19):  # autosaves (JupyterLab drops Ctrl+S pressed in quick succession)
            srv.api(
                "PUT", "api/contents/ten.ipynb", {"type": "notebook", "content": model["content"]}
            )
        assert (root / "ten.ipynb").stat().st_size < 50 * 1024
        assert len(list((root / ".ipynb_vfs").iterdir())) == 10
        ui.command_mode()
        ui.page.locator(".lm-MenuBar-itemLabel", has_text="File").click()
        ui.page.locator(".lm-Menu-itemLabel", has_text="Save and Export Notebook As").hover()
        ui.page.locator(".lm-Menu-itemLabel", has_text="HTML").first.click()
        with context.expect_event(
            "request", lambda r: "/nbconvert/" in r.url, timeout=120_000
        ) as request:  # JupyterLab opens the export URL in a new window
            ui.page.locator(".jp-Dialog .jp-mod-accept").click()  # "Sanitize HTML output"
        url = request.value.url
        assert "/nbconvert/html/ten.ipynb" in url, url
        # What the new window downloads: the server's export of the notebook, as the menu asked.
        parts = urlsplit(url)
        path = f"{parts.path[len(srv.base_url) :]}?{parts.query}"
        status, _, body = srv.request("GET", path, timeout=120)
        assert status == 200, body[:300]
        exported = tmp_path / "exported.html"
        exported.write_bytes(body)
        ui.close()
    nbconvert_html(root / "ten.ipynb", tmp_path)
    vfs_inline(root / "ten.ipynb", tmp_path / "inline.ipynb")
    offline = context.new_page()
    for page in (exported, tmp_path / "ten.html"):  # no server is running now
        offline.goto(page.as_uri())
        widths = images_loaded(offline)
        assert len(widths) == 10 and all(w == 1300 for w in widths), (page.name, widths)
    offline.close()
    plain = tmp_path / "plain"
    with lab(plain, extra=["--ServerApp.jpserver_extensions=vfs_ext=False"]) as srv:
        shutil.copy(tmp_path / "inline.ipynb", srv.root_dir / "inline.ipynb")
        ui = NotebookUI(context, "lab", srv.url, srv.token, "inline.ipynb").open()
        imgs = ui.outputs(1).locator("img")
        assert imgs.count() == 10
        assert all(ui.wait_image(imgs.nth(i)) == 1300 for i in range(10))
        assert ui.file_responses == []
        ui.close()
