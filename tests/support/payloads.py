"""What tests and worker processes write: deterministic bytes, and sources that hide what
vfs_ext could otherwise learn about them (their size, that they can seek)."""

from __future__ import annotations

import hashlib
import random
from typing import Any


def payload(seed: str, size: int) -> bytes:
    """Deterministic, non-repeating bytes per seed: a mixed-up file, or a chunk written twice
    or dropped, changes the content, not just the size."""
    return random.Random(seed).randbytes(size)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ReadOnly:
    """A stream of unknown size with only ``read``, returning at most ``step`` bytes at a time."""

    def __init__(self, data: bytes, step: int = 64 * 1024) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._step = step

    def read(self, n: int = -1) -> bytes:
        n = self._step if n < 0 else min(n, self._step)
        chunk = self._data[self._pos : self._pos + n]
        self._pos += len(chunk)
        return bytes(chunk)


class OnlyRead:
    """Exposes nothing but ``read`` of a file (so vfs_ext cannot learn its size or seek it)."""

    def __init__(self, f: Any) -> None:
        self.read = f.read
