"""An nbconvert preprocessor: every exporter gets virtual outputs back as their MIME bundles.

Enabled for ``jupyter nbconvert`` by ``etc/jupyter/jupyter_nbconvert_config.json``, installed
with the package (nbconvert reads no ``jupyter_nbconvert_config.d/``: checked with 7.17), and
for jupyter_server's ``/nbconvert/`` handler (JupyterLab's "Save and Export Notebook As") by the
server extension, which builds exporters with the server's own config. So an exported HTML page
shows every image offline. See server_side.export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbconvert.preprocessors import Preprocessor
from traitlets import Int

from .export import DEFAULT_MAX_LINK_SIZE, Sources, inline_notebook, live_stores


class InlineVirtualFiles(Preprocessor):
    """Restore virtual outputs from the notebook's sidecar or a running server's tiers."""

    max_link_size = Int(
        DEFAULT_MAX_LINK_SIZE,
        help="""Largest virtual file (bytes) a link or media element gets inline as a data: URL;
        larger ones stay links to the server.""",
    ).tag(config=True)

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        folder = (resources.get("metadata") or {}).get("path")
        sources = Sources(Path(folder) if folder else None, live_stores())
        for warning in inline_notebook(nb, sources, self.max_link_size):
            self.log.warning(warning)
        return nb, resources
