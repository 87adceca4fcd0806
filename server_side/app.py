"""The ``vfs_ext`` jupyter-server extension: start-up, routes and cleanup (its settings: traits.py).

Start-up creates this server's namespace in every tier, sweeps what dead servers and kernels left
behind and exports the kernel-facing configuration into ``os.environ`` (kernels inherit it).
While running it releases a kernel's files when the kernel is shut down through the API (not on
restart: outputs stay viewable) and sweeps orphans periodically; on stop it removes its namespace,
also when the process exits without jupyter_server stopping its extensions.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import PeriodicCallback

from vfs_ext.config import (
    ALL_ENV,
    DISK,
    MEMORY,
    TierSpec,
    format_size,
    write_server_record,
)
from vfs_ext.mounts import SHMEM_ENABLED, system_shmem_policy, tmpfs_huge_pages
from vfs_ext.squatting import relocate_memory_tier
from vfs_ext.store import Store

from . import admin, export, handlers, logs, metrics, nodelay, persist_hooks, pins, shm
from .counters import ServerCounters
from .traits import VirtualFilesConfig

if TYPE_CHECKING:
    from jupyter_server.serverapp import ServerApp

#: jupyter_server emits this after every kernel action (start, shutdown, restart, interrupt).
KERNEL_ACTIONS = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"


class VirtualFiles(VirtualFilesConfig, ExtensionApp):
    """Serve kernels' virtual files at ``{base_url}@file/<name>`` and keep the tiers clean."""

    name = "vfs_ext"

    store: Store
    counters: ServerCounters
    _sweeper: PeriodicCallback | None = None
    _sweeping: asyncio.Future[Any] | None = None
    _record: Path | None = None  # the kernel record in the runtime dir, once published
    _pin_on_save: pins.PinOnSave | None = None
    persistence: persist_hooks.Persistence | None = None
    persist_off: str | None = None  # why persistence is off

    # -- start-up ------------------------------------------------------------------------------

    @property
    def server(self) -> ServerApp:
        """The Jupyter server this extension runs in (linked before initialize_settings)."""
        assert self.serverapp is not None, "the extension is not linked to a server yet"
        return self.serverapp

    def tier_specs(self) -> list[TierSpec]:
        """The configured tiers in fall-back order; an empty directory setting disables one.

        ValueError if the two directories overlap: the same directory would hold both tiers'
        namespaces under one name (the server could not lock its own namespace twice).
        """
        specs = []
        if self.memory_dir:
            memory = Path(self.memory_dir).expanduser()
            specs.append(TierSpec(MEMORY, memory, self.memory_budget, self.memory_keep_free))
        if self.disk_dir:
            disk = Path(self.disk_dir).expanduser()
            specs.append(TierSpec(DISK, disk, self.disk_budget, self.disk_keep_free))
        if len(specs) == 2:
            memory, disk = (Path(os.path.abspath(s.path)) for s in specs)
            if memory == disk or memory in disk.parents or disk in memory.parents:
                raise ValueError(
                    f"VirtualFiles.memory_dir ({memory}) and VirtualFiles.disk_dir ({disk}) "
                    "overlap; give each tier its own directory"
                )
        return specs

    def initialize_settings(self) -> None:
        """Claim a namespace (sweeping what dead servers and kernels left), tell kernels where it
        is, and follow kernels' and notebooks' lifecycles."""
        self._server_logging = logs.ServerLogging(self.server.log)  # before the store logs
        self.counters = ServerCounters()
        self.warnings: list[str] = []  # for the admin: at start in the log, then in api/vfs
        self.store = self._claim_namespace()
        self.usage, self._metrics = metrics.install(self.store, self.counters)
        if self.kernel_websocket_nodelay:
            # self.settings starts as a copy of the web app's; ExtensionApp merges it back.
            nodelay.install(self.settings)
        self._export_to_kernels()
        self._follow_lifecycles()

    def _claim_namespace(self) -> Store:
        """A fresh namespace in every tier, removed again at stop and at exit."""
        specs, refused = relocate_memory_tier(self.tier_specs(), Path(self.server.runtime_dir))
        for name, note in refused:
            self.log.warning("vfs_ext: %s tier %s", name, note)
        store = Store.for_server(
            specs,
            refused=refused,
            base_url=self.server.base_url,
            max_file_size=self.max_file_size,
            threshold=self.threshold,
            server_pid=os.getpid(),
        )
        # At exit the namespace goes (again): jupyter_server stops extensions before kernels, so
        # a kernel writing meanwhile recreates directories after stop_extension removed them, and
        # it skips stop_extension entirely when its event loop ends by an exception (a SIGINT
        # without a terminal raises KeyboardInterrupt through it).
        atexit.register(self._remove_store)
        self.counters.swept(store.sweep(), time.time())
        for tier in store.tiers:
            self.log.info(
                "vfs_ext: %s tier %s (budget %s, keeps %s of its filesystem free)",
                tier.name,
                tier.root,
                format_size(tier.budget),
                format_size(tier.keep_free),
            )
            if tier.name == MEMORY:
                self._hint_huge_pages(tier.root)
                self.warnings += filter(None, [shm.small_tmpfs_warning(tier)])
        for warning in self.warnings:
            self.log.warning("vfs_ext: %s", warning)
        return store

    def _export_to_kernels(self) -> None:
        """The kernels' configuration, in the environment they inherit and in a record for
        those that do not but know us as JPY_PARENT_PID (only a fallback: failing to write it
        must not stop the extension)."""
        for name in ALL_ENV:  # e.g. inherited from a server this one was started under
            os.environ.pop(name, None)
        kernel_env = self.store.resolved_config().to_env()
        os.environ.update(kernel_env)
        try:
            self._record = write_server_record(self.server.runtime_dir, os.getpid(), kernel_env)
        except OSError as exc:
            self.log.warning("vfs_ext: could not publish the kernel record: %s", exc)

    def _follow_lifecycles(self) -> None:
        """Release a kernel's files when it is shut down; pin (and keep) what saved notebooks
        show."""
        events = self.server.event_logger
        assert events is not None  # jupyter_server makes it before loading extensions
        events.add_listener(schema_id=KERNEL_ACTIONS, listener=self._on_kernel_action)
        self._pin_on_save = pins.PinOnSave(self.store)
        self.server.contents_manager.register_pre_save_hook(self._pin_on_save)
        self.persistence, self.persist_off = persist_hooks.attach(
            self.server,
            self.store,
            enabled=self.persist,
            max_notebook_bytes=self.persist_max_bytes,
            log=self.log,
        )
        if self.persistence is not None:
            self._metrics.persist_counters = self.persistence.counters
        export.enable_preprocessor(self.server.config)  # JupyterLab's "Export Notebook As"

    def _hint_huge_pages(self, root: Path) -> None:
        """Tell the admin when the memory tier's tmpfs gives written files no huge pages."""
        huge = tmpfs_huge_pages(root)
        if huge is not None and system_shmem_policy() == "deny":
            self.log.info(
                "vfs_ext: the memory tier's tmpfs gets no huge pages: %s says deny for every tmpfs",
                SHMEM_ENABLED,
            )
        elif huge in ("never", "advise"):
            self.log.info(
                "vfs_ext: the memory tier's tmpfs gives written files no huge pages (huge=%s);"
                " mounted with huge=within_size it takes large outputs several times faster"
                " (docs/admin.md: huge pages for the memory tier)",
                huge,
            )

    def initialize_handlers(self) -> None:
        self.handlers.extend(
            [
                (
                    handlers.ROUTE,
                    handlers.VirtualFileHandler,
                    {
                        "store": self.store,
                        "chunk_size": self.chunk_size,
                        "find_saved": self.persistence and self.persistence.open_saved,
                        "counters": self.counters,
                    },
                ),
                (admin.ROUTE, admin.VirtualFilesStatsHandler, {"app": self}),
            ]
        )

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Periodic sweeps need the running event loop."""
        if self.sweep_interval > 0:
            self._sweeper = PeriodicCallback(self._periodic_sweep, self.sweep_interval * 1000)
            self._sweeper.start()

    # -- while running -------------------------------------------------------------------------

    async def _on_kernel_action(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        """A kernel shut down through the API (session closed, kernel deleted, culled): its
        outputs go. Restarts emit "restart", not "shutdown", and keep them viewable."""
        kernel_id = data.get("kernel_id")
        if data.get("action") != "shutdown" or data.get("status") != "success" or not kernel_id:
            return
        try:
            released = await asyncio.to_thread(self.store.release_owner, kernel_id)
        except OSError:
            self.log.exception("vfs_ext: could not release the files of kernel %s", kernel_id)
            return
        self.counters.kernel_released(released.files, released.bytes)
        self.log.debug("vfs_ext: released %d files of kernel %s", released.files, kernel_id)

    async def _periodic_sweep(self) -> None:
        if self._sweeping is not None:
            return  # the previous sweep is still walking the tiers
        keep = list(self.server.kernel_manager.list_kernel_ids())
        loop = asyncio.get_running_loop()
        self._sweeping = loop.run_in_executor(None, self.store.sweep, keep)
        try:
            self.counters.swept(await self._sweeping, time.time())
        except Exception:
            self.log.exception("vfs_ext: sweep failed")
        finally:
            self._sweeping = None

    # -- shutdown ------------------------------------------------------------------------------

    async def stop_extension(self) -> None:
        """Stop sweeping, remove this server's namespace and stop advertising it to kernels."""
        if self._sweeper is not None:
            self._sweeper.stop()
            self._sweeper = None
        if self._sweeping is not None:
            try:
                await self._sweeping
            except Exception:
                pass
        metrics.uninstall(self._metrics)
        self._remove_store()
        self._server_logging.restore()

    def _remove_store(self) -> None:
        """Remove the namespace and stop advertising it (on stop, and again at exit)."""
        store = getattr(self, "store", None)
        if store is None:
            return
        if self._pin_on_save is not None:
            self._pin_on_save.stop()
        if self.persistence is not None:
            self.persistence.stop()
        store.close(remove=True)
        if self._record is not None:
            with contextlib.suppress(OSError):
                self._record.unlink()
        for name in ALL_ENV:
            os.environ.pop(name, None)
