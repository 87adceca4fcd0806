"""Files shown by a notebook being saved are pinned: freeing replaced outputs spares them.

The kernel frees the files of outputs that left the page (kernel_side.shown). A page reloaded
while a cell still redraws its plot, though, shows the notebook as last saved: its frames are
not on any page the kernel knows of, but they are what the user sees. So every notebook save
pins the virtual files its outputs show (``Store.pin``), and unpins those the previous save of
the same notebook showed and this one does not: a file its kernel already took off the page
goes then (``Store.unpin``), so a loop autosaved for hours keeps the last saved frame, not one
per save.
"""

from __future__ import annotations

from typing import Any

from vfs_ext.records import notebook_records
from vfs_ext.store import Store


def notebook_files(notebook: object) -> set[str]:
    """The virtual files the outputs of a notebook model (nbformat 4 JSON) show."""
    return {rec["name"] for rec in notebook_records(notebook)}


class PinOnSave:
    """A ``ContentsManager`` pre-save hook; inert once ``stop`` is called."""

    def __init__(self, store: Store) -> None:
        self.store: Store | None = store
        self._saved: dict[str, set[str]] = {}  # notebook path -> files its last save showed

    def __call__(self, model: dict[str, Any], path: str = "", **kwargs: Any) -> None:
        store = self.store
        if store is None or model.get("type") != "notebook":
            return
        names = notebook_files(model.get("content"))
        store.pin(names)
        previous = self._saved.get(path, set())
        self._saved[path] = names
        still_saved = set().union(*self._saved.values())
        store.unpin(previous - still_saved)

    def stop(self) -> None:
        self.store = None
