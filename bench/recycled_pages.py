"""Give each measured copy of figure 7 the same kind of memory to write into.

On the benchmark's VM (Firecracker, virtio-balloon with free page reporting) the host takes
back memory the guest left free for a while, and the first write to such a page is several
times dearer. A copy of 500 MiB into page cache then takes 0.7-2.3 s instead of 0.1-0.2 s,
whichever program copies, and which kind of page a copy gets depends on what ran before it: a
full ``make bench`` leaves few of the fast kind, and the first of two copies takes them. So
right before each measured save and ``cp`` a file a quarter larger than what it copies is
written into page cache and deleted: each copy then writes into pages freed a moment ago, as on
a machine whose memory no hypervisor takes back, and they compare on equal terms.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

_CHUNK = 4 * 2**20


def size_of(paths: list[Path]) -> int:
    """The bytes of the files a step copies."""
    return sum(p.stat().st_size for p in paths)


def recycle(folder: Path, copied: int) -> None:
    """Before a step that copies ``copied`` bytes: write a quarter more into a file of
    ``folder``, write them back, delete the file."""
    path = folder / "recycled-pages"
    chunk = b"\0" * _CHUNK
    with path.open("wb") as f:
        for _ in range(math.ceil(copied * 1.25 / _CHUNK)):
            f.write(chunk)
    os.sync()  # clean pages: freed at once by the unlink, and no write-back in the next step
    path.unlink()
