"""Folders: the server makes a tier's namespace, kernels only make folders inside it, and the
server's exit takes the namespace away from its kernels in one step.

A kernel outlives its server by a second or two: JupyterHub stops a server with SIGINT and no
terminal, jupyter_server then exits without shutting its kernels down, and each kernel writes on
until it notices its parent is gone. Were kernels to create missing parents, they would rebuild
the namespace the server just removed (``mkdir -p`` makes parents 0755, readable by other users)
and leave up to their whole budget in it, with no server left to remove it.

So a namespace is removed by renaming it first (every path a kernel builds stops resolving at
once; a write already under way fails at its final rename), then deleting the renamed tree; and
kernels create folders only below a namespace that exists, each one 0700.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from . import layout
from .errors import VirtualFileError

#: Deletions of a renamed namespace: a write whose path was resolved just before the rename can
#: still add a file to it while the first pass runs.
_REMOVE_PASSES = 5


class ServerGone(VirtualFileError):
    """The server that made this namespace removed it (it stopped): there is nowhere to write."""


def make_private_dirs(path: Path, *, below: Path) -> None:
    """Create ``path`` and its missing parents down from ``below``, each 0700; ``below`` itself
    must exist (ServerGone otherwise: it is the namespace, and only its server makes it)."""
    missing = []
    current = path
    while current != below and not current.is_dir():
        missing.append(current)
        if below not in current.parents:
            raise ValueError(f"{path} is not inside {below}")
        current = current.parent
    try:
        _make_each(reversed(missing))
    except FileNotFoundError:
        if not below.is_dir():
            raise ServerGone(f"{below} is gone: the server that made it has stopped") from None
        raise


def make_base_dirs(path: Path) -> None:
    """Create ``path``'s missing parents for a server's base directory, each 0700 (``mkdir -p``
    would make them 0755 and so let other users list what is inside)."""
    missing = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    _make_each(reversed(missing))


def _make_each(directories: Iterable[Path]) -> None:
    """Make each directory 0700, parents first; one made meanwhile by another process is fine."""
    for directory in directories:
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass


def check_namespace(roots: list[Path]) -> None:
    """ServerGone when a tier's namespace folder is gone: its server stopped."""
    for root in roots:
        if not root.is_dir():
            raise ServerGone(
                f"{root} is gone: the Jupyter server that served this kernel has stopped"
            )


def remove_namespace(root: Path) -> None:
    """Remove a namespace so that none of its kernels can write into it again (see above)."""
    removing = layout.new_removing_dir(root.parent)  # a sweep finishes if the server dies
    try:
        os.rename(root, removing)
    except FileNotFoundError:
        return
    except OSError:
        removing = root  # e.g. the base is read-only now: delete in place, as best we can
    remove_tree(removing)


def remove_tree(path: Path) -> None:
    """Delete ``path`` entirely, again if a late write added to it during a pass."""
    for _ in range(_REMOVE_PASSES):
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path):
            return


def leftover_removals(base: Path) -> list[Path]:
    """Namespaces whose removal a dying server did not finish, in a tier's base directory."""
    try:
        with os.scandir(base) as entries:
            return [
                Path(e.path)
                for e in entries
                if layout.is_removing(e.name) and e.is_dir(follow_symlinks=False)
            ]
    except (FileNotFoundError, NotADirectoryError):
        return []
