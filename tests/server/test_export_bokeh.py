"""Bokeh outputs by URL in self-contained copies: once the kernel is gone, ``jupyter vfs inline``
and ``jupyter nbconvert`` put back exactly the scripts bokeh wrote (BokehJS and the document's
``docs_json`` inline, from the sidecar), and say so where a document's file is kept nowhere."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import pytest

from tests.support.export import nbconvert_html, run_cells, vfs_inline
from tests.support.kernels import shutdown_kernel, start_kernel
from tests.support.server import RunningServer
from vfs_ext.bokeh_scripts import EXEC_MIME, JS_MIME, LOAD_MIME, split_document

pytest.importorskip("bokeh", reason="the test extra installs bokeh")

SETUP = """\
%load_ext vfs_ext
import hashlib
import numpy as np
from bokeh.embed.notebook import notebook_content
from bokeh.io import output_notebook
from bokeh.io.notebook import publish_display_data
from bokeh.plotting import figure
from bokeh.resources import INLINE

def plot(n, seed):
    rng = np.random.default_rng(seed)
    p = figure()
    p.scatter(rng.random(n), rng.random(n))
    return p

def show_kept(p):
    # What show(p) publishes (bokeh.io.notebook.show_doc), its script kept to compare with.
    global script
    script, div, _ = notebook_content(p)
    publish_display_data({"text/html": div})
    publish_display_data({JS: script, EXEC: ""}, metadata={EXEC: {"id": p.id}})
"""
#: BokehJS with no banner is the same script every time: once by URL, once inline.
LOAD_BY_URL = "%%vfs --threshold 100KB\noutput_notebook(INLINE, hide_banner=True)"
LOAD_INLINE = "output_notebook(INLINE, hide_banner=True)"
DOCUMENT = "%%vfs --threshold 100KB\nshow_kept(plot(50_000, 1))"
GONE = "%%vfs --threshold 100KB\nshow_kept(plot(50_000, 2))"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def saved(server: RunningServer) -> dict:
    """A notebook with BokehJS and a 50k-point plot by URL saved through the server, then its
    kernel shut down; a copy has one more plot, shown after the save, so kept nowhere."""
    kernel = start_kernel(server)
    try:
        kernel.execute(SETUP + f"JS, EXEC = {JS_MIME!r}, {EXEC_MIME!r}")
        notebook = run_cells(kernel, [LOAD_BY_URL, LOAD_INLINE, DOCUMENT])
        document = kernel.value("script")
        (server.root_dir / "bokeh").mkdir()
        server.api("PUT", "api/contents/bokeh/nb.ipynb", {"type": "notebook", "content": notebook})
        saved = nbformat.read(server.root_dir / "bokeh/nb.ipynb", as_version=4)
        with_gone = nbformat.from_dict(json.loads(json.dumps(saved)))
        with_gone.cells += nbformat.from_dict(run_cells(kernel, [GONE])["cells"])
        nbformat.write(with_gone, server.root_dir / "bokeh/with-gone.ipynb")
    finally:
        shutdown_kernel(server, kernel)
    return {"path": server.root_dir / "bokeh", "notebook": saved, "document": document}


def test_the_saved_notebook_loads_bokeh_by_url(saved: dict) -> None:
    """The premise: BokehJS and the document are small loaders in the saved notebook."""
    (load,) = saved["notebook"]["cells"][0]["outputs"]
    _, doc = saved["notebook"]["cells"][2]["outputs"]
    assert all("@file/" in load["data"][mime] for mime in (JS_MIME, LOAD_MIME))
    assert "@file/" in doc["data"][JS_MIME] and split_document(doc["data"][JS_MIME]) is None
    assert len(json.dumps(load)) + len(json.dumps(doc)) < 16 * 1024


def test_jupyter_vfs_inline_puts_back_what_bokeh_wrote(saved: dict) -> None:
    out = saved["path"] / "out.ipynb"
    done = vfs_inline(saved["path"] / "with-gone.ipynb", out)
    notebook = nbformat.read(out, as_version=4)
    nbformat.validate(notebook)
    (by_url,) = notebook["cells"][0]["outputs"]
    (inline,) = notebook["cells"][1]["outputs"]
    assert by_url["data"] == inline["data"]  # both scripts, byte for byte, and nothing else
    assert len(by_url["data"][JS_MIME]) > 1_000_000
    assert by_url["metadata"] == {}
    _, doc = notebook["cells"][2]["outputs"]
    assert sha256(doc["data"][JS_MIME]) == sha256(saved["document"])
    assert doc["data"] == {JS_MIME: doc["data"][JS_MIME], EXEC_MIME: ""}
    exec_md = saved["notebook"]["cells"][2]["outputs"][1]["metadata"][EXEC_MIME]
    assert doc["metadata"] == {EXEC_MIME: exec_md}
    assert "@file/" not in json.dumps(notebook["cells"][:3])
    # The plot shown after the save was kept nowhere: a note, and a warning.
    _, gone = notebook["cells"][3]["outputs"]
    assert "was not kept with the notebook" in gone["data"]["text/plain"]
    assert JS_MIME not in gone["data"] and "@file/" not in json.dumps(gone)
    (warning,) = [line for line in done.stderr.splitlines() if "found neither" in line]
    assert "application/json" in warning


def test_jupyter_nbconvert_html_carries_the_plot(saved: dict) -> None:
    done = nbconvert_html(saved["path"] / "with-gone.ipynb")
    page = (saved["path"] / "with-gone.html").read_text()
    assert "@file/" not in page
    docs_json, _ = split_document(saved["document"]) or ("", "")
    assert docs_json and docs_json in page
    assert "was not kept with the notebook" in page
    assert "found neither beside the notebook nor in a running server" in done.stderr


def test_without_the_sidecar_each_bokeh_output_becomes_a_note(saved: dict, tmp_path: Path) -> None:
    """The notebook alone (no sidecar beside it, no server): BokehJS and the document become
    notes, never scripts left loading from a server that is not there."""
    nbformat.write(saved["notebook"], tmp_path / "nb.ipynb")
    out = tmp_path / "out.ipynb"
    done = vfs_inline(tmp_path / "nb.ipynb", out)
    notebook = nbformat.read(out, as_version=4)
    (load,) = notebook["cells"][0]["outputs"]
    _, doc = notebook["cells"][2]["outputs"]
    for output in (load, doc):
        assert set(output["data"]) == {"text/plain", "text/html"}
        assert "was not kept with the notebook" in output["data"]["text/plain"]
    assert "@file/" not in json.dumps(notebook)
    assert done.stderr.count("found neither") == 3  # BokehJS's two files and the document
