"""Which filesystem a tier lives on, read from ``/proc/self/mountinfo`` (Linux; empty elsewhere).

The memory tier needs tmpfs, and how fast it takes a write depends on the tmpfs: one mounted
with transparent huge pages (``huge=within_size``) hands out fresh memory in 2 MiB pages instead
of 4 KiB ones, and took 100 MiB about 7x faster than the same machine's default ``/dev/shm``
(README, "Huge pages for the memory tier"). Admins see the policy in ``/api/vfs`` and the log.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")
#: The system-wide shmem policy; its ``force`` and ``deny`` override every mount's ``huge=``.
SHMEM_ENABLED = Path("/sys/kernel/mm/transparent_hugepage/shmem_enabled")


@dataclass(frozen=True)
class Mount:
    """One line of mountinfo: where, which filesystem, and its superblock options."""

    point: Path
    fstype: str
    options: tuple[str, ...]

    def option(self, key: str) -> str | None:
        """The value of ``key=value`` among the options, if given."""
        for opt in self.options:
            name, sep, value = opt.partition("=")
            if sep and name == key:
                return value
        return None


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes."""
    for escaped, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(escaped, char)
    return field


def mounts() -> list[Mount]:
    """Every mount this process sees, in mountinfo order (later mounts stack on earlier ones)."""
    try:
        lines = MOUNTINFO.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(" "), right.split(" ")
        if not sep or len(fields) < 5 or len(tail) < 3:
            continue
        found.append(Mount(Path(_unescape(fields[4])), tail[0], tuple(tail[2].split(","))))
    return found


def mount_of(path: Path) -> Mount | None:
    """The innermost mount holding ``path`` (which need not exist yet); the last one mounted
    wins among mounts on the same point, as the kernel shows only the top one."""
    path = Path(os.path.abspath(path))
    best: Mount | None = None
    for mount in mounts():
        if (path == mount.point or mount.point in path.parents) and (
            best is None or len(mount.point.parts) >= len(best.point.parts)
        ):
            best = mount
    return best


def is_on_tmpfs(path: Path) -> bool:
    """Whether ``path`` lives on a tmpfs mount (the innermost mount containing it decides)."""
    mount = mount_of(path)
    return mount is not None and mount.fstype == "tmpfs"


def system_shmem_policy() -> str | None:
    """The selected value of ``shmem_enabled`` (``always [never] ...``), None if unreadable."""
    try:
        text = SHMEM_ENABLED.read_text(encoding="ascii")
    except OSError:
        return None
    start, end = text.find("["), text.find("]")
    return text[start + 1 : end] if 0 <= start < end else None


def tmpfs_huge_pages(path: Path) -> str | None:
    """The transparent huge page policy a write to ``path`` meets on its tmpfs: ``never``,
    ``always``, ``within_size`` or ``advise`` (the mount's ``huge=``, unless the system forces
    or denies huge pages for every tmpfs); None where ``path`` is not on tmpfs."""
    mount = mount_of(path)
    if mount is None or mount.fstype != "tmpfs":
        return None
    system = system_shmem_policy()
    if system == "force":
        return "always"
    if system == "deny":
        return "never"
    return mount.option("huge") or "never"
