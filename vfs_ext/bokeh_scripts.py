"""Bokeh's notebook scripts and the small scripts that load their contents by URL.

One home for the shapes of these scripts, because both sides need them: the kernel
(kernel_side.bokeh) takes bokeh's scripts apart and writes the loaders; an export
(server_side.export_bokeh) reads a loader back and writes bokeh's own script again, with the
contents inline, so an exported page draws the plot with no server.

- ``output_notebook()`` publishes BokehJS as ``application/javascript`` and
  ``application/vnd.bokehjs_load.v0+json``; its loader adds a ``<script src>``.
- ``show(p)`` publishes ``application/javascript`` (bokeh's ``DOC_NB_JS`` template, holding
  ``docs_json``) next to ``application/vnd.bokehjs_exec.v0+json``; its loader fetches
  ``docs_json`` and keeps the render items.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vfs_ext.config import format_size

JS_MIME = "application/javascript"
LOAD_MIME = "application/vnd.bokehjs_load.v0+json"
EXEC_MIME = "application/vnd.bokehjs_exec.v0+json"

#: What bokeh's scripts log when BokehJS never came.
_NO_BOKEHJS = (
    'console.log("Bokeh: ERROR: Unable to run BokehJS code because BokehJS library is missing");'
)

# bokeh's DOC_NB_JS template (bokeh/core/_templates/doc_nb_js.js.jinja inside try_run.js.jinja),
# as bokeh 3.x renders it; the three markers are unchanged from 2.x to 3.9.
DOCS_START = "const docs_json = "
ITEMS_START = ";\n  const render_items = "
ITEMS_END = ";\n  void root.Bokeh.embed.embed_items_notebook(docs_json, render_items);"
_DOC_NB_JS = (
    "(function(root) {\n  function embed_document(root) {\n  "
    + DOCS_START
    + "%(docs_json)s"
    + ITEMS_START
    + "%(render_items)s"
    + ITEMS_END
    + """
  }
  if (root.Bokeh !== undefined) {
    embed_document(root);
  } else {
    let attempts = 0;
    const timer = setInterval(function(root) {
      if (root.Bokeh !== undefined) {
        clearInterval(timer);
        embed_document(root);
      } else {
        attempts++;
        if (attempts > 100) {
          clearInterval(timer);
          """
    + _NO_BOKEHJS
    + """
        }
      }
    }, 10, root)
  }
})(window);"""
)

#: The page's base URL (JupyterLab / Notebook 7, then the classic notebook), else the kernel's.
_FILE_URL_JS = """\
  function fileUrl(name, kernelUrl) {
    let base = null;
    const config = document.getElementById("jupyter-config-data");
    try { base = config ? JSON.parse(config.textContent).baseUrl : null; } catch (e) {}
    base = base || (document.body && document.body.dataset.baseUrl);
    return base ? base.replace(/\\/?$/, "/") + "@file/" + name : kernelUrl;
  }
"""

_LOAD_MARK = "  // vfs_ext: BokehJS ("
_DOC_MARK = "  // vfs_ext: this Bokeh document ("
_LOADER_ITEMS_START = "\n  const render_items = "
_LOADER_ITEMS_END = ";\n  function say(text) {"
#: The file a loader loads: the first argument of its ``fileUrl`` call (a JSON string).
_LOADED_NAME = re.compile(r'fileUrl\(("[^"\\]*"), ')

_LOAD_JS = (
    "(function() {\n"
    + _LOAD_MARK
    + "%(size)s) is the virtual file %(name)s, loaded by URL.\n"
    + _FILE_URL_JS
    + """\
  const script = document.createElement("script");
  script.src = fileUrl(%(name_js)s, %(url_js)s);
  script.async = false;
  script.onerror = () => console.error(
    "vfs_ext: BokehJS could not be loaded from " + script.src + ": run output_notebook() again");
  document.head.appendChild(script);
})();
"""
)

_DOC_JS = (
    "(function(root) {\n"
    + _DOC_MARK
    + "%(size)s) is the virtual file %(name)s, fetched by URL.\n"
    + _FILE_URL_JS
    + _LOADER_ITEMS_START[1:]
    + "%(render_items)s"
    + _LOADER_ITEMS_END
    + """
    for (const item of render_items) {
      for (const id of Object.values(item.roots || {})) {
        const el = document.getElementById(id);
        if (el) { el.textContent = text; }
      }
    }
  }
  function embed(docs_json) {
    let attempts = 0;
    const timer = setInterval(function() {
      if (root.Bokeh !== undefined) {
        clearInterval(timer);
        void root.Bokeh.embed.embed_items_notebook(docs_json, render_items);
      } else if (++attempts > 1000) {
        clearInterval(timer);
        """
    + _NO_BOKEHJS
    + """
      }
    }, 10);
  }
  fetch(fileUrl(%(name_js)s, %(url_js)s), {credentials: "same-origin"})
    .then(response => {
      if (response.ok) { return response.json().then(embed); }
      say(response.status === 404 || response.status === 410
        ? "This Bokeh plot (%(size)s) is no longer available: its file is gone (the kernel "
          + "that wrote it stopped, or the cell was re-run). Re-run the cell to show it again."
        : "This Bokeh plot (%(size)s) could not be loaded (HTTP " + response.status
          + "). Re-run the cell to show it again.");
    })
    .catch(err => say("This Bokeh plot (%(size)s) could not be loaded: " + err));
})(window);
"""
)


def is_script(mime: str, data: Mapping[str, Any]) -> bool:
    """Whether ``data[mime]`` is one of bokeh's scripts: BokehJS (both types of the load
    bundle) or a document next to the exec type."""
    return mime == LOAD_MIME or (mime == JS_MIME and (LOAD_MIME in data or EXEC_MIME in data))


def split_document(script: str) -> tuple[str, str] | None:
    """``(docs_json, render_items)`` of a document script bokeh's template wrote, as JSON
    text, or None for any other script."""
    start = script.find(DOCS_START)
    middle = script.rfind(ITEMS_START)
    end = script.rfind(ITEMS_END)
    if start < 0 or not start + len(DOCS_START) < middle < end:
        return None
    docs_json = script[start + len(DOCS_START) : middle]
    render_items = script[middle + len(ITEMS_START) : end]
    if not (_json_list(render_items) and docs_json.startswith("{") and docs_json.endswith("}")):
        return None
    return docs_json, render_items


def document_script(docs_json: str, render_items: str) -> str:
    """The script bokeh's ``show(p)`` writes for a document: ``docs_json`` inline."""
    return _DOC_NB_JS % {"docs_json": docs_json, "render_items": render_items}


def bokehjs_loader(rec: Mapping[str, Any]) -> str:
    """The script that loads BokehJS from the virtual file ``rec`` with ``<script src>``."""
    return _LOAD_JS % _fields(rec)


def document_loader(rec: Mapping[str, Any], render_items: str) -> str:
    """The script that fetches ``docs_json`` from the virtual file ``rec`` and embeds it."""
    return _DOC_JS % {**_fields(rec), "render_items": render_items}


@dataclass(frozen=True)
class Loader:
    """What a loader script (``bokehjs_loader`` or ``document_loader``) stands for."""

    name: str
    #: The document's render items (JSON text); None for BokehJS.
    render_items: str | None

    def restore(self, contents: str) -> str:
        """Bokeh's own script again, ``contents`` (the virtual file's text) inline."""
        if self.render_items is None:
            return contents
        return document_script(contents, self.render_items)


def parse_loader(script: object) -> Loader | None:
    """The file and render items of a loader script this module wrote, else None."""
    if not isinstance(script, str):
        return None
    name = _LOADED_NAME.search(script)
    if name is None:
        return None
    if script.startswith(f"(function() {{\n{_LOAD_MARK}"):
        return Loader(json.loads(name[1]), None)
    if not script.startswith(f"(function(root) {{\n{_DOC_MARK}"):
        return None
    start = script.find(_LOADER_ITEMS_START)
    end = script.find(_LOADER_ITEMS_END, start)
    items = script[start + len(_LOADER_ITEMS_START) : end]
    if start < 0 or end < 0 or not _json_list(items):
        return None
    return Loader(json.loads(name[1]), items)


def _json_list(text: str) -> bool:
    try:
        return isinstance(json.loads(text), list)
    except ValueError:
        return False


def _fields(rec: Mapping[str, Any]) -> dict[str, str]:
    return {
        "name": rec["name"],
        "size": format_size(rec["size"]),
        "name_js": json.dumps(rec["name"]),
        "url_js": json.dumps(rec["url"]),
    }
