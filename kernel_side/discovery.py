"""Find the server that serves this kernel's virtual files, or decide there is none.

The server extension exports its store configuration into ``os.environ`` and every kernel it
starts inherits it. Kernels started otherwise (a restarted server's adopted kernels, some
launchers) get a second chance: the server whose pid is ``JPY_PARENT_PID``, if its server info
file carries a ``vfs_ext`` record of the same variables. Without either there is no server and
outputs stay inline: a broken output is worse than a large one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

from vfs_ext.config import StoreConfig

log = logging.getLogger("vfs_ext")

#: Key of the (optional) store record in a server info file: the same variables as the env.
SERVER_INFO_KEY = "vfs_ext"


def discover_config(environ: Mapping[str, str] | None = None) -> StoreConfig | None:
    """The store configuration from the environment, else from the parent server's info file."""
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
        from jupyter_server.serverapp import list_running_servers

        return config_from_server_info(list_running_servers(), int(parent))
    except Exception as exc:  # a missing or unreadable runtime dir means "no server"
        log.debug("vfs_ext: no server found through JPY_PARENT_PID: %s", exc)
        return None


def config_from_server_info(servers: Iterable[Mapping[str, Any]], pid: int) -> StoreConfig | None:
    """The store record of the running server with this pid, if it published one."""
    for info in servers:
        if info.get("pid") == pid:
            record = info.get(SERVER_INFO_KEY)
            if isinstance(record, Mapping):
                try:
                    return StoreConfig.from_env({str(k): str(v) for k, v in record.items()})
                except ValueError as exc:
                    log.warning("vfs_ext: ignoring server %s's record: %s", pid, exc)
            return None
    return None
