"""The prebuilt JupyterLab extension is installed with the package and enabled."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest


def test_jupyter_labextension_list_shows_it_enabled() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)  # its colours
    assert re.search(r"vfs-ext v\S+ enabled\s+OK \(python, vfs-ext\)", text), text


def test_installed_where_jupyterlab_looks_with_install_json() -> None:
    from jupyter_core.paths import jupyter_path

    found = [
        Path(d, "vfs-ext") for d in jupyter_path("labextensions") if Path(d, "vfs-ext").is_dir()
    ]
    if not found:
        pytest.fail(f"vfs-ext in none of {jupyter_path('labextensions')}")
    ext = found[0]
    assert json.loads((ext / "install.json").read_text())["packageName"] == "vfs-ext"
    assert json.loads((ext / "package.json").read_text())["jupyterlab"]["_build"]["load"]
    assert (ext / "static" / "style.js").is_file()
