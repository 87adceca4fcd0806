"""The ``VirtualFiles`` traits: sizes as admins write them, defaults from vfs_ext, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets import TraitError
from traitlets.config import Config

from server_side.app import VirtualFiles
from server_side.traits import VirtualFilesConfig
from vfs_ext.config import DEFAULT_THRESHOLD, default_disk_dir, default_memory_dir


def test_defaults_come_from_the_core() -> None:
    app = VirtualFiles()
    memory = default_memory_dir()
    assert app.memory_dir == ("" if memory is None else str(memory))
    assert app.disk_dir == str(default_disk_dir())
    assert app.memory_budget is None
    assert app.disk_budget is None
    assert app.max_file_size is None
    assert app.memory_keep_free is None and app.disk_keep_free is None  # the core's defaults
    assert app.threshold == DEFAULT_THRESHOLD
    assert app.chunk_size == 1024 * 1024


def test_sizes_from_config_strings_and_ints() -> None:
    config = Config()
    config.VirtualFiles.memory_budget = "2GiB"
    config.VirtualFiles.disk_budget = 10**9
    config.VirtualFiles.max_file_size = "500MB"
    config.VirtualFiles.threshold = "64KiB"
    config.VirtualFiles.memory_keep_free = "1GiB"
    config.VirtualFiles.disk_keep_free = 0
    app = VirtualFiles(config=config)
    assert app.memory_keep_free == 1024**3 and app.disk_keep_free == 0
    assert [(s.budget, s.keep_free) for s in app.tier_specs()] == [
        (2 * 1024**3, 1024**3),
        (10**9, 0),
    ]
    assert app.memory_budget == 2 * 1024**3
    assert app.disk_budget == 10**9
    assert app.max_file_size == 500 * 1000**2
    assert app.threshold == 64 * 1024


def test_empty_memory_dir_disables_the_memory_tier(tmp_path: Path) -> None:
    app = VirtualFiles(memory_dir="", disk_dir=str(tmp_path), disk_budget="1MiB")
    specs = app.tier_specs()
    assert [(s.name, s.path, s.budget) for s in specs] == [("disk", tmp_path, 1024**2)]


@pytest.mark.parametrize(
    ("trait", "value", "message"),
    [
        ("memory_budget", "lots", "invalid size"),
        ("disk_budget", -1, "negative"),
        ("sweep_interval", -5, "sweep_interval"),
        ("chunk_size", 100, "chunk_size"),
        ("threshold", True, "threshold"),
    ],
)
def test_bad_values_are_refused_with_the_setting_named(
    trait: str, value: object, message: str
) -> None:
    with pytest.raises(TraitError, match=message):
        VirtualFiles(**{trait: value})


def test_every_setting_is_configurable_and_documented() -> None:
    traits = VirtualFilesConfig.class_own_traits(config=True)
    assert {
        "memory_dir",
        "disk_dir",
        "memory_budget",
        "disk_budget",
        "max_file_size",
        "threshold",
        "sweep_interval",
        "chunk_size",
    } <= set(traits)
    assert all(t.help for t in traits.values())


@pytest.mark.parametrize("disk", ["same", "inside", "around"])
def test_overlapping_tier_dirs_are_refused_with_both_settings_named(
    tmp_path: Path, disk: str
) -> None:
    memory = tmp_path / "tiers" / "mem"
    disk_dir = {"same": memory, "inside": memory / "disk", "around": memory.parent}[disk]
    app = VirtualFiles(memory_dir=str(memory), disk_dir=str(disk_dir))
    with pytest.raises(ValueError, match=r"memory_dir .* and VirtualFiles\.disk_dir .* overlap"):
        app.tier_specs()


def test_separate_sibling_tier_dirs_are_fine(tmp_path: Path) -> None:
    app = VirtualFiles(memory_dir=str(tmp_path / "mem"), disk_dir=str(tmp_path / "mem-disk"))
    assert [s.name for s in app.tier_specs()] == ["memory", "disk"]
