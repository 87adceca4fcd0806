"""``%load_ext vfs_ext``: the session, the cell events, the ``%vfs`` magics and the output hooks.

Everything ``load`` installs, ``unload`` removes; files already written stay (they are on
screen) and belong to the kernel session until it ends or their cell is re-run.
"""

from __future__ import annotations

import logging
from typing import Any

from .session import KernelSession

log = logging.getLogger("vfs_ext")

_session: KernelSession | None = None
_installed: dict[int, _Installed] = {}


def current_session() -> KernelSession:
    """The kernel's session, created (with its cell events) on first use of the API."""
    global _session
    if _session is None:
        _session = KernelSession.discover()
        shell = _shell()
        if shell is not None:
            shell.events.register("pre_run_cell", _session.pre_run_cell)
            shell.events.register("post_run_cell", _session.post_run_cell)
    return _session


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


class _Installed:
    """The formatter wrapper, publisher hook and magics registered on one shell."""

    def __init__(self, shell: Any, session: KernelSession) -> None:
        from .hooks import FormatterWrapper, publish_hook
        from .magics import VfsMagics

        self.shell = shell
        self.magics = VfsMagics(shell, session)
        shell.register_magics(self.magics)
        self.formatter = FormatterWrapper(shell.display_formatter, session)
        self.formatter.install()
        self.hook = publish_hook(session)
        pub = shell.display_pub
        self.display_pub = pub if hasattr(pub, "register_hook") else None  # ipykernel only
        if self.display_pub is not None:
            self.display_pub.register_hook(self.hook)

    def remove(self) -> None:
        self.formatter.uninstall()
        if self.display_pub is not None:
            self.display_pub.unregister_hook(self.hook)
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
    if _session is not None:
        for event, callback in (
            ("pre_run_cell", _session.pre_run_cell),
            ("post_run_cell", _session.post_run_cell),
        ):
            try:
                ip.events.unregister(event, callback)
            except ValueError:
                pass
        _session.close()
        _session = None
