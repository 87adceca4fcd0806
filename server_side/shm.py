"""The warning for a memory tier on a small tmpfs: a container's /dev/shm.

Docker gives a container a 64 MiB /dev/shm unless told otherwise (``--shm-size``, compose
``shm_size``), and so does Kubernetes (Zero to JupyterHub mounts a bigger one with an ``emptyDir``
of ``medium: Memory``). There the memory tier's default budget is 16 MiB and most large outputs
go to disk: correct, but slower, and an admin cannot tell why without being told.
"""

from __future__ import annotations

from vfs_ext.config import format_size
from vfs_ext.mounts import filesystem_space, mount_of
from vfs_ext.tiers import Tier

#: A memory tier on a smaller filesystem than this is reported at start and in api/vfs.
SMALL_TMPFS = 1024**3

FIX = (
    "give the server a larger one: docker run --shm-size=2g, docker-compose shm_size: 2gb, "
    "Kubernetes / Zero to JupyterHub: an emptyDir volume with medium: Memory and a sizeLimit "
    "mounted at /dev/shm (singleuser.storage.extraVolumes and extraVolumeMounts), or point "
    "VirtualFiles.memory_dir at a larger tmpfs (docs/admin.md: Containers and Zero to JupyterHub)"
)


def small_tmpfs_warning(tier: Tier) -> str | None:
    """Why the memory tier takes only small outputs, and the fix; None when its filesystem
    is large enough."""
    try:
        size, _free = filesystem_space(tier.root)
    except OSError:
        return None
    if size >= SMALL_TMPFS:
        return None
    mount = mount_of(tier.root)
    where = mount.point if mount is not None else tier.base
    return (
        f"the memory tier's filesystem {where} holds only {format_size(size)} (containers get "
        f"64 MiB unless configured), so its budget is {format_size(tier.budget)} and larger "
        f"outputs go to the disk tier; {FIX}"
    )
