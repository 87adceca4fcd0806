"""Saved outputs outlive their kernel: each save copies what the notebook shows beside it.

A save (``pre_save``, a contents pre-save hook) copies every virtual file the notebook shows
from this server's tiers into the folder's sidecar (server_side.sidecar) and writes the file's
SHA-256 into the output's record, so the ``.ipynb`` says which sidecar file backs each output.
Hashes are computed in the server, never on the kernel's display path: ahead of the save by a
background thread (server_side.prehash), else by the save beside its copies (the hook itself
is synchronous: the save waits for them).
After the save (``post_save``) the folder's sidecar loses what none of its notebooks or their
checkpoints refers to. Names no tier holds any more are served from a sidecar that recorded
them (``open_saved``), learned from saves and from notebooks read through the contents API
(server_side.persist_events follows those; server_side.verified checks every sidecar file
before it is served or carried to another folder).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from vfs_ext.names import parse_name
from vfs_ext.persist_status import write_status
from vfs_ext.records import HASH_KEY, notebook_records, set_reference_hashes
from vfs_ext.store import Store

from .persist_copy import copy_in
from .persist_events import Follower
from .persist_usage import Usage
from .prehash import Prehasher
from .saved import NOTEBOOK_SUFFIX, NameIndex, NotebookRefs, Ref, refs_of
from .sidecar import Sidecar, existing
from .verified import Saved, Verified

log = logging.getLogger("vfs_ext")


class Persistence:
    """Copies on save, garbage collection, and the name -> sidecar index of one server."""

    def __init__(
        self,
        store: Store,
        os_path_of: Callable[[str], str],
        *,
        max_notebook_bytes: int | None = None,
    ) -> None:
        self.store: Store | None = store
        self.os_path_of = os_path_of  # the contents manager's API path -> OS path
        self.max_notebook_bytes = max_notebook_bytes
        self.hashes = Prehasher(store)  # virtual file name -> SHA-256, mostly hashed ahead
        self.hashes.start()
        self.refs = NotebookRefs()
        self.index = NameIndex()
        self.usage = Usage(self.refs)  # sidecar bytes per folder and notebook, cap notes
        self.totals = {"copied_files": 0, "copied_bytes": 0, "removed_files": 0}
        self._status = ""  # the status file as last written
        self._verified = Verified()  # sidecar files checked against their hash
        self._folders: set[Path] = set()  # folders saved into by this run
        self._lock = threading.RLock()  # one writer of the sidecars at a time
        self._pool = ThreadPoolExecutor(os.cpu_count() or 2, thread_name_prefix="vfs_ext-persist")
        self._follower = Follower(self)  # reacts to contents actions on a thread
        self._saving: dict[str, tuple[Ref, ...]] = {}  # OS path -> refs, pre- to post-save

    # -- saving --------------------------------------------------------------------------------

    def pre_save(self, model: dict[str, Any], path: str = "", **kwargs: Any) -> None:
        """A ``ContentsManager`` pre-save hook: copy what the notebook shows, record hashes."""
        content = model.get("content")
        if self.store is None or model.get("type") != "notebook" or not isinstance(content, dict):
            return
        try:
            notebook = Path(self.os_path_of(path))
        except Exception:
            return  # not a path the contents manager accepts: its save fails on its own
        with self._lock:
            self._persist(content, notebook)
        self._saving[str(notebook)] = refs_of(content)

    def _persist(self, content: dict[str, Any], notebook: Path) -> None:
        by_name: dict[str, list[dict[str, Any]]] = {}
        for rec in notebook_records(content):
            if parse_name(rec["name"]) is not None:
                by_name.setdefault(rec["name"], []).append(rec)
        live = [(name, info) for name in by_name if (info := self._lookup(name)) is not None]
        if not live:
            self.usage.clear_cap(notebook)
            return
        sidecar = Sidecar(notebook.parent)
        try:
            sidecar.open(create=True)
        except OSError as exc:
            log.warning("vfs_ext: outputs of %s not kept: %s", notebook, exc)
            return
        try:
            digests = self._copy_in(sidecar, live, notebook)
        finally:
            sidecar.close()
        for name, digest in digests.items():
            for rec in by_name[name]:
                rec[HASH_KEY] = digest
        set_reference_hashes(content, digests)
        self.index.learn(notebook.parent, [Ref(n, d) for n, d in digests.items()])
        self._folders.add(notebook.parent)

    def _lookup(self, name: str) -> Any:
        assert self.store is not None
        return self.store.lookup(name)

    def _copy_in(
        self, sidecar: Sidecar, live: list[tuple[str, Any]], notebook: Path
    ) -> dict[str, str]:
        """Hashes of the live files now in the sidecar; new ones copied within the cap."""
        result = copy_in(self._pool, sidecar, live, self.hashes, self.max_notebook_bytes)
        self.totals["copied_files"] += result.copied_files
        self.totals["copied_bytes"] += result.copied_bytes
        self.usage.note_cap(
            notebook,
            skipped=result.skipped,
            skipped_bytes=result.skipped_bytes,
            kept_bytes=result.kept_bytes,
            cap=self.max_notebook_bytes,
        )
        return result.digests

    def post_save(self, model: dict[str, Any], os_path: str, **kwargs: Any) -> None:
        """A ``ContentsManager`` post-save hook: drop what the folder no longer refers to."""
        refs = self._saving.pop(os_path, None)  # the model here has no content
        if self.store is None or refs is None:
            return
        notebook = Path(os_path)
        self.refs.remember(notebook, refs)
        self.collect(notebook.parent)
        self.publish_status(notebook.parent)

    # -- garbage collection --------------------------------------------------------------------

    def collect(self, folder: Path) -> int:
        """Remove the sidecar files of ``folder`` that none of its notebooks (nor their
        checkpoints, which "Revert to checkpoint" brings back) refers to; returns how many."""
        with self._lock, existing(folder) as sidecar:
            if sidecar is None:
                return 0
            removed, freed = sidecar.collect(self.refs.kept_in(folder))
        if removed:
            self.totals["removed_files"] += removed
            log.debug("vfs_ext: removed %d unused files (%d bytes) in %s", removed, freed, folder)
        return removed

    # -- what other contents actions mean ------------------------------------------------------

    async def on_contents_event(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        """Index notebooks being read; follow deletes, renames and copies (see persist_events)."""
        if self.store is not None:
            await self._follower.follow(data)

    def learn(self, path: str) -> None:
        """Index the sidecar files a notebook on disk records."""
        notebook = Path(self.os_path_of(path))
        self.index.learn(notebook.parent, self.refs.of_file(notebook))

    def deleted(self, path: str) -> None:
        """A deleted notebook's files are freed unless another notebook of its folder shows them."""
        target = Path(self.os_path_of(path))
        self.refs.forget(target)
        self.collect(target.parent)
        self.publish_status(target.parent)

    def carried(self, source: str, path: str, *, moved: bool) -> None:
        """A notebook copied or moved to another folder takes its sidecar files along."""
        src, dst = Path(self.os_path_of(source)), Path(self.os_path_of(path))
        if moved:
            self.refs.forget(src)
        if not dst.name.endswith(NOTEBOOK_SUFFIX) or src.parent == dst.parent:
            return
        refs = self.refs.of_file(dst)
        with self._lock:
            self._verified.copy_between(src.parent, dst.parent, [ref.file for ref in refs])
        self.index.learn(dst.parent, refs)
        if moved:
            self.collect(src.parent)
            self.usage.refresh([src.parent])
        self.publish_status(dst.parent)

    # -- serving -------------------------------------------------------------------------------

    async def settled(self) -> None:
        """Wait (boundedly) for the contents actions being followed."""
        await self._follower.settled()

    async def open_saved(self, name: str) -> Saved | None:
        """The sidecar file a notebook recorded for ``name``, opened and checked; None if no
        known sidecar holds bytes matching its hash. Waits for notebooks being indexed."""
        if self.store is None:
            return None
        await self.settled()
        for folder, file in self.index.claims(name):
            saved = await asyncio.to_thread(self._verified.open_in, folder, file)
            if saved is not None:
                return saved
            self.index.drop(name, folder, file)
        return None

    # -- reporting -----------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        """Sidecar usage (every known folder re-read) and counters, for ``api/vfs``."""
        self.usage.refresh(self._folders | self.index.folders())
        return {**self._summary(), "hashing_pending": self.hashes.pending()}

    def _summary(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "max_notebook_bytes": self.max_notebook_bytes,
            **self.usage.summary(),
            **self.counters(),
        }

    def counters(self) -> dict[str, int]:
        """What saves copied and removed, and what was hashed ahead or at save (all grow)."""
        return {**self.totals, **self.hashes.totals}

    def publish_status(self, folder: Path | None = None) -> None:
        """Re-read the usage of ``folder`` (and of folders not read yet), and rewrite the status
        file ``%vfs stats`` reads if it changed (a save that changed nothing must not pay a file
        replacement); failures are only logged."""
        store = self.store
        if store is None:
            return
        known = self._folders | self.index.folders()
        self.usage.refresh([*self.usage.missing(known), *([folder] if folder else [])])
        status = {k: v for k, v in self._summary().items() if k not in self.counters()}
        text = json.dumps(status, sort_keys=True)
        if text == self._status:
            return
        try:
            write_status(store.events_root, status)
        except OSError as exc:
            log.debug("vfs_ext: could not write the persistence status: %s", exc)
        else:
            self._status = text

    def stop(self) -> None:
        self.store = None
        self.hashes.stop()
        self._pool.shutdown(wait=True)
