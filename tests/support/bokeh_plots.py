"""A Bokeh plot shown by URL in a real page: the notebook that makes it and what BokehJS drew,
shared by the live test (tests/browser/test_bokeh.py) and the saved one (test_saved_bokeh.py)."""

from __future__ import annotations

from typing import Any

from tests.support.jupyter_ui import NotebookUI

#: What bokeh drew for the cell's output, read from BokehJS in the page: its views live in
#: shadow roots, so this walks them.
PLOT_STATE = """cell => {
    const found = {canvases: 0, painted: 0, toolbars: 0, points: null, x_start: null};
    const walk = root => {
        for (const el of root.querySelectorAll('*')) {
            if (el.shadowRoot) walk(el.shadowRoot);
            if (el.classList.contains('bk-Toolbar')) found.toolbars++;
            if (el.tagName === 'CANVAS' && el.width > 0 && el.height > 0) {
                found.canvases++;
                const ctx = el.getContext('2d');
                const px = ctx ? ctx.getImageData(0, 0, el.width, el.height).data : [];
                for (let i = 3; i < px.length; i += 4) {
                    if (px[i] !== 0) { found.painted++; break; }
                }
            }
        }
    };
    walk(cell);
    const docs = window.Bokeh ? window.Bokeh.documents : [];
    for (const doc of docs) {
        for (const model of doc.all_models) {
            if (model.type === 'ColumnDataSource' && 'x' in model.data) {
                found.points = Math.max(found.points || 0, model.data.x.length);
            }
            if (model.type === 'Figure') found.x_start = model.x_range.start;
        }
    }
    return found;
}"""


def plot_cells(points: int, tools: str | None = None) -> list[str]:
    """``%vfs auto on``, BokehJS inline (``output_notebook(INLINE)``) and ``show(p)`` of a
    WebGL scatter of ``points`` random points: BokehJS and the document become virtual files."""
    options = "output_backend='webgl'" + (f", tools={tools!r}" if tools else "")
    return [
        "%load_ext vfs_ext\n%vfs auto on",
        "from bokeh.io import output_notebook, show\n"
        "from bokeh.resources import INLINE\n"
        "output_notebook(INLINE)",
        "import numpy as np\n"
        "from bokeh.plotting import figure\n"
        "rng = np.random.default_rng(0)\n"
        f"p = figure({options})\n"
        f"p.scatter(rng.random({points}), rng.random({points}))\n"
        "show(p)",
    ]


def wait_plot(page: Any, root: Any, points: int, where: str = "") -> dict[str, Any]:
    """Bokeh drew on a canvas under ``root``, from data with all ``points``; what it drew."""
    page.wait_for_function(f"el => ({PLOT_STATE})(el).painted > 0", arg=root, timeout=120_000)
    state = page.evaluate(PLOT_STATE, root)
    assert state["points"] == points, (where, state)
    return state


def fetched(ui: NotebookUI) -> set[str]:
    """The extensions of the virtual files the page loaded."""
    return {r.url.rsplit(".", 1)[-1] for r in ui.file_responses if r.status == 200}
