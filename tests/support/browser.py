"""Setting up browser tests: private JupyterLab settings, notebooks to open, screenshots.

Screenshots go to ``test-artifacts/browser/`` (one per scenario, plus one for every failure).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from . import REPO

ARTIFACTS = REPO / "test-artifacts" / "browser"

#: JupyterLab / Notebook 7 user settings for a private settings dir: no news pop-up over the
#: notebook, and every cell kept in the DOM (windowing would detach off-screen outputs).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return ARTIFACTS / safe


def write_notebook(path: Path, sources: list[str]) -> None:
    nb = new_notebook(
        cells=[new_code_cell(src) for src in sources],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        },
    )
    nbformat.write(nb, path)


def jupyter_env(base: Path, lab_settings: Mapping[str, Any] = LAB_SETTINGS) -> dict[str, str]:
    """Private JupyterLab settings and data dirs (notebook signatures live in the data dir)."""
    settings = base / "lab-settings"
    for rel, value in lab_settings.items():
        path = settings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    data = base / "data"
    data.mkdir(parents=True, exist_ok=True)
    return {
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
        "JUPYTER_DATA_DIR": str(data),
    }
