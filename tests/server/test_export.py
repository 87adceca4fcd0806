"""Self-contained copies: ``jupyter vfs inline``, ``jupyter nbconvert`` and the server's
``/nbconvert/`` handler give virtual outputs their bytes back, from the sidecar saved beside the
notebook, once the kernel that wrote them is gone."""

from __future__ import annotations

import base64
import json
import re

import nbformat
import pytest

from tests.support.export import nbconvert_html, run_cells, vfs_inline
from tests.support.kernels import shutdown_kernel, start_kernel
from tests.support.server import RunningServer

PNG_CELL = """\
%%vfs --threshold 1KiB
import io, random
from PIL import Image as PILImage
from IPython.display import Image, display
random.seed(1)
picture = PILImage.new("RGB", (64, 48))
picture.putdata([tuple(random.randrange(256) for _ in range(3)) for _ in range(64 * 48)])
buffer = io.BytesIO()
picture.save(buffer, "PNG")
display(Image(data=buffer.getvalue(), width=64))
"""
VEGA_CELL = """\
%%vfs --threshold 1KiB
rows = [{"x": i, "y": i * i} for i in range(500)]
spec = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "mark": "point",
        "data": {"values": rows},
        "encoding": {"x": {"field": "x", "type": "quantitative"},
                     "y": {"field": "y", "type": "quantitative"}}}
display({"application/vnd.vegalite.v5+json": spec, "text/plain": "chart"}, raw=True)
"""
DOWNLOAD_CELL = "vfs_ext.download(b'a,b\\n' + b'1,2\\n' * 1000, 'table.csv')"
GONE_CELL = "gone = vfs_ext.image(buffer.getvalue())\ngone"


@pytest.fixture(scope="module")
def saved(server: RunningServer) -> dict:
    """A notebook saved with an image, a chart and a link, then its kernel shut down; one more
    output is added after the save, so no sidecar holds its bytes."""
    kernel = start_kernel(server)
    try:
        kernel.execute("%load_ext vfs_ext\nimport vfs_ext")
        notebook = run_cells(kernel, [PNG_CELL, VEGA_CELL, DOWNLOAD_CELL])
        png = base64.b64decode(
            kernel.value("__import__('base64').b64encode(buffer.getvalue()).decode()")
        )
        (server.root_dir / "shared").mkdir()
        server.api("PUT", "api/contents/shared/nb.ipynb", {"type": "notebook", "content": notebook})
        saved = json.loads((server.root_dir / "shared/nb.ipynb").read_text())
        saved["cells"] += run_cells(kernel, [GONE_CELL])["cells"]
        (server.root_dir / "shared/with-gone.ipynb").write_text(json.dumps(saved))
    finally:
        shutdown_kernel(server, kernel)
    return {"png": png, "path": server.root_dir / "shared"}


def check_inlined(notebook: dict, png: bytes) -> None:
    image, chart, link = (cell["outputs"][0] for cell in notebook["cells"][:3])
    assert base64.b64decode(image["data"]["image/png"]) == png
    assert image["metadata"] == {"image/png": {"width": 64}}
    assert "text/html" not in image["data"] and "text/markdown" not in image["data"]
    assert "vfs_ext" not in image["metadata"]
    spec = chart["data"]["application/vnd.vegalite.v5+json"]
    assert spec["data"]["values"][499] == {"x": 499, "y": 499 * 499}
    assert "url" not in spec["data"]
    html = link["data"]["text/html"]
    assert "@file/" not in html
    href = re.search(r'href="data:text/csv;base64,([^"]+)"', html)
    assert href and base64.b64decode(href[1]) == b"a,b\n" + b"1,2\n" * 1000
    assert 'download="table.csv"' in html


def test_jupyter_vfs_inline_restores_every_output_from_the_sidecar(saved: dict) -> None:
    out = saved["path"] / "out.ipynb"
    done = vfs_inline(saved["path"] / "with-gone.ipynb", out)
    notebook = nbformat.read(out, as_version=4)
    nbformat.validate(notebook)
    check_inlined(notebook, saved["png"])
    (gone,) = notebook["cells"][3]["outputs"]
    assert "was not kept with the notebook" in gone["data"]["text/plain"]
    assert "found neither beside the notebook nor in a running server" in done.stderr


def test_jupyter_nbconvert_html_embeds_every_image(saved: dict) -> None:
    nbconvert_html(saved["path"] / "nb.ipynb")
    page = (saved["path"] / "nb.html").read_text()
    assert "@file/" not in page
    assert base64.b64encode(saved["png"]).decode() in page


def test_the_servers_export_handler_embeds_every_image(saved: dict, server: RunningServer) -> None:
    status, _, body = server.request("GET", "nbconvert/html/shared/nb.ipynb?download=true")
    assert status == 200, body[:300]
    page = body.decode()
    assert "@file/" not in page
    assert base64.b64encode(saved["png"]).decode() in page
