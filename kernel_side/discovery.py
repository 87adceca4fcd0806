"""Find the server that serves this kernel's virtual files, or decide there is none.

The server extension exports its store configuration into ``os.environ`` and every kernel it
starts inherits it, with ``JPY_PARENT_PID`` set to the server's pid. Everything else the server
starts inherits it too: terminals, ``!`` commands, and so the kernels that nbclient, nbconvert
or papermill start from there. Their ``JPY_PARENT_PID`` is that tool's pid, so the environment
counts only when its ``VFS_EXT_SERVER_PID`` is our ``JPY_PARENT_PID``; otherwise, and for
launchers that replace the environment, the record the server whose pid is ``JPY_PARENT_PID``
published in Jupyter's runtime dir decides. Without either there is no server and outputs stay
inline: a notebook saved with links that die with the tool's kernel is worse than a large one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from vfs_ext.config import StoreConfig, read_server_record

log = logging.getLogger("vfs_ext")


def discover_config(environ: Mapping[str, str] | None = None) -> StoreConfig | None:
    """The store configuration of the server that started this kernel, or None."""
    env = os.environ if environ is None else environ
    parent = env.get("JPY_PARENT_PID", "")
    config = _inherited_config(env)
    if config is not None and parent.isdigit() and config.server_pid == int(parent):
        return config
    if not parent.isdigit():
        return None
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        return read_server_record(
            env.get("JUPYTER_RUNTIME_DIR") or jupyter_runtime_dir(), int(parent)
        )
    except Exception as exc:  # an unreadable runtime dir or record means "no server"
        log.warning("vfs_ext: no usable server record for pid %s: %s", parent, exc)
        return None


def _inherited_config(env: Mapping[str, str]) -> StoreConfig | None:
    """The configuration some server exported into the environment this process inherited."""
    try:
        return StoreConfig.from_env(env)
    except ValueError as exc:
        log.warning("vfs_ext: ignoring the server's configuration: %s", exc)
        return None
