"""One kernel's link to the server's store: who owns the files, which cell they belong to.

The owner is the kernel id (stable across restarts, so outputs on screen stay viewable); the
group is the running cell's id, so re-running a cell releases the files of its previous run.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vfs_ext.config import DEFAULT_THRESHOLD, StoreConfig, format_size
from vfs_ext.confine import ServerGone
from vfs_ext.names import DEFAULT_GROUP, group_key, owner_key
from vfs_ext.owner import Owner
from vfs_ext.sources import Data
from vfs_ext.store import Store
from vfs_ext.tiers import FileInfo

from .discovery import discover_config
from .notices import Notices

log = logging.getLogger("vfs_ext")

NO_SERVER_NOTICE = (
    "vfs_ext: no Jupyter server with the vfs_ext extension is serving this kernel "
    "(e.g. VS Code, nbclient or plain IPython); outputs stay inline."
)

_CONNECTION_FILE_RE = re.compile(r"\Akernel-(?P<id>.+)\.json\Z")


@dataclass(frozen=True)
class Policy:
    """When outputs become virtual files: payloads over ``threshold``, of any type."""

    threshold: int


def kernel_id() -> str:
    """The kernel id from ``kernel-<id>.json``: it equals the REST id and survives restarts."""
    try:
        from ipykernel.connect import get_connection_file

        name = Path(get_connection_file()).name
    except Exception:
        return f"pid-{os.getpid()}"
    match = _CONNECTION_FILE_RE.match(name)
    return match["id"] if match else name


class KernelSession:
    """The store (or None without a server), the lazily opened owner and the current cell."""

    def __init__(self, config: StoreConfig | None, owner_id: str) -> None:
        self.config = config
        self.owner_id = owner_id
        self.notices = Notices()
        self.store: Store | None = None
        if config is not None:
            try:
                self.store = Store(config)
            except Exception as exc:  # no usable tier: behave as without a server
                message = f"vfs_ext: storage unavailable, outputs stay inline: {exc}"
                self.notices.once("unavailable", message)
            for tier, reason in config.refused:  # e.g. another user squats the memory tier
                self.notices.once(f"refused {tier}", f"vfs_ext: the {tier} tier {reason}")
        self._owner: Owner | None = None
        # One owner per kernel, whichever threads write first: a second owner would wait for the
        # first one's flock and time out.
        self._owner_lock = threading.Lock()
        self.group = DEFAULT_GROUP
        self._running: list[Any] = []  # ExecutionInfo of the cells running, outermost first
        self.auto: Policy | None = None
        self._cell_policies: list[Policy] = []  # run_cell_magic('vfs', ...): innermost last
        self._this_cell_policy: Policy | None = None  # a %%vfs cell's, until the cell ends
        self.cell_ids: dict[str, str] = {}  # group key -> cell id
        self.cell_counts: dict[str, int] = {}  # group key -> execution count, for %vfs ls
        # Files whose Python object (a VirtualFile) is alive: it may be displayed again, so
        # an output that shows one leaving the page does not retire it (kernel_side.shown).
        self._referenced: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()

    @classmethod
    def discover(cls) -> KernelSession:
        return cls(discover_config(), kernel_id())

    # -- storage ---------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        return self.store is not None

    @property
    def default_threshold(self) -> int:
        return self.config.threshold if self.config is not None else DEFAULT_THRESHOLD

    @property
    def base_url(self) -> str:
        base = self.config.base_url if self.config is not None else "/"
        return base if base.endswith("/") else base + "/"

    def owner(self) -> Owner:
        """Claim the owner on first write, not at load time (most kernels never write)."""
        if self.store is None:
            raise RuntimeError("no server")
        owner = self._owner
        if owner is not None:
            return owner
        with self._owner_lock:
            if self._owner is None:
                self._owner = self.store.open_owner(self.owner_id)
            return self._owner

    def write(self, data: Data, ext: str | None = None, *, evict: bool = False) -> FileInfo:
        """Store ``data`` in the current cell's group; raises VirtualFileError if nothing fits.

        Once the server has stopped (its namespace is gone) the session has no store any more:
        later outputs stay inline, as without a server."""
        try:
            owner = self.owner()
            info = owner.write(data, ext, self.group, evict=evict)
        except ServerGone as exc:
            self._server_gone(exc)
            raise
        first = owner.tiers[0].name
        if info.tier != first:
            self.notices.once(
                "fallback",
                f"vfs_ext: the {first} tier did not take a file of {format_size(info.size)}; it "
                f"went to the {info.tier} tier, as later ones that do not fit will (said once; "
                "%vfs stats shows each tier's room)",
            )
        return info

    def kept_inline(self, mime: str, size: int, reason: str) -> None:
        """An output no tier took stays inline: said once, counted for the server's metrics."""
        self.notices.once(
            "inline",
            f"vfs_ext: a {mime} output stays inline: {reason} (said once; later ones stay "
            "inline quietly, %vfs stats counts them)",
        )
        if self.store is not None:
            self.store.record_event("inline", mime=mime, size=size)

    def _server_gone(self, exc: ServerGone) -> None:
        if self.store is None:
            return
        self.notices.once("server gone", f"vfs_ext: {exc}; outputs stay inline from now on")
        with self._owner_lock:
            owner, self._owner = self._owner, None
            store, self.store = self.store, None
        if owner is not None:
            owner.close()
        store.close()

    def release(self, name: str) -> bool:
        """Remove one of this kernel's files; False if it is not ours, gone, or never written."""
        owner = self._owner
        if owner is None:
            return False  # nothing was written in this process: no owner to claim for it
        return owner.release(name)

    def retire(self, names: list[str]) -> None:
        """Release files taken off the page, after a grace for browsers still fetching them
        (vfs_ext.retire)."""
        owner = self._owner
        if owner is not None and names:
            owner.retire(names)

    def retiring(self) -> frozenset[str]:
        """Files taken off the page and released when their grace is over."""
        owner = self._owner
        return owner.retiring() if owner is not None else frozenset()

    def show_again(self, names: Iterable[str]) -> None:
        """These files are shown again: take back their retirement."""
        owner = self._owner
        if owner is not None:
            owner.show_again(names)

    def referenced_by(self, name: str, obj: Any) -> None:
        """Remember ``obj`` (a VirtualFile) as the holder of ``name`` while it lives."""
        self._referenced[name] = obj

    def holder(self, name: str) -> Any | None:
        """The live VirtualFile of ``name``: it may be displayed again, so its file stays."""
        return self._referenced.get(name)

    def url(self, name: str) -> str:
        """Absolute path: JupyterLab rewrites relative ``src`` URLs but leaves these alone."""
        return f"{self.base_url}@file/{name}"

    def notice_no_server(self) -> None:
        """Say once per kernel why outputs stay inline."""
        self.notices.once("no server", NO_SERVER_NOTICE)

    # -- which policy applies now ------------------------------------------------------------

    def policy(self) -> Policy | None:
        """The innermost ``%%vfs`` cell's policy, else auto mode's, else None (inline)."""
        if self._cell_policies:
            return self._cell_policies[-1]
        if self._this_cell_policy is not None:
            return self._this_cell_policy
        return self.auto

    def set_policy_for_this_cell(self, policy: Policy) -> None:
        """Apply ``policy`` until the running (outermost) cell ends."""
        self._this_cell_policy = policy

    def push_cell_policy(self, policy: Policy) -> None:
        self._cell_policies.append(policy)

    def pop_cell_policy(self) -> None:
        self._cell_policies.pop()

    # -- cell lifecycle (IPython events) -----------------------------------------------------

    def pre_run_cell(self, info: Any) -> None:
        """Enter the cell's group; a re-run first releases the files of the previous run.

        Their URLs fail at once. Their memory is reused by this run's outputs where nobody still
        reads it, and freed in the background otherwise (vfs_ext.reuse)."""
        cell_id = self.join_cell(info)
        if cell_id and self.store is not None:
            try:
                if self._has_group(cell_id):
                    self.owner().release_group(cell_id, wait=False, reuse=True)
            except Exception:
                log.exception("vfs_ext: could not release the previous run of cell %s", cell_id)

    def join_cell(self, info: Any) -> str | None:
        """Enter the cell's group without releasing anything; its cell id, if it is outermost.

        Alone, for the cell that created this session: files its group already holds may be
        from this very run (``%reload_ext``), so they wait for the cell's next run."""
        self._running.append(info)
        if len(self._running) > 1:
            return None  # a nested run_cell (e.g. %%vfs) stays in the outer cell's group
        cell_id = getattr(info, "cell_id", None)
        self.group = cell_id if cell_id else DEFAULT_GROUP
        if cell_id:
            self.cell_ids[group_key(cell_id)] = cell_id
        return cell_id

    def post_run_cell(self, result: Any = None) -> None:
        """Leave the cell. IPython also sends this for cells that never started (empty ones),
        so only the end of the cell on top of the stack counts."""
        info = getattr(result, "info", None)
        cell_id, count = getattr(info, "cell_id", None), getattr(result, "execution_count", None)
        if cell_id and count and len(self._running) == 1:
            self.cell_counts[group_key(cell_id)] = count
        if self._running and (result is None or self._running[-1] is info):
            self._running.pop()
        if not self._running:
            self.group = DEFAULT_GROUP
            self._this_cell_policy = None
            if self._owner is not None:
                try:
                    self._owner.free_spares()  # what this run's outputs did not reuse
                except Exception:
                    log.exception("vfs_ext: could not free the files this run did not reuse")

    def _has_group(self, cell_id: str) -> bool:
        """Whether any tier holds files of this cell: skips claiming the owner when none do."""
        assert self.store is not None
        okey, gkey = owner_key(self.owner_id), group_key(cell_id)
        return any(tier.group_dir(okey, gkey).is_dir() for tier in self.store.tiers)

    # -- files ---------------------------------------------------------------------------------

    def files(self) -> list[FileInfo]:
        if self.store is None:
            return []
        okey = owner_key(self.owner_id)
        found = [f for tier in self.store.tiers for f in tier.iter_files(okey)]
        return sorted(found, key=lambda f: f.mtime)

    def close(self) -> None:
        """Drop the owner's locks but keep its files: they are still on screen."""
        with self._owner_lock:
            owner, self._owner = self._owner, None
        if owner is not None:
            owner.close()
        if self.store is not None:
            self.store.close()
