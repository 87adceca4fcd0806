"""Self-contained copies: ``jupyter vfs inline``, ``jupyter nbconvert`` and the server's
``/nbconvert/`` handler give virtual outputs their bytes back, from the sidecar saved beside the
notebook, once the kernel that wrote them is gone."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, output_from_msg

from tests.support.kernels import Kernel, shutdown_kernel, start_kernel
from tests.support.server import RunningServer, jupyter_server

VENV_BIN = Path(sys.executable).parent

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
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with jupyter_server(tmp_path_factory.mktemp("export")) as running:
        yield running


def run_cells(kernel: Kernel, sources: list[str]) -> dict:
    """A notebook of ``sources`` with the outputs the kernel produced for them."""
    cells = []
    for source in sources:
        execution = kernel.execute(source)
        outputs = [output_from_msg(m) for m in execution.outputs("display_data", "execute_result")]
        cells.append(new_code_cell(source, outputs=outputs))
    return nbformat.validator.normalize(new_notebook(cells=cells))[1]


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


def no_server_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("VFS_EXT_")}


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
    done = subprocess.run(
        [VENV_BIN / "jupyter-vfs", "inline", saved["path"] / "with-gone.ipynb", "-o", out],
        env=no_server_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    notebook = nbformat.read(out, as_version=4)
    nbformat.validate(notebook)
    check_inlined(notebook, saved["png"])
    (gone,) = notebook["cells"][3]["outputs"]
    assert "was not kept with the notebook" in gone["data"]["text/plain"]
    assert "found neither beside the notebook nor in a running server" in done.stderr


def test_jupyter_nbconvert_html_embeds_every_image(saved: dict) -> None:
    subprocess.run(
        [VENV_BIN / "jupyter-nbconvert", "--to", "html", saved["path"] / "nb.ipynb"],
        env=no_server_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    page = (saved["path"] / "nb.html").read_text()
    assert "@file/" not in page
    assert base64.b64encode(saved["png"]).decode() in page


def test_the_servers_export_handler_embeds_every_image(saved: dict, server: RunningServer) -> None:
    status, _, body = server.request("GET", "nbconvert/html/shared/nb.ipynb?download=true")
    assert status == 200, body[:300]
    page = body.decode()
    assert "@file/" not in page
    assert base64.b64encode(saved["png"]).decode() in page
