"""``GET {base_url}api/vfs``: what the tiers hold, for whom, and what went wrong since start."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from vfs_ext.names import owner_key
from vfs_ext.stats import Usage

from . import persist_hooks

if TYPE_CHECKING:
    from .app import VirtualFiles

ROUTE = r"/api/vfs"


async def build_report(app: VirtualFiles) -> dict[str, Any]:
    """The store's stats, with owner keys mapped back to the kernels and sessions they serve."""
    store = app.store
    if app.persistence is not None:
        await app.persistence.settled()  # report what the contents actions just done left
    stats = await app.usage.fresh()  # counted on a worker thread: not on the event loop
    serverapp = app.server
    kernels = {owner_key(k): k for k in serverapp.kernel_manager.list_kernel_ids()}
    sessions_of: dict[str, list[dict[str, Any]]] = {}
    for session in await serverapp.session_manager.list_sessions():
        kernel_id = (session.get("kernel") or {}).get("id")
        if kernel_id:
            sessions_of.setdefault(kernel_id, []).append(
                {k: session.get(k) for k in ("id", "name", "path", "type")}
            )
    owners = []
    for key in sorted(set(stats.owners) | set(kernels)):
        kernel_id = kernels.get(key)
        usage = stats.owners.get(key, Usage())
        owners.append(
            {
                "owner": key,
                "kernel_id": kernel_id,
                "sessions": sessions_of.get(kernel_id, []) if kernel_id else [],
                "files": usage.files,
                "bytes": usage.bytes,
            }
        )
    return {
        "namespace": stats.namespace,
        "base_url": store.config.base_url,
        "tiers": [asdict(t) for t in stats.tiers],
        "refused": stats.refused,
        "warnings": list(app.warnings),
        "owners": owners,
        "events": asdict(stats.events),
        "recent_events": stats.recent_events,
        "persist": await asyncio.to_thread(persist_hooks.report, app.persistence, app.persist_off),
        **app.counters.report(),
        "settings": {
            "threshold": store.config.threshold,
            "max_file_size": store.config.max_file_size,
            "sweep_interval": app.sweep_interval,
            "chunk_size": app.chunk_size,
            "persist": app.persist,
            "persist_max_bytes": app.persist_max_bytes,
        },
    }


class VirtualFilesStatsHandler(APIHandler):
    """Admin view as JSON; ``server`` permission, because it shows paths and every session."""

    auth_resource = "server"

    def initialize(self, app: VirtualFiles) -> None:
        self.vfs_app = app

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(await build_report(self.vfs_app)))
