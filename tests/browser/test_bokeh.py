"""Outputs drawn by other packages' renderers, by URL, in a real Chromium, JupyterLab 4 and
Notebook 7: a large Bokeh plot (jupyter_bokeh) and GeoJSON (jupyterlab-geojson).

With ``%vfs auto on``, BokehJS (``output_notebook(INLINE)``, 7.9 MB) and a 500k-point plot's
document (10 MB) leave iopub (kernel_side.bokeh): no websocket frame exceeds 64 KiB, and
bokeh's own JS draws the plot in the page, with its toolbar, from the virtual files. A large
GeoJSON goes through the reference type, to the GeoJSON extension's renderer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.bokeh_plots import PLOT_STATE, fetched, plot_cells, wait_plot
from tests.support.browser import artifact, jupyter_env, write_notebook
from tests.support.jupyter_ui import NotebookUI
from tests.support.references import MAX_FRAME, wait_loaded, watch_frames
from tests.support.server import RunningServer, jupyter_server
from vfs_ext.bokeh_scripts import JS_MIME

pytest.importorskip("bokeh", reason="the test extra installs bokeh")

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

POINTS = 500_000


@pytest.fixture(scope="module", params=["lab", "notebook", "lab-without-jupyter_bokeh"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, RunningServer]]:
    """JupyterLab and Notebook 7; and JupyterLab with jupyter_bokeh disabled, where
    JupyterLab's own JavaScript renderer runs bokeh's scripts."""
    pytest.importorskip("jupyter_bokeh", reason="bokeh's renderers for JupyterLab")
    pytest.importorskip("jupyterlab_geojson", reason="the GeoJSON renderer for JupyterLab")
    app, _, without = request.param.partition("-without-")
    tmp = tmp_path_factory.mktemp(f"bokeh-{request.param}")
    env = jupyter_env(tmp / "jupyter")
    if without:
        # What `jupyter labextension disable @bokeh/jupyter_bokeh` writes, in a private dir.
        config = tmp / "jupyter" / "config"
        (config / "labconfig").mkdir(parents=True)
        disabled = {"disabledExtensions": {"@bokeh/jupyter_bokeh": True}}
        (config / "labconfig" / "page_config.json").write_text(json.dumps(disabled))
        env["JUPYTER_CONFIG_DIR"] = str(config)
    with jupyter_server(tmp, app=app, base_url="/user/alice/", env=env) as srv:
        yield app, srv


def test_a_large_bokeh_plot_draws_by_url(server: tuple[str, RunningServer], context: Any) -> None:
    """%vfs auto on: output_notebook(INLINE) and show(p) of 500k points draw the plot with
    bokeh's JS in the page from two virtual files, the pan tool works, and no websocket frame
    exceeds 64 KiB."""
    app, srv = server
    write_notebook(srv.root_dir / "bokeh.ipynb", plot_cells(POINTS, tools="pan,wheel_zoom,reset"))
    ui = NotebookUI(context, app, srv.url, srv.token, "bokeh.ipynb")
    frames = watch_frames(ui)  # before the kernel's websocket opens
    ui.open()
    ui.run_cells(range(3))
    cell = ui.cell(2).element_handle()
    state = wait_plot(ui.page, cell, POINTS)
    assert state["toolbars"] >= 1, state
    assert ui.cell(2).locator("iframe").count() == 0
    # Who ran the document's script: jupyter_bokeh's exec renderer, or JupyterLab's own
    # JavaScript renderer where jupyter_bokeh is disabled.
    disabled = ui.page.evaluate(
        "JSON.parse(document.getElementById('jupyter-config-data').textContent)"
        ".disabledExtensions || []"
    )
    by_lab = ui.cell(2).locator(f"[data-mime-type='{JS_MIME}']").count()
    assert by_lab == (1 if "@bokeh/jupyter_bokeh" in disabled else 0)
    # Interactive: dragging the plot with the pan tool moves its x range.
    box = ui.cell(2).locator("canvas").first.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    ui.page.mouse.move(x, y)
    ui.page.mouse.down()
    ui.page.mouse.move(x - 100, y, steps=5)
    ui.page.mouse.up()
    ui.page.wait_for_function(
        f"([cell, start]) => ({PLOT_STATE})(cell).x_start > start",
        arg=[cell, state["x_start"]],
    )
    ui.page.screenshot(path=str(artifact(f"bokeh-{app}.png")))
    assert fetched(ui) == {"js", "json"}, "BokehJS and the document came by URL"
    assert frames, "the page's websocket frames were not seen"
    assert max(frames) <= MAX_FRAME, sorted(frames)[-5:]
    assert ui.problems.ours() == []


def test_a_large_geojson_draws_by_url(server: tuple[str, RunningServer], context: Any) -> None:
    """%vfs auto on: a 600 KB GeoJSON leaves iopub and the GeoJSON extension draws its
    features (leaflet's SVG paths; the map tiles need the internet and are not checked)."""
    app, srv = server
    write_notebook(
        srv.root_dir / "geo.ipynb",
        [
            "%load_ext vfs_ext\n%vfs auto on",
            "from IPython.display import GeoJSON\n"
            "lines = [{'type': 'Feature', 'properties': {'i': i}, 'geometry': {\n"
            "    'type': 'LineString',\n"
            "    'coordinates': [[i / 100 + j / 10, j / 10 - i / 200] for j in range(10)]}}\n"
            "    for i in range(3000)]\n"
            "GeoJSON({'type': 'FeatureCollection', 'features': lines})",
        ],
    )
    ui = NotebookUI(context, app, srv.url, srv.token, "geo.ipynb")
    frames = watch_frames(ui)
    ui.open()
    ui.run_cells(range(2))
    ref = wait_loaded(ui, 1)
    ref.locator(".leaflet-container").wait_for()
    ui.page.wait_for_function(
        "el => el.querySelectorAll('.leaflet-overlay-pane path').length >= 3000",
        arg=ref.element_handle(),
    )
    ui.page.screenshot(path=str(artifact(f"geojson-{app}.png")))
    fetched = [r for r in ui.file_responses if r.status == 200 and r.url.endswith(".json")]
    assert len(fetched) == 1
    assert max(frames) <= MAX_FRAME, sorted(frames)[-5:]
