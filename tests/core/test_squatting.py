"""The memory tier's base moves off a base it must refuse, to one others cannot pre-create (the
real squatter, another Unix user, is in tests/hub/test_squatting.py)."""

from __future__ import annotations

from pathlib import Path

from vfs_ext.layout import MEMORY_BASE_RECORD as RECORD
from vfs_ext.squatting import relocate_if_squatted


def test_a_usable_or_missing_base_stays(shm_dir: Path, tmp_path: Path) -> None:
    assert relocate_if_squatted(shm_dir / "vfs_ext-1", tmp_path) is None
    (shm_dir / "vfs_ext-1").mkdir(mode=0o700)
    assert relocate_if_squatted(shm_dir / "vfs_ext-1", tmp_path) is None


def test_a_refused_base_moves_to_a_recorded_random_one(
    shm_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    squatted = shm_dir / "vfs_ext-1"
    squatted.mkdir()
    squatted.chmod(0o777)  # anyone may plant files here: refused like another user's folder
    moved = relocate_if_squatted(squatted, tmp_path)
    assert moved is not None
    assert moved.base.parent == shm_dir and moved.base.name.startswith("vfs_ext-1-")
    assert (
        moved.note.startswith(f"moved: {squatted} refused (") and "writable by other" in moved.note
    )
    assert (tmp_path / RECORD).read_text() == str(moved.base)

    again = relocate_if_squatted(squatted, tmp_path)
    assert again is not None and again.base != moved.base  # gone: never made again
    moved.base.mkdir(mode=0o700)  # as a killed server left it: found again, with its leftovers
    (tmp_path / RECORD).write_text(str(moved.base))
    again = relocate_if_squatted(squatted, tmp_path)
    assert again is not None and again.base == moved.base
