"""``%load_ext vfs_ext``: the session, the cell events, the ``%vfs`` magics and the output hooks.

Everything ``load`` installs, ``unload`` removes; files already written stay (they are on
screen) and belong to the kernel session until it ends or their cell is re-run.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from .notices import route_log
from .session import KernelSession

log = logging.getLogger("vfs_ext")

_session: KernelSession | None = None
_installed: dict[int, _Installed] = {}
# Threads that use the API at once must share one session: a second one would wait for the
# first one's owner lock and fail after its timeout.
_session_lock = threading.Lock()


def current_session() -> KernelSession:
    """The kernel's session, created (with its cell events) on first use of the API."""
    global _session
    session = _session
    if session is not None:
        return session
    with _session_lock:
        if _session is None:
            _session = _new_session()
        return _session


def _new_session() -> KernelSession:
    """A session listening to cell events, already in the cell that is running, if any."""
    route_log()  # before the session's first record
    session = KernelSession.discover()
    shell = _shell()
    if shell is not None:
        shell.events.register("pre_run_cell", session.pre_run_cell)
        shell.events.register("post_run_cell", session.post_run_cell)
        _join_running_cell(shell, session)
    return session


def _join_running_cell(shell: Any, session: KernelSession) -> None:
    """Put this cell's files in its group: its pre_run_cell event was over before we listened,
    and without it a re-run of the cell would not release them."""
    result = getattr(getattr(shell, "displayhook", None), "exec_result", None)
    info = getattr(result, "info", None)
    if info is None or getattr(info, "silent", False):  # silent cells send no post_run_cell
        return
    session.join_cell(info)
    if shell.displayhook.exec_result is not result:  # the cell ended meanwhile (another thread)
        session.post_run_cell(result)


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


class _Installed:
    """The formatter wrapper, publisher hook and magics registered on one shell."""

    def __init__(self, shell: Any, session: KernelSession) -> None:
        from .hooks import FormatterWrapper, PublishHook
        from .magics import VfsMagics, vfs_cell_transformer

        self.shell = shell
        self.magics = VfsMagics(shell, session)
        shell.register_magics(self.magics)
        # %%vfs cells run as themselves (see kernel_side.magics); without the list (IPython < 7)
        # they run as a cell magic's body.
        self.transformers = getattr(shell, "input_transformers_cleanup", None)
        if self.transformers is not None and vfs_cell_transformer not in self.transformers:
            self.transformers.append(vfs_cell_transformer)
        self.hook = PublishHook(session, shell.display_pub)
        self.hook.register_here()
        self.formatter = FormatterWrapper(shell.display_formatter, session, self.hook.register_here)
        self.formatter.install()

    def remove(self) -> None:
        from .magics import vfs_cell_transformer

        if self.transformers is not None and vfs_cell_transformer in self.transformers:
            self.transformers.remove(vfs_cell_transformer)
        self.formatter.uninstall()
        self.hook.remove()
        for kind in ("line", "cell"):
            self.shell.magics_manager.magics[kind].pop("vfs", None)
        self.shell.magics_manager.registry.pop(type(self.magics).__name__, None)


def load(ip: Any) -> None:
    """Register the magics, the output hooks and the cell events (idempotent)."""
    session = current_session()
    if id(ip) not in _installed:
        _installed[id(ip)] = _Installed(ip, session)


def unload(ip: Any) -> None:
    """Undo ``load``: hooks, magics, events; the files already written stay viewable."""
    global _session
    installed = _installed.pop(id(ip), None)
    if installed is not None:
        installed.remove()
    with _session_lock:
        session, _session = _session, None
    if session is not None:
        for event, callback in (
            ("pre_run_cell", session.pre_run_cell),
            ("post_run_cell", session.post_run_cell),
        ):
            try:
                ip.events.unregister(event, callback)
            except ValueError:
                pass
        session.close()
