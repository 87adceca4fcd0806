"""Bokeh's notebook output by URL: the scripts stay, their large contents move to virtual files.

``output_notebook()`` publishes BokehJS itself (``application/javascript`` for the classic
notebook and ``application/vnd.bokehjs_load.v0+json`` for jupyter_bokeh, ~3.9 MB each with
``INLINE`` resources), and ``show(p)`` a script holding the whole document (``docs_json``, 10 MB
for 500k points) next to ``application/vnd.bokehjs_exec.v0+json``, whose metadata ties the plot
to its root ``<div>`` (published just before) and to a comm for ``push_notebook``. Whatever runs
these scripts in the page (jupyter_bokeh's renderers, JupyterLab's JavaScript renderer, the
classic notebook) must still get a script, so the reference type cannot stand in for them:

- BokehJS moves to a ``.js`` file that a small script loads with ``<script src>`` (the same
  global scope as the inline script);
- a document's ``docs_json`` moves to a ``.json`` file that a small script fetches before it
  calls ``Bokeh.embed.embed_items_notebook`` as bokeh's own script does; the render items
  (root elements, the comm's target) stay in the script, so ``push_notebook`` still works.

Both scripts build the URL from the page's base URL (``jupyter-config-data`` in JupyterLab and
Notebook 7, ``data-base-url`` in the classic notebook), with the kernel's URL as a fallback; a
document whose file is gone says so in its root element instead of an empty plot.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from vfs_ext.config import format_size

JS_MIME = "application/javascript"
LOAD_MIME = "application/vnd.bokehjs_load.v0+json"
EXEC_MIME = "application/vnd.bokehjs_exec.v0+json"

#: Stores bytes under an extension; returns the record (name, url, mime, size).
StoreFile = Callable[[bytes, str], dict[str, Any]]

# bokeh's DOC_NB_JS template (bokeh/core/_templates/doc_nb_js.js.jinja, unchanged from 2.x to 3.9).
_DOCS_START = "const docs_json = "
_ITEMS_START = ";\n  const render_items = "
_ITEMS_END = ";\n  void root.Bokeh.embed.embed_items_notebook(docs_json, render_items);"

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

_LOAD_JS = (
    """\
(function() {
  // vfs_ext: BokehJS (%(size)s) is the virtual file %(name)s, loaded by URL.
"""
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
    """\
(function(root) {
  // vfs_ext: this Bokeh document (%(size)s) is the virtual file %(name)s, fetched by URL.
"""
    + _FILE_URL_JS
    + """\
  const render_items = %(render_items)s;
  function say(text) {
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
        console.log("Bokeh: ERROR: Unable to run BokehJS code because BokehJS library is missing");
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


def externalize_script(
    mime: str, data: Mapping[str, Any], metadata: Mapping[str, Any], store: StoreFile
) -> str | None:
    """The small script that stands for ``data[mime]``, its contents stored with ``store``;
    None when the script is not one bokeh writes (it then stays inline: moved as a whole, no
    frontend would run it)."""
    script = data[mime]
    if not isinstance(script, str):
        return None
    if mime == LOAD_MIME or LOAD_MIME in data:
        return _loader(_LOAD_JS, store(script.encode("utf-8"), "js"))
    exec_md = metadata.get(EXEC_MIME)
    if not (isinstance(exec_md, Mapping) and "id" in exec_md):
        return None  # a server app's script (``show(app)``) is small and has no document
    parts = split_document(script)
    if parts is None:
        return None
    docs_json, render_items = parts
    return _loader(_DOC_JS, store(docs_json.encode("utf-8"), "json"), render_items)


def split_document(script: str) -> tuple[str, str] | None:
    """``(docs_json, render_items)`` of a document script bokeh's template wrote, as JSON
    text, or None for any other script."""
    start = script.find(_DOCS_START)
    middle = script.rfind(_ITEMS_START)
    end = script.rfind(_ITEMS_END)
    if start < 0 or not start + len(_DOCS_START) < middle < end:
        return None
    docs_json = script[start + len(_DOCS_START) : middle]
    render_items = script[middle + len(_ITEMS_START) : end]
    try:
        items = json.loads(render_items)
    except ValueError:
        return None
    if not (docs_json.startswith("{") and docs_json.endswith("}") and isinstance(items, list)):
        return None
    return docs_json, render_items


def _loader(template: str, rec: Mapping[str, Any], render_items: str = "[]") -> str:
    return template % {
        "name": rec["name"],
        "size": format_size(rec["size"]),
        "name_js": json.dumps(rec["name"]),
        "url_js": json.dumps(rec["url"]),
        "render_items": render_items,
    }
