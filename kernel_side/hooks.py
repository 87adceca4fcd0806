"""Where outputs are intercepted: ``display_formatter.format`` first, published messages second.

``display()``, ``update_display`` / display handles and the displayhook (``execute_result``)
all call ``shell.display_formatter.format``; replacing the bundle there means a large PNG is
never base64-encoded. ``display(bundle, raw=True)`` and ``publish_display_data`` skip the
formatter, so a publisher hook applies the same policy to the message (idempotent: a bundle
already externalized has nothing over the threshold left). ipykernel keeps publisher hooks per
thread: the hook is registered on the thread that loads the extension and on every thread that
formats an output, so a thread that only ever displays raw bundles keeps them inline.

The publisher hook also sees every ``update_display_data`` (display handles, ``update_display``,
``display(..., display_id=..., update=True)``): it replaces every output with that display id, so
the files those outputs showed and the update does not are retired then (released after a
grace, vfs_ext.retire), and an animation updated a thousand times keeps one frame stored, not a
thousand. A new ``display_data`` with an id already shown adds an output (JupyterLab keeps the
earlier ones as they were), so it releases nothing. It also sees every ``clear_output``: the
outputs it removes are retired too (kernel_side.cleared).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from IPython.display import Image

from vfs_ext.mimes import mime_for_ext
from vfs_ext.tiers import FileInfo

from . import html
from .cleared import ClearedOutputs
from .externalize import Writer, externalize
from .session import KernelSession

log = logging.getLogger("vfs_ext")


def _writer(session: KernelSession) -> Writer:
    """Writes for the automatic path: may evict the kernel's oldest files of other cells."""

    def write(payload: bytes, ext: str) -> dict[str, Any]:
        info: FileInfo = session.write(payload, ext, evict=True)
        return html.record(info.name, session.url(info.name), mime_for_ext(ext), info.size)

    return write


def apply_policy(
    session: KernelSession, data: dict[str, Any], metadata: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The bundle as the active policy wants it; unchanged when inactive or on any error."""
    policy = session.policy()
    if policy is None or not data:
        return data, metadata
    if not session.available:
        session.notice_no_server()
        return data, metadata
    try:
        return externalize(data, metadata, policy, _writer(session))
    except Exception:  # an output is never lost to a bug here
        log.exception("vfs_ext: could not externalize an output; it stays inline")
        return data, metadata


def _raw_image_bundle(
    obj: Any, threshold: int, include: Any, exclude: Any
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """IPython's bundle for a large embedded ``Image``, built from its raw bytes.

    The formatter would base64-encode the whole payload only for us to decode it again (about
    0.35 s of a 50 MiB image's 0.4 s, measured in bench/); the bundle is otherwise the same.
    """
    if not (
        type(obj) is Image
        and obj.embed
        and isinstance(obj.data, bytes)
        and len(obj.data) > threshold
    ):
        return None
    mime = obj._mimetype
    if (include and mime not in include) or (exclude and mime in exclude):
        return None
    shape = {"width": obj.width, "height": obj.height, "unconfined": obj.unconfined, "alt": obj.alt}
    md = {**(obj.metadata or {}), **{k: v for k, v in shape.items() if v}}
    return {mime: obj.data, "text/plain": repr(obj)}, ({mime: md} if md else {})


class FormatterWrapper:
    """Wraps ``DisplayFormatter.format`` on one instance; ``uninstall`` restores it."""

    def __init__(
        self, formatter: Any, session: KernelSession, on_call: Callable[[], None] | None = None
    ) -> None:
        self.formatter = formatter
        self.session = session
        self.original = formatter.format
        self.on_call = on_call  # e.g. PublishHook.register_here: we run on the displaying thread

    def __call__(self, obj: Any, include: Any = None, exclude: Any = None) -> Any:
        if self.on_call is not None:
            self.on_call()
        policy = self.session.policy()
        raw = None
        if policy is not None and self.session.available:
            raw = _raw_image_bundle(obj, policy.threshold, include, exclude)
        if raw is not None:
            data, metadata = apply_policy(self.session, *raw)
            if not any(isinstance(value, bytes) for value in data.values()):
                return data, metadata
            # Not stored (no server, a failed write): the caller gets IPython's own bundle, base64
            # text; raw bytes would break ipywidgets' Output.append_display_data, for one.
            return self.original(obj, include=include, exclude=exclude)
        data, metadata = self.original(obj, include=include, exclude=exclude)
        return apply_policy(self.session, data, metadata)

    def install(self) -> None:
        self.formatter.format = self

    def uninstall(self) -> None:
        if self.formatter.__dict__.get("format") is self:
            del self.formatter.format


def message_files(metadata: dict[str, Any] | None) -> frozenset[str]:
    """The virtual files a message shows, from its ``vfs_ext`` record (several for Vega)."""
    record = (metadata or {}).get(html.METADATA_KEY)
    if not isinstance(record, dict):
        return frozenset()
    records = [record, *(r for r in record.get("files") or () if isinstance(r, dict))]
    return frozenset(r["name"] for r in records if isinstance(r.get("name"), str) and r["name"])


class DisplayFiles:
    """The files each display id's outputs show; an update retires those it no longer shows
    (released after a grace: a browser behind the updates may still ask for them).

    Without this, every version of an updated display stays stored until its cell is re-run,
    and filling the tiers then evicts other cells' visible outputs first. A ``VirtualFile``
    still referenced from Python stays (KernelSession.retire): it may be displayed again.
    """

    def __init__(self, session: KernelSession) -> None:
        self.session = session
        self._shown: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()  # displays may be updated from several threads

    def published(self, display_id: str, names: frozenset[str], *, update: bool) -> None:
        """A message for ``display_id`` showing ``names`` was published: an update replaced
        all its outputs, so what they showed before and no longer show is released."""
        with self._lock:
            before = self._shown.pop(display_id, frozenset())
            shown = names if update else before | names
            if shown:
                self._shown[display_id] = shown
        self.session.retire(sorted(before - shown))


class PublishHook:
    """The ``ZMQDisplayPublisher`` hook: applies the policy to bundles that did not pass the
    formatter, and releases the files of replaced display versions.

    ipykernel keeps hooks per thread (``register_hook`` is the only supported way in), so it is
    registered on the thread that loads the extension and, through ``register_here``, on each
    thread that formats an output; a thread whose only outputs are raw bundles
    (``display(..., raw=True)``) runs no vfs_ext code before the publisher: they stay inline.
    """

    def __init__(self, session: KernelSession, display_pub: Any) -> None:
        self.session = session
        self.display_pub = display_pub if hasattr(display_pub, "register_hook") else None
        self.displays = DisplayFiles(session)
        self.cleared = ClearedOutputs(session)
        self._local = threading.local()
        self._active = True

    def register_here(self) -> None:
        """Register on the calling thread, once (ipykernel only: others have no hooks)."""
        if not self._active or self.display_pub is None:
            return
        if not getattr(self._local, "registered", False):
            self._local.registered = True
            self.display_pub.register_hook(self)

    def remove(self) -> None:
        """Unregister here; the copies on other threads' lists go inert (they cannot be reached)."""
        self._active = False
        if self.display_pub is not None and getattr(self._local, "registered", False):
            self.display_pub.unregister_hook(self)

    def __call__(self, msg: dict[str, Any]) -> dict[str, Any]:
        msg_type = msg.get("msg_type")
        if not self._active:
            return msg
        if msg_type == "clear_output":
            self.cleared.cleared(msg)
        elif msg_type in ("display_data", "update_display_data"):
            content = msg["content"]
            data, metadata = apply_policy(
                self.session, content.get("data") or {}, content["metadata"]
            )
            content["data"], content["metadata"] = data, metadata
            names = message_files(metadata)
            display_id = (content.get("transient") or {}).get("display_id")
            update = msg_type == "update_display_data"
            if display_id:
                self.displays.published(str(display_id), names, update=update)
            if not update:
                self.cleared.published(msg, names)
        return msg
