"""A small private file replaced whole: readers (another process, another version of this
package) see the old content or the new one, never a part of it.

The server's record for kernels, the persistence status and the memory tier's recorded base are
written this way: a temporary file beside the target (``layout.temporary``), readable by this user
only, opened without following a symlink planted at its name, then renamed over the target.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import layout

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (mode 0600); OSError if it cannot be written."""
    tmp = layout.temporary(path)
    fd = os.open(tmp, _FLAGS, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
