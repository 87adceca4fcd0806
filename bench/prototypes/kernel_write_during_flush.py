# What-if (not shipped), loaded after kernel_async_write.py: its writes start on a thread when an
# output is formatted, and here the publisher hook (which ipykernel runs after its two
# stdout/stderr flush waits) waits for them, so a write overlaps those waits instead of the
# message relay, and the message leaves only once its file is complete (no server change).
# Measured: no gain (bench/prototypes/README.md).
# python -m bench --only 1 --sizes 10MiB --repeats 9
#     --kernel-setup bench/prototypes/kernel_async_write.py
#     --kernel-setup bench/prototypes/kernel_write_during_flush.py
from kernel_side import hooks as _hooks

_publish_hook_call = _hooks.PublishHook.__call__


def _hook_after_writes(self, msg):
    _join()  # noqa: F821 - defined by kernel_async_write.py, run before this in the kernel
    return _publish_hook_call(self, msg)


_hooks.PublishHook.__call__ = _hook_after_writes
