"""Bokeh in a real kernel behind a real server: with ``%vfs auto on``, BokehJS and a plot's
document leave iopub as virtual files, and small scripts that load them stay in the bundle
for whatever runs bokeh's scripts in the page (kernel_side.bokeh)."""

from __future__ import annotations

import json

import pytest

from tests.support.kernels import NO_GRACE, Kernel, new_cell_id
from tests.support.server import RunningServer
from vfs_ext import bokeh_scripts as bokeh
from vfs_ext.records import REFERENCE_MIME

pytest.importorskip("bokeh", reason="the test extra installs bokeh")

SETUP = (
    NO_GRACE
    + """
import numpy as np
from bokeh.io import output_notebook, show
from bokeh.plotting import figure
from bokeh.resources import INLINE

def plot(n):
    rng = np.random.default_rng(0)
    p = figure(output_backend="webgl")
    p.scatter(rng.random(n), rng.random(n))
    return p
"""
)


def displays(execution) -> list[dict]:
    return [m["content"] for m in execution.outputs() if m["msg_type"] == "display_data"]


def fetch(server: RunningServer, rec: dict) -> bytes:
    status, _, body = server.fetch(rec["url"])
    assert status == 200 and len(body) == rec["size"]
    return body


def test_bokehjs_loads_by_url(k: Kernel, server: RunningServer) -> None:
    """output_notebook(INLINE) publishes BokehJS twice (~3.9 MB each); both scripts become
    loaders of .js files holding exactly what bokeh wrote."""
    out = k.execute("%%vfs --threshold 100KB\noutput_notebook(INLINE)", new_cell_id())
    banner, load = displays(out)
    assert "BokehJS" in banner["data"]["text/html"] and "vfs_ext" not in banner["metadata"]
    data = load["data"]
    assert REFERENCE_MIME not in data
    assert len(json.dumps(load)) < 8192
    record = load["metadata"]["vfs_ext"]
    files = {rec["name"]: rec for rec in [record, *record.get("files", [])]}
    assert len(files) == 2 and all(rec["mime"] == "text/javascript" for rec in files.values())
    for mime in (bokeh.JS_MIME, bokeh.LOAD_MIME):
        (name,) = [n for n in files if n in data[mime]]
        script = fetch(server, files[name]).decode()
        assert "root.Bokeh" in script and len(script) > 1_000_000
        assert "script.src = fileUrl" in data[mime]


def test_a_large_plot_document_is_fetched_by_url(k: Kernel, server: RunningServer) -> None:
    """show(p) of 500k points: the document (~10 MB) is a .json file; the exec bundle keeps its
    type, its metadata (the plot's id) and a script holding the render items."""
    k.execute("output_notebook(INLINE, hide_banner=True)")
    out = k.execute("%%vfs --threshold 100KB\nshow(plot(500_000))", new_cell_id())
    div, doc = displays(out)
    assert "data-root-id" in div["data"]["text/html"]
    data, metadata = doc["data"], doc["metadata"]
    assert data[bokeh.EXEC_MIME] == "" and "id" in metadata[bokeh.EXEC_MIME]
    assert REFERENCE_MIME not in data
    assert len(json.dumps(doc)) < 8192
    record = metadata["vfs_ext"]
    assert record["mime"] == "application/json" and record["size"] > 5_000_000
    docs = json.loads(fetch(server, record))
    (doc_id,) = docs
    assert docs[doc_id]["roots"][0]["name"] == "Figure"
    script = data[bokeh.JS_MIME]
    assert record["name"] in script and "embed_items_notebook" in script
    assert f'"docid": "{doc_id}"' in script or f'"docid":"{doc_id}"' in script
    assert data["text/plain"].startswith("<application/json, ")


def test_small_plots_and_cdn_loads_stay_inline(k: Kernel, server: RunningServer) -> None:
    out = k.execute("%%vfs --threshold 100KB\noutput_notebook()\nshow(plot(100))", new_cell_id())
    for content in displays(out):
        assert "vfs_ext" not in content["metadata"]
    script = displays(out)[-1]["data"][bokeh.JS_MIME]
    assert "const docs_json = {" in script


def test_split_document_refuses_other_scripts() -> None:
    assert bokeh.split_document("console.log(1)") is None
    assert (
        bokeh.split_document(
            "const docs_json = {};\n  const render_items = not json;\n"
            "  void root.Bokeh.embed.embed_items_notebook(docs_json, render_items);"
        )
        is None
    )
    assert bokeh.split_document(
        'const docs_json = {"a":1};\n  const render_items = [{"docid":"a"}];\n'
        "  void root.Bokeh.embed.embed_items_notebook(docs_json, render_items);"
    ) == ('{"a":1}', '[{"docid":"a"}]')


def test_loaders_read_back_as_bokehs_scripts() -> None:
    """What an export reads from the loaders the kernel wrote (server_side.export_bokeh)."""
    name = "a" * 16 + "-doc.json"
    rec = {"name": name, "url": "/user/x/@file/doc.json", "size": 5 << 20}
    items = '[{"docid":"d","roots":{"p1":"e1"}}]'
    js = bokeh.parse_loader(bokeh.bokehjs_loader(rec))
    assert js == bokeh.Loader(name, None) and js.restore("BokehJS") == "BokehJS"
    doc = bokeh.parse_loader(bokeh.document_loader(rec, items))
    assert doc == bokeh.Loader(name, items)
    assert doc.restore('{"d":{}}') == bokeh.document_script('{"d":{}}', items)
    assert bokeh.split_document(doc.restore('{"d":{}}')) == ('{"d":{}}', items)
    broken = bokeh.document_loader(rec, items).replace(items, "[oops")
    for script in ("console.log(1)", None, broken):
        assert bokeh.parse_loader(script) is None
