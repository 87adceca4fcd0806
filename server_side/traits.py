"""The extension's settings (``VirtualFiles.<name>`` in config files and on the command line),
and a traitlets type for byte sizes, so admins can write ``2GiB`` where bytes are meant."""

from __future__ import annotations

from typing import Any

from traitlets import Bool, Float, HasTraits, TraitError, TraitType, Unicode, default, validate

from vfs_ext.config import DEFAULT_THRESHOLD, default_disk_dir, default_memory_dir, parse_size

from .streaming import DEFAULT_CHUNK_SIZE


class ByteSize(TraitType[Any, Any]):
    """Bytes as an int; accepts ``4096``, ``"256KiB"``, ``"2GiB"`` (config files and the CLI)."""

    info_text = "a size in bytes (an int, or a string such as '256KiB', '10MiB', '2GiB')"

    def validate(self, obj: Any, value: Any) -> int | None:
        if value is None and self.allow_none:
            return None
        if isinstance(value, bool):
            self.error(obj, value)
        if isinstance(value, (int, str)):
            try:
                size = parse_size(value)
            except ValueError as exc:
                raise TraitError(f"{self.name}: {exc}") from exc
            if size < 0:
                raise TraitError(f"{self.name}: {value!r} is negative")
            return size
        self.error(obj, value)

    def from_string(self, s: str) -> int | None:
        if self.allow_none and s.strip() in ("", "None"):
            return None
        return self.validate(None, s)


class VirtualFilesConfig(HasTraits):
    """Every setting of the extension; ``VirtualFiles`` inherits them (and their config name)."""

    memory_dir = Unicode(
        help="""Base directory of the memory tier, on a tmpfs (Linux: /dev/shm). Each server
        uses a private sub-directory; nothing else in the directory is touched. It must not be
        writable by other users unless sticky (like /dev/shm). Empty: no memory tier (files go
        to disk_dir).""",
    ).tag(config=True)

    disk_dir = Unicode(
        help="""Base directory of the disk tier, used when a file does not fit the memory tier.
        Defaults to a directory under Jupyter's runtime dir; must not be, or lie inside or around,
        memory_dir. Empty: no disk tier.""",
    ).tag(config=True)

    memory_budget = ByteSize(
        None,
        allow_none=True,
        help="""Bytes the memory tier may hold, e.g. 2GiB. Default: a quarter of its
        filesystem's size.""",
    ).tag(config=True)

    disk_budget = ByteSize(
        None,
        allow_none=True,
        help="""Bytes the disk tier may hold, e.g. 20GiB. Default: half the free space of its
        filesystem, at most 20 GiB.""",
    ).tag(config=True)

    memory_keep_free = ByteSize(
        None,
        allow_none=True,
        help="""Bytes of the memory tier's filesystem that vfs_ext leaves free for other programs,
        e.g. 2GiB: writes that would eat into it go to the disk tier. Other users of /dev/shm
        (PyTorch DataLoader workers, multiprocessing, browsers) die of SIGBUS when it is full,
        and on a shared node the servers' budgets may add up to more than it holds. Default: a
        tenth of the filesystem; 0 lets vfs_ext fill it.""",
    ).tag(config=True)

    disk_keep_free = ByteSize(
        None,
        allow_none=True,
        help="""Bytes of the disk tier's filesystem that vfs_ext leaves free, e.g. 10GiB.
        Default: 0 (disk_budget already takes at most half of the space free at start).""",
    ).tag(config=True)

    max_file_size = ByteSize(
        None,
        allow_none=True,
        help="""Largest single virtual file a kernel may write, e.g. 1GiB. Default: no limit
        beyond the tier budgets.""",
    ).tag(config=True)

    threshold = ByteSize(
        DEFAULT_THRESHOLD,
        help="""Size above which kernels write outputs as virtual files (exported to kernels);
        smaller outputs stay inline in the notebook.""",
    ).tag(config=True)

    sweep_interval = Float(
        60.0,
        help="""Seconds between sweeps that remove files of kernels that died without a clean
        shutdown (e.g. SIGKILL). 0 disables periodic sweeps (one still runs at start).""",
    ).tag(config=True)

    chunk_size = ByteSize(
        DEFAULT_CHUNK_SIZE,
        help="""Bytes read and flushed per write when serving a file; bounds the memory each
        download holds (about two chunks). Tornado's 64 KiB cost the server 20-35% more CPU
        per byte than 256 KiB-4 MiB in our measurements; 1 MiB is the middle of that plateau.""",
    ).tag(config=True)

    kernel_websocket_nodelay = Bool(
        True,
        help="""Set TCP_NODELAY on kernel websockets. jupyter_server leaves Nagle's algorithm on,
        so a small kernel message sent right after another waits for the browser's delayed ACK
        (about 40 ms on Linux) - a stall every output shown through vfs_ext paid. Only kernel
        websockets are affected: the configured ServerApp.kernel_websocket_connection_class is
        kept, subclassed to set the option when a websocket connects.""",
    ).tag(config=True)

    persist = Bool(
        True,
        help="""Keep the virtual outputs of saved notebooks: each save copies the files a
        notebook shows into a hidden folder beside it (.ipynb_vfs/, one file per distinct
        content), so they show after the kernel stops, the server restarts or the folder is
        copied elsewhere. Needs a file-based contents manager. See docs/persistence.md.""",
    ).tag(config=True)

    persist_max_bytes = ByteSize(
        2 * 1024**3,
        allow_none=True,
        help="""Most bytes of virtual outputs one notebook keeps beside it, e.g. 5GiB; outputs
        beyond it are not kept (logged, and noted in %vfs stats and api/vfs). None: no cap.""",
    ).tag(config=True)

    @default("memory_dir")
    def _default_memory_dir(self) -> str:
        path = default_memory_dir()
        return "" if path is None else str(path)

    @default("disk_dir")
    def _default_disk_dir(self) -> str:
        return str(default_disk_dir())

    @validate("sweep_interval")
    def _check_sweep_interval(self, proposal: Any) -> float:
        if proposal.value < 0:
            raise TraitError("sweep_interval must be >= 0 (0 disables periodic sweeps)")
        return float(proposal.value)

    @validate("chunk_size")
    def _check_chunk_size(self, proposal: Any) -> int:
        if proposal.value < 4096:
            raise TraitError("chunk_size must be at least 4096 bytes")
        return int(proposal.value)
