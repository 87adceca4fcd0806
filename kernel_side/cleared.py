"""Outputs removed by ``clear_output`` release their files.

A live plot redrawn with ``clear_output(wait=True); display(frame)`` a thousand times would
otherwise keep a thousand frames stored until its cell is re-run, and auto mode, once the tiers
fill, evicts other cells' visible outputs to make room. So the files each output area shows are
tracked from the published messages, and retired (released after a grace, vfs_ext.retire) once
the front end has dropped those outputs: at once for ``clear_output()``, at the area's next
output for ``clear_output(wait=True)`` (the front end clears only then; until then the old
frame stays on screen and must stay loadable).

Which area a message lands in is decided by the front end: the cell that sent its parent
request, unless an ipywidgets ``Output`` is capturing that request's messages (its ``msg_id``
equals the parent's), in which case the widget. Both are known in the kernel, so a widget's
``clear_output`` releases the widget's outputs only. When it cannot be told (several widgets
capturing one request, an ipywidgets whose registry we do not know), nothing is released.

A file is kept while it is shown in another tracked area, or while the ``VirtualFile`` that
holds it is still referenced from Python (it may be displayed again). Files in outputs not
tracked here (``execute_result``, ``Output.append_display_data``) stay until their cell re-runs.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from .session import KernelSession

#: Output areas remembered, most recently used last; an area forgotten only keeps its files
#: until its cell re-runs (a clear can target only the areas of requests still running).
MAX_AREAS = 256


def capturing_widgets(parent_id: str) -> list[str] | None:
    """Model ids of the ipywidgets ``Output`` widgets capturing the messages of request
    ``parent_id``; None if ipywidgets is in use but its widget registry cannot be read."""
    output_module = sys.modules.get("ipywidgets.widgets.widget_output")
    if output_module is None:
        return []  # no Output widget was ever created: nothing can capture
    registry = getattr(sys.modules.get("ipywidgets.widgets.widget"), "_instances", None)
    if registry is None:  # ipywidgets 7 keeps it on the class
        widget_class = getattr(sys.modules.get("ipywidgets.widgets.widget"), "Widget", None)
        registry = vars(widget_class).get("widgets") if widget_class is not None else None
    output_class = getattr(output_module, "Output", None)
    if not isinstance(registry, dict) or output_class is None:
        return None
    return [
        str(model_id)
        for model_id, widget in list(registry.items())
        if isinstance(widget, output_class) and getattr(widget, "msg_id", "") == parent_id
    ]


def output_area(msg: dict[str, Any]) -> Hashable | None:
    """Where the front end puts this message's output; None when that cannot be told."""
    parent_id = (msg.get("parent_header") or {}).get("msg_id")
    if not parent_id:
        return None
    widgets = capturing_widgets(parent_id)
    if widgets is None or len(widgets) > 1:
        return None
    return ("widget", widgets[0]) if widgets else ("request", parent_id)


class ClearedOutputs:
    """The files shown in each output area; a clear retires those it removed (released after
    a grace, vfs_ext.retire: a browser behind the loop may still ask for them)."""

    def __init__(self, session: KernelSession) -> None:
        self.session = session
        self._areas: OrderedDict[Hashable, set[str]] = OrderedDict()  # files shown since a clear
        self._clear_next: set[Hashable] = set()  # areas a clear_output(wait=True) waits in
        self._lock = threading.Lock()  # outputs may come from several threads

    def published(self, msg: dict[str, Any], names: frozenset[str]) -> None:
        """A new output (``display_data``) showing ``names``: it first clears its area if a
        ``clear_output(wait=True)`` is pending there, as the front end does."""
        if not names and not self._clear_next:
            return  # the common case: no file to track, no clear waiting for this output
        area = output_area(msg)
        if area is None:
            return
        with self._lock:
            gone = self._clear(area) if area in self._clear_next else []
            if names:
                self._areas.setdefault(area, set()).update(names)
                self._areas.move_to_end(area)
                while len(self._areas) > MAX_AREAS:
                    oldest, _ = self._areas.popitem(last=False)  # files stay until a re-run
                    self._clear_next.discard(oldest)
        self.session.retire(gone)

    def cleared(self, msg: dict[str, Any]) -> None:
        """A ``clear_output`` message: the area is cleared now, or at its next output."""
        if not self._areas:
            return
        area = output_area(msg)
        if area is None or area not in self._areas:
            return
        with self._lock:
            if (msg.get("content") or {}).get("wait"):
                self._clear_next.add(area)
                return
            gone = self._clear(area)
        self.session.retire(gone)

    def _clear(self, area: Hashable) -> list[str]:
        """Forget ``area`` (its clear is done); the files it showed that no other area shows."""
        self._clear_next.discard(area)
        names = self._areas.pop(area, set())
        elsewhere = set().union(*self._areas.values())
        return sorted(names - elsewhere)
