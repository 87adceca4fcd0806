# What-if (not shipped): start storing an output's bytes on a thread when it is formatted and
# wait for them in the publisher hook, which ipykernel runs after its two stdout/stderr flush
# waits: the write overlaps those idle waits instead of the message relay (compare
# kernel_async_write.py, which publishes first). The message still leaves only once the file
# is complete, so no server change is needed. Measured: no gain (bench/prototypes/README.md).
# python -m bench --only 1 --sizes 10MiB --repeats 9
#     --kernel-setup bench/prototypes/kernel_write_during_flush.py
import threading
import time

from kernel_side import hooks as _hooks
from vfs_ext import owner as _owner
from vfs_ext.names import group_key, new_name
from vfs_ext.sources import open_source
from vfs_ext.tiers import FileInfo

_write = _owner.Owner.write
_release_group = _owner.Owner.release_group
_publish_hook_call = _hooks.PublishHook.__call__
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
    thread = threading.Thread(target=self._write_tiers, args=(open_source(data), gkey, name))
    thread.start()
    _writers.append(thread)
    tier = self.store.tiers[0]
    path = tier.root / self.key / gkey / name
    return FileInfo(name, path, len(data), tier.name, time.time(), self.key, gkey)


def _release_after_writes(self, *args, **kwargs):
    _join()
    return _release_group(self, *args, **kwargs)


def _hook_after_writes(self, msg):
    _join()
    return _publish_hook_call(self, msg)


_owner.Owner.write = _write_later
_owner.Owner.release_group = _release_after_writes
_hooks.PublishHook.__call__ = _hook_after_writes
