"""What the server tells its kernels, through environment variables they inherit.

The server extension fills these in ``os.environ`` when it loads; every kernel it starts inherits
them (``SessionManager.get_kernel_env`` copies ``os.environ``). These names are defined here only.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import layout
from .atomic import write_private
from .mounts import existing_ancestor, filesystem_space, is_on_tmpfs

ENV_TIERS = "VFS_EXT_TIERS"  # JSON list of {"name", "path", "budget", "keep_free"}, in order
ENV_BASE_URL = "VFS_EXT_BASE_URL"
ENV_NAMESPACE = "VFS_EXT_NAMESPACE"
ENV_MAX_FILE_SIZE = "VFS_EXT_MAX_FILE_SIZE"
ENV_THRESHOLD = "VFS_EXT_THRESHOLD"
ENV_SERVER_PID = "VFS_EXT_SERVER_PID"
ENV_REFUSED = "VFS_EXT_REFUSED"  # JSON {tier name: why its directory was refused}

ALL_ENV = (
    ENV_TIERS,
    ENV_BASE_URL,
    ENV_NAMESPACE,
    ENV_MAX_FILE_SIZE,
    ENV_THRESHOLD,
    ENV_SERVER_PID,
    ENV_REFUSED,
)

DEFAULT_THRESHOLD = 256 * 1024
MEMORY = "memory"
DISK = "disk"


@dataclass(frozen=True)
class TierSpec:
    """One storage tier: ``path`` is the shared base directory; a server uses ``path/namespace``."""

    name: str
    path: Path
    budget: int | None = None  # bytes; None -> derived from the filesystem's size
    keep_free: int | None = None  # bytes of the filesystem left to others; None -> default


@dataclass(frozen=True)
class StoreConfig:
    """Everything a writer or a reader must agree on."""

    tiers: tuple[TierSpec, ...]
    namespace: str
    base_url: str = "/"
    max_file_size: int | None = None
    threshold: int = DEFAULT_THRESHOLD
    server_pid: int | None = None
    #: (tier name, why) for tier directories the server refused: disabled or moved elsewhere.
    refused: tuple[tuple[str, str], ...] = ()

    def to_env(self) -> dict[str, str]:
        """The variables a kernel needs to write where this server reads."""
        env = {
            ENV_TIERS: json.dumps(
                [
                    {
                        "name": t.name,
                        "path": str(t.path),
                        "budget": t.budget,
                        "keep_free": t.keep_free,
                    }
                    for t in self.tiers
                ]
            ),
            ENV_NAMESPACE: self.namespace,
            ENV_BASE_URL: self.base_url,
            ENV_THRESHOLD: str(self.threshold),
        }
        if self.max_file_size is not None:
            env[ENV_MAX_FILE_SIZE] = str(self.max_file_size)
        if self.server_pid is not None:
            env[ENV_SERVER_PID] = str(self.server_pid)
        if self.refused:
            env[ENV_REFUSED] = json.dumps(dict(self.refused))
        return env

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StoreConfig | None:
        """The configuration a server exported, or None when no server set one up."""
        env = os.environ if environ is None else environ
        if ENV_TIERS not in env or ENV_NAMESPACE not in env:
            return None
        try:
            specs = json.loads(env[ENV_TIERS])
            if not isinstance(specs, list):
                raise TypeError("expected a JSON list of tiers")
            tiers = tuple(
                TierSpec(
                    str(t["name"]),
                    Path(t["path"]),
                    _opt_int(t.get("budget")),
                    _opt_int(t.get("keep_free")),
                )
                for t in specs
            )
            return cls(
                tiers=tiers,
                namespace=env[ENV_NAMESPACE],
                base_url=env.get(ENV_BASE_URL, "/"),
                max_file_size=_opt_int(env.get(ENV_MAX_FILE_SIZE)),
                threshold=_int(env.get(ENV_THRESHOLD), DEFAULT_THRESHOLD),
                server_pid=_opt_int(env.get(ENV_SERVER_PID)),
                refused=tuple(
                    (str(k), str(v))
                    for k, v in dict(json.loads(env.get(ENV_REFUSED) or "{}")).items()
                ),
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"malformed vfs_ext environment ({ENV_TIERS} etc.): {exc}") from exc


def _int(value: object, default: int) -> int:
    """``_opt_int`` with a default for an absent value."""
    number = _opt_int(value)
    return default if number is None else number


def _opt_int(value: object) -> int | None:
    """A byte count or pid from the environment: a non-negative integer, None if absent, else
    ValueError."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected a whole number, got {value!r}")
    number = int(value)
    if number < 0:
        raise ValueError(f"expected a non-negative number, got {value!r}")
    return number


def default_memory_dir() -> Path | None:
    """``/dev/shm/vfs_ext-<uid>`` when /dev/shm is tmpfs; None where there is no memory tier."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or not is_on_tmpfs(shm):
        return None
    return shm / f"vfs_ext-{os.geteuid()}"


def default_disk_dir() -> Path:
    """A private directory under Jupyter's runtime dir."""
    from jupyter_core.paths import jupyter_runtime_dir

    return Path(jupyter_runtime_dir()) / "vfs_ext"


def default_budget(tier_name: str, path: Path) -> int:
    """A quarter of a memory tier's filesystem; half the free disk space, at most 20 GiB."""
    size, free = filesystem_space(existing_ancestor(path))
    if tier_name == MEMORY:
        return size // 4
    return min(free // 2, 20 * 1024**3)


def default_keep_free(tier_name: str, path: Path) -> int:
    """A tenth of a memory tier's filesystem; nothing on disk (its budget already leaves room).

    Other programs share /dev/shm (PyTorch DataLoader workers, multiprocessing, browsers), and
    a full /dev/shm kills many of them with SIGBUS: vfs_ext, which falls back to disk, stops
    writing there first."""
    if tier_name != MEMORY:
        return 0
    size, _free = filesystem_space(existing_ancestor(path))
    return size // 10


def default_tiers() -> tuple[TierSpec, ...]:
    """Memory tier (when tmpfs exists) then disk tier, budgets left to the filesystem size."""
    tiers = []
    memory = default_memory_dir()
    if memory is not None:
        tiers.append(TierSpec(MEMORY, memory))
    tiers.append(TierSpec(DISK, default_disk_dir()))
    return tuple(tiers)


_SIZE_RE = re.compile(r"\A(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?P<unit>[A-Za-z]*)\Z")


def parse_size(text: str | int) -> int:
    """``256KB``, ``10MiB``, ``1.5G``, ``4096`` -> bytes (KB = 1000, KiB = 1024; K/M/G = 1024)."""
    if isinstance(text, int):
        return text
    s = text.strip().replace("_", "").replace(" ", "")
    units = {
        "": 1,
        "b": 1,
        "k": 1024,
        "kib": 1024,
        "kb": 1000,
        "m": 1024**2,
        "mib": 1024**2,
        "mb": 1000**2,
        "g": 1024**3,
        "gib": 1024**3,
        "gb": 1000**3,
        "t": 1024**4,
        "tib": 1024**4,
        "tb": 1000**4,
    }
    match = _SIZE_RE.match(s)
    if match is None or match["unit"].lower() not in units:
        raise ValueError(f"invalid size {text!r}: use e.g. 4096, 256KB, 10MiB, 1G")
    return int(float(match["number"]) * units[match["unit"].lower()])


def format_size(n: int) -> str:
    """Human-readable bytes, binary units."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def write_server_record(runtime_dir: str | os.PathLike[str], pid: int, env: dict[str, str]) -> Path:
    """Publish ``env`` (``StoreConfig.to_env()``) for kernels whose JPY_PARENT_PID is ``pid``."""
    path = layout.server_record(runtime_dir, pid)
    write_private(path, json.dumps(env))
    return path


def read_server_record(runtime_dir: str | os.PathLike[str], pid: int) -> StoreConfig | None:
    """The configuration a live server ``pid`` published, or None (no record, or server gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # a record left by a killed server must not send files nowhere
    except PermissionError:
        pass  # alive, owned by someone else: the record's directory permissions decide
    try:
        with open(layout.server_record(runtime_dir, pid), encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    return StoreConfig.from_env({str(k): str(v) for k, v in record.items()})
