# What-if (not shipped): publish the output first and store its bytes on a background thread.
# Needs bench/prototypes/server_wait_for_write.py so a GET that arrives early waits for the file.
# Measured (2 cores, 10 and 50 MiB, `python -m bench --only 1 --sizes 10MiB,50MiB
# --kernel-setup bench/prototypes/kernel_async_write.py
# --server-config bench/prototypes/server_wait_for_write.py`): no gain. The write then competes
# for the two cores with the publish, the server and the client, and a failed write could no
# longer fall back to an inline output.
import threading
import time

from vfs_ext import owner as _owner
from vfs_ext.names import group_key, new_name
from vfs_ext.sources import open_source
from vfs_ext.tiers import FileInfo
from vfs_ext.write import write_file

_write = _owner.Owner.write
_release_group = _owner.Owner.release_group
_writers: list[threading.Thread] = []


def _join() -> None:
    while _writers:
        _writers.pop().join()


def _write_later(self, data, ext=None, group="", *, evict=False):
    if not isinstance(data, bytes):  # only immutable payloads may be written after returning
        return _write(self, data, ext, group, evict=evict)
    _join()
    gkey = group_key(group)
    name = new_name(self.key, gkey, ext)
    thread = threading.Thread(target=_store, args=(self, data, gkey, name))
    thread.start()
    _writers.append(thread)
    tier = self.tiers[0]
    path = tier.file_path(self.key, gkey, name)
    return FileInfo(name, path, len(data), tier.name, time.time(), self.key, gkey)


def _store(owner, data, gkey, name):
    source = open_source(data)
    try:
        write_file(owner, source, gkey, name)
    finally:
        source.close()


def _release_after_writes(self, *args, **kwargs):
    _join()
    return _release_group(self, *args, **kwargs)


_owner.Owner.write = _write_later
_owner.Owner.release_group = _release_after_writes
