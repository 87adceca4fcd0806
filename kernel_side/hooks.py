"""Where outputs are intercepted: ``display_formatter.format`` first, published messages second.

``display()``, ``update_display`` / display handles and the displayhook (``execute_result``)
all call ``shell.display_formatter.format``; replacing the bundle there means a large PNG is
never base64-encoded. ``display(bundle, raw=True)`` and ``publish_display_data`` skip the
formatter, so a publisher hook applies the same policy to the message (idempotent: a bundle
already externalized has nothing over the threshold left). ipykernel keeps publisher hooks per
thread: the hook is registered on the thread that loads the extension and on every thread that
formats an output, so a thread that only ever displays raw bundles keeps them inline.

The publisher hook also sees every ``update_display_data`` (display handles, ``update_display``,
``display(..., display_id=..., update=True)``) and ``clear_output``, and replays them in
kernel_side.shown: files no output shows any more are retired (released after a grace,
vfs_ext.retire), so an animation or a live plot redrawn a thousand times keeps the frame on
screen stored, not a thousand.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from IPython.display import Image

from vfs_ext.mimes import mime_for_ext
from vfs_ext.records import shown_names
from vfs_ext.tiers import FileInfo

from . import altair_data, html
from .externalize import Writer, externalize
from .session import KernelSession
from .shown import ShownFiles

log = logging.getLogger("vfs_ext")


def _writer(session: KernelSession) -> Writer:
    """Writes for the automatic path: may evict the kernel's oldest files of other cells."""

    def write(payload: bytes, ext: str) -> dict[str, Any]:
        info: FileInfo = session.write(payload, ext, evict=True)
        return html.record(info.name, session.url(info.name), mime_for_ext(ext), info.size)

    return write


def apply_policy(
    session: KernelSession,
    data: dict[str, Any],
    metadata: dict[str, Any] | None,
    written: list[dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The bundle as the active policy wants it; unchanged when inactive or on any error.
    ``written``: files stored while the bundle was made (kernel_side.altair_data)."""
    policy = session.policy()
    if policy is None or not data:
        return data, metadata
    if not session.available:
        session.notice_no_server()
        return data, metadata
    try:
        return externalize(
            data, metadata, policy, _writer(session), written, kept_inline=session.kept_inline
        )
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
        if policy is None or not self.session.available:
            data, metadata = self.original(obj, include=include, exclude=exclude)
            return apply_policy(self.session, data, metadata)  # says once why it stays inline
        raw = _raw_image_bundle(obj, policy.threshold, include, exclude)
        if raw is not None:
            data, metadata = apply_policy(self.session, *raw)
            if not any(isinstance(value, bytes) for value in data.values()):
                return data, metadata
            # Not stored (a failed write): the caller gets IPython's own bundle, base64 text;
            # raw bytes would break ipywidgets' Output.append_display_data, for one.
            return self.original(obj, include=include, exclude=exclude)
        # Altair charts in ``obj`` store their rows as they are formatted (kernel_side.altair_data).
        with altair_data.displaying(policy.threshold, _writer(self.session)) as written:
            data, metadata = self.original(obj, include=include, exclude=exclude)
        return apply_policy(self.session, data, metadata, written)

    def install(self) -> None:
        self.formatter.format = self

    def uninstall(self) -> None:
        if self.formatter.__dict__.get("format") is self:
            del self.formatter.format


class PublishHook:
    """The ``ZMQDisplayPublisher`` hook: applies the policy to bundles that did not pass the
    formatter, and tells kernel_side.shown what each output shows, replaces or clears.

    ipykernel keeps hooks per thread (``register_hook`` is the only supported way in), so it is
    registered on the thread that loads the extension and, through ``register_here``, on each
    thread that formats an output; a thread whose only outputs are raw bundles
    (``display(..., raw=True)``) runs no vfs_ext code before the publisher: they stay inline.
    """

    def __init__(self, session: KernelSession, display_pub: Any) -> None:
        self.session = session
        self.display_pub = display_pub if hasattr(display_pub, "register_hook") else None
        self.shown = ShownFiles(session)
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
            self._track(self.shown.cleared, msg)
        elif msg_type in ("display_data", "update_display_data"):
            content = msg["content"]
            data, metadata = apply_policy(
                self.session, content.get("data") or {}, content["metadata"]
            )
            content["data"], content["metadata"] = data, metadata
            self._track(self._shown_by, msg)
        return msg

    def _shown_by(self, msg: dict[str, Any]) -> None:
        content = msg["content"]
        names = shown_names(content.get("metadata"))
        display_id = (content.get("transient") or {}).get("display_id")
        display_id = str(display_id) if display_id else None
        if msg["msg_type"] == "display_data":
            self.shown.displayed(msg, names, display_id)
        elif display_id:
            self.shown.updated(names, display_id)

    @staticmethod
    def _track(method: Callable[..., None], *args: Any) -> None:
        """Tell kernel_side.shown; a fault there (or in a message's metadata) costs stored
        bytes, never the output."""
        try:
            method(*args)
        except Exception:
            log.exception("vfs_ext: could not track which files the outputs show")
