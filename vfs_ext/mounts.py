"""Which filesystem a tier lives on, read from ``/proc/self/mountinfo`` (Linux; empty elsewhere).

The memory tier needs tmpfs, and how fast it takes a write depends on the tmpfs: one mounted
with transparent huge pages (``huge=within_size``) hands out fresh memory in 2 MiB pages instead
of 4 KiB ones, and took 100 MiB about 7x faster than the same machine's default ``/dev/shm``
(docs/admin.md, "Huge pages for the memory tier"). Admins see the policy in ``/api/vfs`` and
the log.
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
    """One line of mountinfo: where, which device, which filesystem, its superblock options."""

    point: Path
    fstype: str
    options: tuple[str, ...]
    device: tuple[int, int] | None = None  # (major, minor), as st_dev of the files on it

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


def _device(field: str) -> tuple[int, int] | None:
    major, sep, minor = field.partition(":")
    return (int(major), int(minor)) if sep and major.isdigit() and minor.isdigit() else None


def mounts() -> list[Mount]:
    """Every mount this process sees, in mountinfo order (later mounts stack on earlier ones)."""
    try:
        # Paths are bytes to the kernel: decoded as Python decodes file names, never refused.
        lines = os.fsdecode(MOUNTINFO.read_bytes()).splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(" "), right.split(" ")
        if not sep or len(fields) < 5 or len(tail) < 3:
            continue
        point = Path(_unescape(fields[4]))
        found.append(Mount(point, tail[0], tuple(tail[2].split(",")), _device(fields[2])))
    return found


def existing_ancestor(path: Path) -> Path:
    """``path`` itself if it exists, else its nearest existing parent: where a directory that
    is not made yet will live (a tier's base before its first start)."""
    existing = Path(os.path.abspath(path))
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return existing


def filesystem_space(path: Path) -> tuple[int, int]:
    """(size, bytes free to an unprivileged writer) of the filesystem holding ``path``: one
    statfs, no walk. OSError when ``path`` does not exist."""
    st = os.statvfs(path)
    return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize


def _resolved(path: Path) -> tuple[Path, tuple[int, int] | None]:
    """``path`` with the symlinks of its existing part resolved, and the device it lies on."""
    path = Path(os.path.abspath(path))
    existing = existing_ancestor(path)
    try:
        st = os.stat(existing)
    except OSError:
        return path, None
    real = Path(os.path.realpath(existing)) / path.relative_to(existing)
    return real, (os.major(st.st_dev), os.minor(st.st_dev))


def mount_of(path: Path) -> Mount | None:
    """The mount holding ``path`` (which need not exist yet), through symlinks.

    The mount of the path's device wins (a mount hidden under a later one, or moved, cannot
    fool it); among several, and where no device matches (btrfs subvolumes report others), the
    innermost mount point containing the path, the last mounted on the same point.
    """
    real, device = _resolved(path)
    best: Mount | None = None
    containing = [m for m in mounts() if real == m.point or m.point in real.parents]
    on_device = [m for m in containing if device is not None and m.device == device]
    for mount in on_device or containing:
        if best is None or len(mount.point.parts) >= len(best.point.parts):
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
