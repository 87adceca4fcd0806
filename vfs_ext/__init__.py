"""vfs_ext: large Jupyter outputs as virtual files served by URL instead of base64 over iopub.

This package is the shared core (names, tiers, writing, lookup, cleanup, configuration) and the
public face: ``%load_ext vfs_ext`` (kernel_side), ``jpserver_extensions: vfs_ext`` (server_side)
and ``vfs_ext.vfile/image/video/audio/pdf/download`` (kernel_side, imported on first use).
"""

from __future__ import annotations

from typing import Any

from .config import StoreConfig, TierSpec, format_size, parse_size
from .errors import SourceError, VirtualFileError
from .names import NAME_PATTERN, is_valid_name
from .stats import StoreStats
from .store import Store, SweepReport
from .tiers import FileInfo

__version__ = "0.1.0"

__all__ = [
    "NAME_PATTERN",
    "FileInfo",
    "SourceError",
    "Store",
    "StoreConfig",
    "StoreStats",
    "SweepReport",
    "TierSpec",
    "VirtualFileError",
    "__version__",
    "audio",
    "download",
    "format_size",
    "image",
    "is_valid_name",
    "parse_size",
    "pdf",
    "vfile",
    "video",
]

_KERNEL_API = {"vfile", "image", "video", "audio", "pdf", "download", "VirtualFile"}


def __getattr__(name: str) -> Any:
    """Re-export the kernel-side API lazily, so the server never imports IPython machinery."""
    if name in _KERNEL_API:
        from kernel_side import api

        return getattr(api, name)
    raise AttributeError(f"module 'vfs_ext' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext vfs_ext``."""
    from kernel_side.extension import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext vfs_ext``."""
    from kernel_side.extension import unload

    unload(ipython)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """``jpserver_extensions: vfs_ext`` loads the server side."""
    from server_side.app import VirtualFiles

    return [{"module": "vfs_ext", "app": VirtualFiles}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The prebuilt JupyterLab extension (labextension/), for ``jupyter labextension develop``;
    the wheel installs it under share/jupyter/labextensions/vfs-ext."""
    return [{"src": "labextension", "dest": "vfs-ext"}]
