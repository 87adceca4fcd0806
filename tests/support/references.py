"""Finding vfs_ext's reference renderers in a notebook page, and what their outputs cost."""

from __future__ import annotations

from typing import Any

from tests.support.jupyter_ui import NotebookUI

#: The class of the renderer of ``application/vnd.vfs-ext.v1+json`` (labextension/).
REF = ".jp-VfsReference"
#: The largest websocket frame a virtual output may cost (issue #16's bound).
MAX_FRAME = 64 * 1024


def watch_frames(ui: NotebookUI) -> list[int]:
    """Sizes of every websocket frame the page receives from now on."""
    sizes: list[int] = []

    def on_socket(ws: Any) -> None:
        ws.on("framereceived", lambda payload: sizes.append(len(payload)))

    ui.page.on("websocket", on_socket)
    return sizes


def refs(ui: NotebookUI, index: int) -> Any:
    """The reference renderers of a cell's outputs (each is the output's own node)."""
    return ui.cell(index).locator(REF)


def wait_loaded(ui: NotebookUI, index: int, timeout: float = 120_000) -> Any:
    """The cell's reference renderer once it has drawn its output."""
    ref = refs(ui, index).first
    # No actionability checks: the page may be busy laying out a large table for a while.
    handle = ref.element_handle(timeout=timeout)
    handle.evaluate("el => el.scrollIntoView({block: 'nearest'})")
    ui.page.wait_for_function(
        "el => ['loaded', 'missing', 'error'].includes(el.dataset.vfsState)",
        arg=handle,
        timeout=timeout,
    )
    assert ref.get_attribute("data-vfs-state") == "loaded", ref.inner_text()[:500]
    return ref
