"""The reference MIME type in a real kernel behind a real server: every virtual output names
its file for vfs_ext's JupyterLab extension, and payloads of any type can leave iopub."""

from __future__ import annotations

import json

from tests.support.kernels import NO_GRACE, Kernel, new_cell_id
from tests.support.server import RunningServer
from vfs_ext.records import REFERENCE_MIME

SETUP = (
    NO_GRACE
    + """
import io, json
import numpy as np
from PIL import Image as PILImage
from IPython.display import HTML, Image, JSON, Markdown, display

def png(w, h):
    pixels = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    PILImage.fromarray(pixels).save(buf, "png", compress_level=0)
    return buf.getvalue()

def jpeg(w, h):
    buf = io.BytesIO()
    PILImage.fromarray(np.zeros((h, w, 3), dtype=np.uint8)).save(buf, "jpeg")
    return buf.getvalue()

class Figure:
    '''Shaped like a plotly figure with the plotly_mimetype renderer.'''
    def __init__(self, n): self.spec = {"data": [{"type": "scattergl", "x": list(range(n)),
                                                   "y": list(range(n))}], "layout": {}}
    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"application/vnd.plotly.v1+json": self.spec, "text/plain": "Figure"}
"""
)


def output(execution) -> dict:
    (msg,) = [m for m in execution.outputs() if m["msg_type"] != "stream"]
    return msg["content"]


def served(server: RunningServer, content: dict) -> bytes:
    """The reference names the file the metadata record serves; its bytes."""
    ref = content["data"][REFERENCE_MIME]
    record = content["metadata"]["vfs_ext"]
    assert ref["name"] == record["name"] and ref["size"] == record["size"]
    assert "url" not in ref, "the frontend builds the URL from its own base URL"
    status, _, body = server.fetch(record["url"])
    assert status == 200 and len(body) == ref["size"]
    return body


def test_image_reference_carries_alt_and_dimensions(k: Kernel, server: RunningServer) -> None:
    out = k.execute(
        '%%vfs --threshold 10KB\ndisplay(Image(png(320, 200), alt="noise"))', new_cell_id()
    )
    content = output(out)
    ref = content["data"][REFERENCE_MIME]
    assert ref["mime"] == "image/png" and ref["alt"] == "noise"
    assert ref["dimensions"] == {"width": 320, "height": 200}
    # Frontends without the extension show the img, as Markdown (docs/frontend.md).
    assert "<img" in content["data"]["text/markdown"] and "text/html" not in content["data"]
    served(server, content)


def test_jpeg_dimensions_from_its_header(k: Kernel, server: RunningServer) -> None:
    out = k.execute("%%vfs --threshold 1KB\ndisplay(Image(jpeg(640, 48)))", new_cell_id())
    assert output(out)["data"][REFERENCE_MIME]["dimensions"] == {"width": 640, "height": 48}


def test_plotly_json_leaves_iopub(k: Kernel, server: RunningServer) -> None:
    """A JSON payload (plotly's) is a virtual file; the fallback is a link with its size."""
    out = k.execute("%%vfs --threshold 100KB\nFigure(50_000)", new_cell_id())
    content = output(out)
    data = content["data"]
    assert "application/vnd.plotly.v1+json" not in data
    assert data[REFERENCE_MIME]["mime"] == "application/vnd.plotly.v1+json"
    assert "download=" in data["text/html"] and "KiB" in data["text/html"]
    assert json.loads(served(server, content)) == k.value("Figure(50_000).spec")
    assert len(json.dumps(content)) < 2048


def test_json_markdown_and_html_leave_iopub(k: Kernel, server: RunningServer) -> None:
    cases = {
        "JSON({'rows': list(range(40_000))})": "application/json",
        "Markdown('| a |\\n|---|\\n' + '| x |\\n' * 20_000)": "text/markdown",
        "HTML('<table>' + '<tr><td>1</td></tr>' * 10_000 + '</table>')": "text/html",
    }
    for code, mime in cases.items():
        content = output(k.execute(f"%%vfs --threshold 100KB\n{code}", new_cell_id()))
        assert content["data"][REFERENCE_MIME]["mime"] == mime, code
        assert mime not in content["data"] or mime == "text/html"
        served(server, content)


def test_small_outputs_and_nan_json_stay_inline(k: Kernel, server: RunningServer) -> None:
    content = output(k.execute("%%vfs\nFigure(10)", new_cell_id()))
    assert REFERENCE_MIME not in content["data"] and "vfs_ext" not in content["metadata"]
    content = output(
        k.execute("%%vfs --threshold 1KB\nJSON({'x': [float('nan')] * 1000})", new_cell_id())
    )
    assert "application/json" in content["data"] and REFERENCE_MIME not in content["data"]


def test_no_reference_where_an_inline_payload_outranks_it(k: Kernel, server: RunningServer) -> None:
    """Small HTML stays inline next to a large PNG: JupyterLab shows the HTML, so a reference
    (ranked above it) would put the image in its place."""
    k.execute(
        "class Both:\n"
        "    def _repr_mimebundle_(self, include=None, exclude=None):\n"
        "        return {'image/png': png(300, 300), 'text/html': '<b>hi</b>', 'text/plain': 'b'}"
    )
    content = output(k.execute("%%vfs --threshold 10KB\nBoth()", new_cell_id()))
    assert content["data"]["text/html"] == "<b>hi</b>"
    assert REFERENCE_MIME not in content["data"]
    assert content["metadata"]["vfs_ext"]["mime"] == "image/png"


def test_a_large_text_plain_goes_with_the_payload(k: Kernel, server: RunningServer) -> None:
    """A DataFrame of many rows has a text repr as large as its HTML: it does not stay."""
    k.execute(
        "class Table:\n"
        "    def _repr_mimebundle_(self, include=None, exclude=None):\n"
        "        return {'text/html': '<table>' + '<tr><td>1</td></tr>' * 20_000 + '</table>',\n"
        "                'text/plain': '1\\n' * 200_000}"
    )
    content = output(k.execute("%%vfs --threshold 100KB\nTable()", new_cell_id()))
    assert content["data"]["text/plain"].startswith("<text/html, ")
    assert len(json.dumps(content)) < 2048


def test_helpers_carry_the_reference(k: Kernel, server: RunningServer) -> None:
    """``vfs_ext.image`` / ``video`` outputs carry it too, with their attributes."""
    k.execute("import vfs_ext")
    content = output(k.execute('vfs_ext.image(png(64, 32), alt="tiny", width=128)', new_cell_id()))
    ref = content["data"][REFERENCE_MIME]
    assert (ref["mime"], ref["alt"], ref["width"]) == ("image/png", "tiny", 128)
    assert ref["dimensions"] == {"width": 64, "height": 32}
    served(server, content)
    content = output(
        k.execute("vfs_ext.video(b'\\x1aE\\xdf\\xa3' + bytes(100), loop=True)", new_cell_id())
    )
    ref = content["data"][REFERENCE_MIME]
    assert ref["mime"] == "video/webm" and ref["metadata"]["loop"] is True
    assert "<video" in content["data"]["text/markdown"]
