"""Find the server that serves this kernel's virtual files, or decide there is none.

The server extension exports its store configuration into ``os.environ`` and every kernel it
starts inherits it. Kernels started otherwise (launchers that replace the environment) get a
second chance: the record the server whose pid is ``JPY_PARENT_PID`` published in Jupyter's
runtime dir. Without either there is no server and outputs stay inline: a broken output is worse
than a large one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from vfs_ext.config import StoreConfig, read_server_record

log = logging.getLogger("vfs_ext")


def discover_config(environ: Mapping[str, str] | None = None) -> StoreConfig | None:
    """The store configuration from the environment, else from the parent server's record."""
    env = os.environ if environ is None else environ
    try:
        config = StoreConfig.from_env(env)
    except ValueError as exc:
        log.warning("vfs_ext: ignoring the server's configuration: %s", exc)
        return None
    if config is not None:
        return config
    parent = env.get("JPY_PARENT_PID", "")
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
