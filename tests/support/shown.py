"""What the tests of kernel_side.shown share: kernel code that draws distinct frames, and what
became of the file of each output a cell showed."""

from __future__ import annotations

from tests.support.kernels import Execution
from tests.support.server import RunningServer

#: Run once in the module's kernel: ``frame(seed)`` is a 64 KiB image, different every call.
FRAMES = """
import os
from IPython.display import Image, clear_output, display
import vfs_ext
import vfs_ext.retire
import ipywidgets
from kernel_side.extension import current_session as _cs
import kernel_side.shown as _shown

def frame(seed):  # a PNG signature and random bytes: served as image/png, never decoded
    return b"\\x89PNG\\r\\n\\x1a\\n" + os.urandom(64 * 1024) + bytes([seed % 256])
"""

VFS = "%%vfs --threshold 10KB\n"


def urls(execution: Execution, *types: str) -> list[str]:
    """The virtual file of each output that has one (a widget's own view has none)."""
    messages = execution.outputs(*(types or ("display_data",)))
    records = (m["content"]["metadata"].get("vfs_ext") for m in messages)
    return [r["url"] for r in records if r]


def statuses(server: RunningServer, execution: Execution) -> list[int]:
    """The HTTP status of each output's file: 200 still served, 404 released."""
    return [server.fetch(url)[0] for url in urls(execution)]
