"""When another local user squats the memory tier's default base, use one they cannot take.

``/dev/shm`` is writable by everyone and uids are predictable, so any local user can create
``/dev/shm/vfs_ext-<uid>`` before that user's server starts. The server rightly refuses a base
someone else owns (vfs_ext.tiers), which used to disable the memory tier until an admin noticed.
Instead it now tries, in order:

1. ``$XDG_RUNTIME_DIR/vfs_ext`` when ``$XDG_RUNTIME_DIR`` is a tmpfs folder of ours that nobody
   else may enter (systemd's ``/run/user/<uid>``): no other user can create anything in it;
2. ``/dev/shm/vfs_ext-<uid>-<random>``, recorded in the server's runtime folder (private to the
   user) so the next start finds it, and its leftovers, again. A name that is gone is never made
   again: others may have seen it in ``/dev/shm`` and taken it meanwhile.

The refusal and the base used instead are reported in ``api/vfs``, ``%vfs stats`` and once in
each kernel.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass, replace
from pathlib import Path

from . import layout
from .atomic import write_private
from .config import MEMORY, TierSpec, default_memory_dir
from .mounts import is_on_tmpfs
from .tiers import TierRefused, ensure_private_dir


@dataclass(frozen=True)
class Relocation:
    """The base to use instead of a refused one, and what to tell the user (``moved: ...``, as
    ``Store.refused`` says ``disabled: ...``)."""

    base: Path
    note: str


def relocate_if_squatted(preferred: Path, runtime_dir: Path) -> Relocation | None:
    """None when ``preferred`` is usable (or no private alternative exists either: the store
    then refuses it and says why); otherwise the base to use and the note saying why."""
    why = _refusal(preferred)
    if why is None:
        return None
    for candidate in (_runtime_base(), *_recorded_or_new(preferred, runtime_dir)):
        if candidate is not None and _refusal(candidate) is None:
            _record(runtime_dir, candidate, preferred)
            return Relocation(candidate, f"moved: {preferred} refused ({why}); using {candidate}")
    return None


def _refusal(base: Path) -> str | None:
    """Why an existing ``base`` is unsafe, or None when it is safe or does not exist yet (the
    store makes it, and so also removes it when it stops)."""
    if not os.path.lexists(base):
        return None
    try:
        ensure_private_dir(base, create=False)
    except (TierRefused, OSError) as exc:
        return str(exc)
    return None


def _runtime_base() -> Path | None:
    """``$XDG_RUNTIME_DIR/vfs_ext`` if that folder is a private tmpfs folder of ours."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if not runtime or not os.path.isabs(runtime):
        return None
    try:
        st = os.lstat(runtime)
    except OSError:
        return None
    private = stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077
    return Path(runtime) / "vfs_ext" if private and is_on_tmpfs(Path(runtime)) else None


def _recorded_or_new(preferred: Path, runtime_dir: Path) -> list[Path]:
    """The recorded random base if it still exists, then a fresh one beside ``preferred``."""
    found = []
    try:
        text = layout.memory_base_record(runtime_dir).read_text(encoding="utf-8")
        recorded = Path(text.strip())
    except (OSError, ValueError):
        recorded = None
    if recorded is not None and recorded.parent == preferred.parent and recorded.is_dir():
        found.append(recorded)
    found.append(preferred.with_name(f"{preferred.name}-{secrets.token_hex(8)}"))
    return found


def _record(runtime_dir: Path, base: Path, preferred: Path) -> None:
    """Remember a random base for the next start (the runtime base needs no record)."""
    if base.parent != preferred.parent:
        return
    try:
        write_private(layout.memory_base_record(runtime_dir), str(base))
    except OSError:
        pass  # only a convenience: the next start makes a new base and sweeps nothing here


def relocate_memory_tier(
    specs: list[TierSpec], runtime_dir: Path
) -> tuple[list[TierSpec], tuple[tuple[str, str], ...]]:
    """``specs`` with the memory tier moved off a squatted default base, and the note for
    ``StoreConfig.refused``. A base set by the admin is left alone: they chose it."""
    default = default_memory_dir()
    for i, spec in enumerate(specs):
        if spec.name != MEMORY or default is None or Path(os.path.abspath(spec.path)) != default:
            continue
        moved = relocate_if_squatted(default, runtime_dir)
        if moved is not None:
            return (
                [*specs[:i], replace(spec, path=moved.base), *specs[i + 1 :]],
                ((MEMORY, moved.note),),
            )
    return specs, ()
