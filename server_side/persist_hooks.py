"""Attach persistence (server_side.persist) to a running server's contents manager.

Only a file-based contents manager (``FileContentsManager`` and its subclasses, including the
default ``AsyncLargeFileManager``) has folders to keep a sidecar in; with any other one,
persistence is skipped with one log line at start, and ``api/vfs`` says why.
"""

from __future__ import annotations

import logging
from typing import Any

from jupyter_server.services.contents.filemanager import FileContentsManager

from vfs_ext.persist_status import write_status
from vfs_ext.store import Store

from .persist import Persistence
from .persist_events import CONTENTS_EVENTS

log = logging.getLogger("vfs_ext")


def attach(
    serverapp: Any,
    store: Store,
    *,
    enabled: bool,
    max_notebook_bytes: int | None,
    log: logging.Logger | logging.LoggerAdapter[Any] = log,
) -> tuple[Persistence | None, str | None]:
    """(persistence, None) once hooked into the server, or (None, why it is off)."""
    cm = serverapp.contents_manager
    if not enabled:
        return _off(store, "VirtualFiles.persist is off")
    if not isinstance(cm, FileContentsManager):
        reason = (
            f"the contents manager {type(cm).__name__} is not file-based: saved notebooks keep"
            " no virtual outputs (they show only while their kernel runs)"
        )
        log.warning("vfs_ext: %s", reason)
        return _off(store, reason)
    persistence = Persistence(store, cm._get_os_path, max_notebook_bytes=max_notebook_bytes)
    persistence.publish_status()
    cm.register_pre_save_hook(persistence.pre_save)
    cm.register_post_save_hook(persistence.post_save)
    serverapp.event_logger.add_listener(
        schema_id=CONTENTS_EVENTS, listener=persistence.on_contents_event
    )
    return persistence, None


def _off(store: Store, reason: str) -> tuple[None, str]:
    """Off: the kernels' %vfs stats says why."""
    try:
        write_status(store.events_root, {"enabled": False, "reason": reason})
    except OSError:
        pass
    return None, reason


def report(persistence: Persistence | None, reason: str | None) -> dict[str, Any]:
    """The ``persist`` section of ``api/vfs``."""
    if persistence is None:
        return {"enabled": False, "reason": reason}
    return persistence.report()
