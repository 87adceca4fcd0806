# What-if for ipykernel (measurement only: not ours to ship, an upstream change).
#
# ZMQDisplayPublisher.publish starts with sys.stdout.flush() and sys.stderr.flush(). Called from
# the main thread, each schedules the stream's flush on the IOPub thread and then blocks until that
# thread has run it: two thread hand-offs per stream before every display (0.5-1 ms measured in
# a 10 MiB display on 2 cores). The display message is then
# queued on that same thread, behind the flushes, so scheduling them without waiting keeps stream
# text and outputs in order. Both paths of figure 1 run in this kernel, so inline gains it too.
#
# Measured: the 1 KiB display gains ~0.5 ms, the 10 MiB one nothing (bench/prototypes/README.md).
# python -m bench --only 1 --sizes 10MiB,50MiB \
#     --kernel-setup bench/prototypes/kernel_flush_no_wait.py
import sys
import threading

_shell = get_ipython()  # noqa: F821 - run in the kernel by --kernel-setup
_socket = _shell.display_pub.pub_socket
_io_thread = getattr(_socket, "io_thread", None)


def _flush_streams_without_waiting() -> None:
    for stream in (sys.stdout, sys.stderr):
        pub_thread = getattr(stream, "pub_thread", None)
        thread = getattr(pub_thread, "thread", None)
        if (
            pub_thread is not None
            and pub_thread is _io_thread  # the display is queued behind the flush
            and thread is not None
            and thread.is_alive()
            and thread.ident != threading.get_ident()
        ):
            pub_thread.schedule(stream._flush)
        else:
            stream.flush()


if _io_thread is None:
    raise RuntimeError("this ipykernel's display socket has no IO thread: nothing to try")
_shell.display_pub._flush_streams = _flush_streams_without_waiting
