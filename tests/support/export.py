"""Self-contained copies as a user makes them once the kernel is gone: a notebook of a kernel's
real outputs, then ``jupyter vfs inline`` and ``jupyter nbconvert --to html`` run as commands
with no vfs_ext server in their environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, output_from_msg

from tests.support.kernels import Kernel

VENV_BIN = Path(sys.executable).parent


def run_cells(kernel: Kernel, sources: list[str]) -> dict:
    """A notebook of ``sources`` with the outputs the kernel produced for them."""
    cells = []
    for source in sources:
        execution = kernel.execute(source)
        outputs = [output_from_msg(m) for m in execution.outputs("display_data", "execute_result")]
        cells.append(new_code_cell(source, outputs=outputs))
    return nbformat.validator.normalize(new_notebook(cells=cells))[1]


def no_server_env() -> dict[str, str]:
    """This environment without what a server exports to its kernels: the commands must find
    the files beside the notebook, not in a store."""
    return {k: v for k, v in os.environ.items() if not k.startswith("VFS_EXT_")}


def _run(args: list[str | Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, env=no_server_env(), capture_output=True, text=True, timeout=300, check=True
    )


def vfs_inline(notebook: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """``jupyter vfs inline notebook -o out``; its warnings are in ``stderr``."""
    return _run([VENV_BIN / "jupyter-vfs", "inline", notebook, "-o", out])


def nbconvert_html(
    notebook: Path, output_dir: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``jupyter nbconvert --to html``: the page is written beside the notebook, or in
    ``output_dir``."""
    where: list[str | Path] = [] if output_dir is None else ["--output-dir", output_dir]
    return _run([VENV_BIN / "jupyter-nbconvert", "--to", "html", notebook, *where])
