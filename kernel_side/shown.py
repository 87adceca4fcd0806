"""Which virtual files the front end shows, by output area; a file no output shows is retired.

A live plot redrawn with ``clear_output(wait=True); display(frame)`` or an animation driven by
``update_display`` would otherwise keep every frame stored until its cell is re-run, and auto
mode, once the tiers fill, evicts other cells' visible outputs to make room. So the published
messages are replayed here the way JupyterLab applies them, and a file that leaves every output
is retired (released after a grace for browsers still fetching it: vfs_ext.retire):

- an output area is the cell of the message's parent request, or the ipywidgets ``Output``
  capturing that request (its ``msg_id`` equals the parent's msg id);
- ``clear_output()`` empties its area; with ``wait=True`` at the area's next ``display_data``
  (a stream, error or result also triggers it in the front end; those are not seen here, so
  the old frame then stays stored until its cell re-runs);
- ``update_display_data`` and a ``display_data`` whose display id was shown before replace
  that id's outputs in every cell area showing it (JupyterLab relays the second as an update
  to earlier requests); an ``Output`` widget ignores updates and keeps what it shows.

Nothing is retired that might still be shown: files of messages whose area cannot be told
(several widgets capturing one request, an unknown ipywidgets) count as shown for good, and a
file whose ``VirtualFile`` is still referenced from Python waits for that object to die.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections import OrderedDict, deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .session import KernelSession

#: Output areas remembered, most recently used last. A forgotten area's files stay stored
#: until their cell re-runs (a clear can target only the areas of requests still running).
MAX_AREAS = 256
#: Where messages go whose area cannot be told: never cleared, never updated.
UNKNOWN: Hashable = ("unknown",)


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


def output_area(msg: dict[str, Any]) -> Hashable:
    """Where the front end puts this message's output; UNKNOWN when that cannot be told."""
    parent_id = (msg.get("parent_header") or {}).get("msg_id")
    if not parent_id:
        return UNKNOWN
    widgets = capturing_widgets(parent_id)
    if widgets is None or len(widgets) > 1:
        return UNKNOWN
    return ("widget", widgets[0]) if widgets else ("request", parent_id)


@dataclass
class _Area:
    plain: set[str] = field(default_factory=set)  # files of outputs without a display id
    ids: dict[str, frozenset[str]] = field(default_factory=dict)  # display id -> its files

    def files(self) -> set[str]:
        return self.plain.union(*self.ids.values())


def _takes_updates(key: Hashable) -> bool:
    return key[0] == "request"  # type: ignore[index]


class ShownFiles:
    """The files each output area shows; what leaves the page is retired."""

    def __init__(self, session: KernelSession) -> None:
        self.session = session
        self._areas: OrderedDict[Hashable, _Area] = OrderedDict()
        self._id_areas: dict[str, set[Hashable]] = {}  # display id -> areas showing it
        self._clear_next: set[Hashable] = set()  # areas a clear_output(wait=True) waits in
        self._kept_for_good: set[str] = set()  # in a forgotten area and another: never retired
        self._waiting: set[str] = set()  # off the page, their VirtualFile still alive
        self._died: deque[str] = deque()  # appended by finalizers, on any thread
        self._lock = threading.Lock()  # outputs may come from several threads

    # -- messages ------------------------------------------------------------------------------

    def displayed(self, msg: dict[str, Any], names: frozenset[str], display_id: str | None) -> None:
        """A ``display_data`` showing ``names``: first the clear waiting in its area, if any."""
        if not names and not self._clear_next and not display_id:
            return  # the common case: nothing shown, nothing to replace or clear
        key = output_area(msg)
        with self._lock:
            left = self._clear(key) if key in self._clear_next else set()
            if names or display_id:
                area = self._areas.setdefault(key, _Area())
                self._areas.move_to_end(key)
                if display_id:
                    left |= self._replace(display_id, names)
                    area.ids[display_id] = area.ids.get(display_id, frozenset()) | names
                    self._id_areas.setdefault(display_id, set()).add(key)
                else:
                    area.plain |= names
                self._forget_oldest()
            self._retire(self._gone(left), shown=names)

    def updated(self, names: frozenset[str], display_id: str) -> None:
        """An ``update_display_data``: the id's outputs in cell areas now show ``names``."""
        with self._lock:
            self._retire(self._gone(self._replace(display_id, names)), shown=names)

    def cleared(self, msg: dict[str, Any]) -> None:
        """A ``clear_output``: its area empties now, or at its next output with ``wait``."""
        if not self._areas:
            return
        key = output_area(msg)
        if key == UNKNOWN or key not in self._areas:
            return
        with self._lock:
            if (msg.get("content") or {}).get("wait"):
                self._clear_next.add(key)
                return
            self._retire(self._gone(self._clear(key)))

    # -- bookkeeping (with the lock held) -------------------------------------------------------

    def _replace(self, display_id: str, names: frozenset[str]) -> set[str]:
        """Show ``names`` for ``display_id`` in the cell areas showing it; what they showed.

        Not in widget areas, nor in a cell whose request an ``Output`` captures right now: the
        widget's hook takes the update there and ignores it."""
        left: set[str] = set()
        for key in list(self._id_areas.get(display_id, ())):
            self._areas.move_to_end(key)  # still in use: not the oldest to forget
            if _takes_updates(key) and capturing_widgets(key[1]) == []:  # type: ignore[index]
                area = self._areas[key]
                left |= area.ids.get(display_id, frozenset())
                area.ids[display_id] = names
        return left

    def _clear(self, key: Hashable) -> set[str]:
        """Forget the area ``key`` (the front end emptied it); the files it showed."""
        self._clear_next.discard(key)  # also when the area is gone already
        area = self._areas.pop(key, None)
        return set() if area is None else self._detach(key, area)

    def _forget_oldest(self) -> None:
        while len(self._areas) > MAX_AREAS:
            key, area = self._areas.popitem(last=False)
            self._kept_for_good |= (
                self._detach(key, area) & self._on_page()
            )  # shown elsewhere: kept

    def _detach(self, key: Hashable, area: _Area) -> set[str]:
        """Drop what refers to an area taken out of ``_areas``; the files it showed."""
        self._clear_next.discard(key)
        for display_id in area.ids:
            keys = self._id_areas.get(display_id)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._id_areas[display_id]
        return area.files()

    def _on_page(self) -> set[str]:
        return self._kept_for_good.union(*(area.files() for area in self._areas.values()))

    def _gone(self, left: set[str]) -> set[str]:
        """Of the files that left some output, those no output shows any more, plus those
        whose VirtualFile died since (off the page then, as far as still true)."""
        died = set()
        while self._died:
            died.add(self._died.popleft())
        candidates = left | died
        return candidates - self._on_page() if candidates else set()

    def _retire(self, gone: Iterable[str], shown: Iterable[str] = ()) -> None:
        """Retire ``gone``, except files a live VirtualFile holds (retired when it dies); take
        back a pending retirement of files shown again (``shown``). Under our lock, so another
        thread showing a file again cannot come between the decision and the retirement."""
        self.session.show_again(shown)
        now = []
        for name in sorted(gone):
            holder = self.session.holder(name)
            if holder is None:
                now.append(name)
            elif name not in self._waiting:
                self._waiting.add(name)
                weakref.finalize(holder, self._holder_died, name)
        self.session.retire(now)

    def _holder_died(self, name: str) -> None:
        """A finalizer: the name is checked at the next message (no lock taken here, as the
        last reference may go on any thread, in the middle of our own bookkeeping)."""
        self._waiting.discard(name)
        self._died.append(name)
