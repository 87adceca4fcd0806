"""Persistence follows the contents service's events, on a thread, and lets requests wait.

jupyter_server emits an event after every contents action. A notebook being read names the
sidecar files its outputs show (they are indexed), a deleted one frees its files, a notebook
moved or copied to another folder takes its files along. Each reaction reads or writes files, so
it runs on a thread, never on the event loop; a request for a name no tier holds waits
(boundedly) for those in flight, since the notebook naming it may be the one just being read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from .saved import NOTEBOOK_SUFFIX

log = logging.getLogger("vfs_ext")

#: jupyter_server emits this after every contents action (get, save, delete, rename, copy).
CONTENTS_EVENTS = "https://events.jupyter.org/jupyter_server/contents_service/v1"
#: How long a request for an unknown name waits for notebooks being read to be indexed.
LEARN_WAIT_S = 10.0


class ContentsActions(Protocol):
    """What persistence does after a contents action (API paths, run on a thread)."""

    def learn(self, path: str) -> None: ...
    def deleted(self, path: str) -> None: ...
    def carried(self, source: str, path: str, *, moved: bool) -> None: ...


class Follower:
    """Runs the reactions to contents events and knows which are still running."""

    def __init__(self, actions: ContentsActions) -> None:
        self.actions = actions
        self._pending: set[asyncio.Future[Any]] = set()

    async def follow(self, data: dict[str, Any]) -> None:
        """React to one event's data; a failure is logged, never raised into the emitter."""
        job = _job(self.actions, data)
        if job is None:
            return
        future = asyncio.ensure_future(asyncio.to_thread(job))
        self._pending.add(future)
        try:
            await future
        except Exception:
            log.exception(
                "vfs_ext: could not follow contents %s of %s", data.get("action"), data.get("path")
            )
        finally:
            self._pending.discard(future)

    async def settled(self) -> None:
        """Wait (boundedly) for the reactions running: a notebook just read is indexed, a
        notebook just deleted has freed its files."""
        await asyncio.sleep(0)  # listeners of an event emitted just now start first
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=LEARN_WAIT_S)


def _job(actions: ContentsActions, data: dict[str, Any]) -> Callable[[], None] | None:
    """The reaction to a contents event, or None for one that changes nothing we keep."""
    action, path, source = data.get("action"), data.get("path"), data.get("source_path")
    if not isinstance(path, str):
        return None
    if action == "get" and path.endswith(NOTEBOOK_SUFFIX):
        return lambda: actions.learn(path)
    if action == "delete":
        return lambda: actions.deleted(path)
    if action in ("rename", "copy") and isinstance(source, str):
        return lambda: actions.carried(source, path, moved=action == "rename")
    return None
