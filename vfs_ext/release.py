"""Releasing an owner's files on disk: a group at once, a dead run's leftovers, room for a write.

A released file's URL fails at once; its bytes are freed now, or set aside under a
``.released-`` name and freed in the background (vfs_ext.reuse.FreeQueue), or kept as a
spare for the next writes to overwrite. What moves between directories moves under the tier's
budget lock: an exact count of the budget must not miss bytes in transit (vfs_ext.budget).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from . import layout
from .budget import budget_lock, shortfall
from .config import format_size
from .drain import discard
from .names import NAME_RE
from .reuse import SPARE_MIN, FreeQueue, SparePool
from .tiers import FileInfo, Tier, pending_dirs, scan_dir, subdirs

log = logging.getLogger("vfs_ext")

#: Released groups this large are freed in the background (``release_group(wait=False)``).
#: Measured here (bench/, 2 cores): freeing 50 MiB on the side saves a re-run 1.5 ms of 17.6;
#: below about 32 MiB it costs more than it saves, because the write that follows then takes
#: fresh pages instead of reusing the ones just freed on its own CPU.
BACKGROUND_RELEASE_MIN = 32 * 1024 * 1024


def release_group(
    tier: Tier,
    owner_dir: Path,
    gkey: str,
    freeing: FreeQueue,
    spares: SparePool,
    *,
    wait: bool,
    reuse: bool,
) -> tuple[int, int]:
    """Release the files of one group in one tier (see Owner.release_group); how many, and
    their bytes."""
    directory = layout.group_dir(owner_dir, gkey)
    files = group_files(directory)
    large = {f for f in files if reuse and f[1] >= SPARE_MIN and NAME_RE.match(f[0])}
    rest = [f for f in files if f not in large]
    background = not wait and sum(size for _, size in rest) >= BACKGROUND_RELEASE_MIN
    kept: list[str] = []
    set_aside = None
    if large or background:
        with budget_lock(tier):
            if large:
                kept = spares.keep(owner_dir, directory, sorted(large))
            if background:
                set_aside = _set_aside(directory)
    if set_aside is not None:
        freeing.submit(set_aside)
    elif not background:
        discard(directory)
    else:
        rest = []  # released by someone else meanwhile
    sizes = dict(files)
    return len(kept) + len(rest), sum(sizes[name] for name in kept) + sum(n for _, n in rest)


def sweep_leftovers(tier: Tier, owner_dir: Path, freeing: FreeQueue, *, parts: bool) -> None:
    """Free what a killed previous process of this owner left in ``owner_dir``: spares,
    released groups and, with ``parts``, writes it never finished (``.part-*``, counted by
    their reservation until then). Moved out of the way first: this process may keep spares
    of its own there soon."""
    names = pending_dirs(owner_dir)
    found = [
        Path(entry.path)
        for group in (subdirs(owner_dir) if parts else [])
        for entry in scan_dir(layout.group_dir(owner_dir, group))
        if layout.is_part(entry.name)
    ]
    if not names and not found:
        return
    with budget_lock(tier):
        set_aside = [_set_aside(layout.group_dir(owner_dir, name)) for name in names]
        if found:
            set_aside.append(_gather(found, owner_dir))
    for path in set_aside:
        if path is not None:
            freeing.submit(path)


def evict_for(
    tiers: Sequence[Tier],
    key: str,
    size: int,
    keep_gkey: str,
    record_event: Callable[..., None],
) -> bool:
    """Release this owner's oldest files (not of group ``keep_gkey``) until ``size`` bytes fit
    one tier; False if no tier can get that much room so."""
    for tier in tiers:
        victims = sorted(
            (f for f in tier.iter_files(key) if f.group != keep_gkey), key=lambda f: f.mtime
        )
        try:
            deficit = shortfall(tier, size)
        except OSError:  # the tier's directory is gone: nothing to evict there
            continue
        if deficit > sum(v.size for v in victims):
            continue
        _evict(tier, victims, deficit, record_event)
        return True
    return False


def _evict(
    tier: Tier, victims: list[FileInfo], deficit: int, record_event: Callable[..., None]
) -> None:
    for victim in victims:
        if deficit <= 0:
            break
        discard(victim.path)
        deficit -= victim.size
        log.warning(
            "vfs_ext: evicted %s (%s, %s tier) to make room",
            victim.name,
            format_size(victim.size),
            tier.name,
        )
        record_event("evict", name=victim.name, size=victim.size, tier=tier.name)


def release_groups(owner_dir: Path) -> int:
    """Remove every group of an owner (its locks and pending directories stay); how many
    files they held."""
    count = 0
    for group in subdirs(owner_dir):
        directory = layout.group_dir(owner_dir, group)
        count += len(group_files(directory))
        discard(directory)
    return count


def group_files(path: Path) -> list[tuple[str, int]]:
    """(name, size) of a group directory's virtual files (not writes in progress nor markers,
    whose names are hidden); empty if the directory is gone."""
    found = []
    for entry in scan_dir(path):
        if not layout.is_hidden(entry.name):
            with contextlib.suppress(FileNotFoundError):
                found.append((entry.name, entry.stat(follow_symlinks=False).st_size))
    return found


def _set_aside(directory: Path) -> Path | None:
    """Rename ``directory`` to a released name in its parent (its URLs fail from now on); None
    if it is gone already. Call with the tier's budget lock held."""
    released = layout.new_released_dir(directory.parent)
    try:
        os.rename(directory, released)
    except FileNotFoundError:
        return None
    return released


def _gather(files: list[Path], owner_dir: Path) -> Path | None:
    """Move ``files`` (keeping their names, so the budget still counts them) into one new
    released directory of ``owner_dir``; None if it cannot be made. Call with the tier's budget
    lock held."""
    released = layout.new_released_dir(owner_dir)
    try:
        released.mkdir(mode=0o700)
    except OSError:
        return None
    for path in files:
        with contextlib.suppress(FileNotFoundError):
            os.rename(path, layout.file_path(released, path.name))
    return released
