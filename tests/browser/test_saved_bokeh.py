"""A Bokeh plot by URL outlives its kernel and its server, in a real Chromium and JupyterLab.

``%vfs auto on`` with ``output_notebook(INLINE)`` and ``show(p)``: BokehJS and the document are
virtual files (kernel_side.bokeh). Saved through the server, the notebook draws the plot again
from its sidecar once the kernel is gone; its exports (``jupyter nbconvert --to html`` and the
server's ``/nbconvert/`` handler behind JupyterLab's "Save and Export Notebook As") draw it from
``file://`` with no server at all. A document whose file is kept nowhere says so, in the page
and in the export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.bokeh_plots import fetched, plot_cells, wait_plot
from tests.support.browser import artifact, jupyter_env, write_notebook
from tests.support.export import nbconvert_html
from tests.support.jupyter_ui import NotebookUI
from tests.support.server import jupyter_server

pytest.importorskip("bokeh", reason="the test extra installs bokeh")
pytest.importorskip("jupyter_bokeh", reason="bokeh's renderers for JupyterLab")

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

POINTS = 50_000  # docs_json about 1 MiB, over the 256 KiB threshold
GONE_MESSAGE = "is no longer available: its file is gone"


def test_a_saved_bokeh_plot_draws_without_its_kernel_and_offline(
    tmp_path: Path, context: Any
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    write_notebook(root / "bokeh.ipynb", plot_cells(POINTS))
    env = jupyter_env(tmp_path / "jupyter")  # one signature store: the notebook stays trusted
    with jupyter_server(tmp_path / "first", app="lab", env=env, root_dir=root) as srv:
        ui = NotebookUI(context, "lab", srv.url, srv.token, "bokeh.ipynb").open()
        ui.run_cells(range(3))
        wait_plot(ui.page, ui.cell(2).element_handle(), POINTS, "live")
        ui.save()
        for kernel in srv.api("GET", "api/kernels"):
            srv.api("DELETE", f"api/kernels/{kernel['id']}")  # its files are released
        ui.reopen()
        wait_plot(ui.page, ui.cell(2).element_handle(), POINTS, "kernel shut down")
        assert fetched(ui) == {"js", "json"}, "BokehJS and the document came from the sidecar"
        assert ui.problems.ours() == []
        ui.page.screenshot(path=str(artifact("saved-bokeh-reopened.png")))
        ui.close()
        # What the "Save and Export Notebook As -> HTML" menu downloads (not sanitized: a
        # sanitized page has no scripts, with or without vfs_ext).
        status, _, body = srv.request(
            "GET", "nbconvert/html/bokeh.ipynb?download=true", timeout=120
        )
        assert status == 200, body[:300]
        (tmp_path / "menu.html").write_bytes(body)
    nbconvert_html(root / "bokeh.ipynb", tmp_path)
    offline = context.new_page()
    for export in (tmp_path / "menu.html", tmp_path / "bokeh.html"):  # no server is running now
        assert "@file/" not in export.read_text()
        offline.goto(export.as_uri())
        wait_plot(offline, offline.locator("body").element_handle(), POINTS, export.name)
    offline.screenshot(path=str(artifact("saved-bokeh-exported.png")))
    offline.close()

    # The document's file kept nowhere: its root element says so, and the export has a note.
    (sidecar_json,) = (root / ".ipynb_vfs").glob("*.json")
    sidecar_json.unlink()
    with jupyter_server(tmp_path / "second", app="lab", env=env, root_dir=root) as srv:
        ui = NotebookUI(context, "lab", srv.url, srv.token, "bokeh.ipynb").open()
        message = ui.cell(2).get_by_text(GONE_MESSAGE)
        message.wait_for(timeout=60_000)
        assert "Re-run the cell" in message.inner_text()
        assert fetched(ui) == {"js"}
        ui.page.screenshot(path=str(artifact("saved-bokeh-gone.png")))
        ui.close()
    done = nbconvert_html(root / "bokeh.ipynb", tmp_path / "gone")
    page = (tmp_path / "gone" / "bokeh.html").read_text()
    assert "was not kept with the notebook and its kernel is gone" in page
    assert "@file/" not in page
    assert "found neither beside the notebook nor in a running server" in done.stderr
