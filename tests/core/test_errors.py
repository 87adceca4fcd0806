"""What a caller catches: SourceError when the data is at fault, VirtualFileError otherwise,
and only public exception classes in what a notebook user reads."""

from __future__ import annotations

import io
import traceback

import pytest

from tests.support.payloads import payload
from tests.support.tiers import part_files
from vfs_ext import SourceError, VirtualFileError

MiB = 1024 * 1024


class _FailsMidway(io.RawIOBase):
    """A file-like object whose second read raises something that is not an OSError."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc
        self.reads = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        self.reads += 1
        if self.reads > 1:
            raise self.exc
        b[:10] = b"0123456789"
        return 10


@pytest.mark.parametrize(
    "exc", [RuntimeError("decoder crashed"), ValueError("I/O operation on closed file")]
)
def test_a_source_failing_midway_is_a_source_error_and_stores_nothing(store, exc):
    with store.open_owner("k") as owner:
        with pytest.raises(SourceError, match="reading the data to store failed") as raised:
            owner.write(_FailsMidway(exc), "bin")
        assert raised.value.__cause__ is exc  # the original error is chained, not lost
        assert owner.files() == []
    for tier in store.tiers:
        assert part_files(tier.root) == []


def test_a_bad_extension_is_a_virtual_file_error(store):
    with store.open_owner("k") as owner:
        for bad in ("../x", "p ng", "x" * 17):
            with pytest.raises(VirtualFileError, match="invalid extension"):
                owner.write(b"x", bad)
            with pytest.raises(ValueError, match="invalid extension"):  # as documented before
                owner.write(b"x", bad)
        assert owner.files() == []


def _chain(exc: BaseException | None) -> list[BaseException]:
    found = []
    while exc is not None and exc not in found:
        found.append(exc)
        exc = exc.__cause__ or exc.__context__
    return found


@pytest.mark.parametrize("evict", [False, True])
def test_a_file_that_fits_nowhere_shows_only_public_exception_classes(make_store, evict):
    store = make_store(memory_budget=MiB, disk_budget=MiB)
    with store.open_owner("k") as owner:
        owner.write(payload("old", MiB // 2), "bin", "other cell")
        with pytest.raises(VirtualFileError, match="fits in no tier") as raised:
            owner.write(payload("big", 2 * MiB), "bin", evict=evict)
    chain = _chain(raised.value)
    assert [type(e).__name__ for e in chain if type(e).__name__.startswith("_")] == []
    text = "".join(traceback.format_exception(raised.value))
    assert "._" not in "".join(f"{type(e).__module__}.{type(e).__qualname__}" for e in chain)
    assert "_NoTier" not in text and "_DoesNotFit" not in text and "_TierFailed" not in text
