"""A process forked from a kernel or a server (``os.fork``; multiprocessing's default 'fork' start
method on Linux) does not keep its parent's locks: once the parent is SIGKILLed its files are
swept and its owner can be reopened at once, whatever the child does; a fork while a write holds
a tier's budget lock does not leave every writer of that tier waiting on the child; the child
can use vfs_ext itself, but not through the owner it inherited."""

from __future__ import annotations

import os
import select
import threading

from tests.support.payloads import payload
from tests.support.processes import CHILD_TIMEOUT, Child
from vfs_ext import locks
from vfs_ext.budget import budget_lock
from vfs_ext.config import MEMORY
from vfs_ext.layout import OWNER_LOCK, SPARES_DIR
from vfs_ext.names import owner_key

MiB = 1024 * 1024


def end_all(worker: Child) -> None:
    """Close the worker's stdin, the cue to exit for it and for the child it forked, and wait
    until no process holds its stdout any more."""
    assert worker.proc.stdin is not None and worker.proc.stdout is not None
    worker.proc.stdin.close()
    while select.select([worker.proc.stdout], [], [], CHILD_TIMEOUT)[0]:
        if not worker.proc.stdout.readline():
            return
    raise AssertionError(f"the forked child did not exit within {CHILD_TIMEOUT} s")


def fork_until_closed() -> tuple[int, int]:
    """Fork a child of this process that lives until the returned fd is closed: (pid, fd)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(write_end)
            os.read(read_end, 1)
        finally:
            os._exit(0)
    os.close(read_end)
    return pid, write_end


def exit_code(pid: int) -> int:
    """Wait (at most CHILD_TIMEOUT) for a child of this process to exit; its exit code."""
    pidfd = os.pidfd_open(pid)
    try:
        if not select.select([pidfd], [], [], CHILD_TIMEOUT)[0]:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError(f"the forked child did not exit within {CHILD_TIMEOUT} s")
    finally:
        os.close(pidfd)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_a_killed_kernels_forked_child_does_not_keep_its_files(store, spawn):
    kernel = spawn(store, "forker", "kernel", "kernel-f")
    try:
        out = kernel.read()
        assert "closed" in out["refused"], "the child wrote through its parent's owner"
        assert store.sweep().owners == []  # both alive
        assert store.lookup(out["name"]) is not None

        kernel.kill()  # SIGKILL; the forked child lives on
        assert store.sweep().owners == [owner_key("kernel-f")]
        assert store.lookup(out["name"]) is None
        assert store.lookup(out["child_name"]) is not None, "the child's own owner is alive"
        store.open_owner("kernel-f", lock_timeout=5).close(remove=True)  # a restart, at once
    finally:
        end_all(kernel)
    assert store.sweep().owners == [owner_key("kernel-f-child")]


def test_a_killed_servers_forked_child_does_not_keep_its_namespace(make_store, spawn):
    mine = make_store()
    server = spawn(mine, "forker", "server", "kernel-s")
    try:
        namespace = server.read()["namespace"]
        roots = [t.base / namespace for t in mine.tiers]
        mine.sweep()
        assert all(root.is_dir() for root in roots), "a live server's namespace stays"

        server.kill()  # SIGKILL; the forked child lives on
        mine.sweep()
        assert not any(root.exists() for root in roots)
    finally:
        end_all(server)


def test_a_fork_while_a_write_holds_the_budget_lock_leaves_the_tier_usable(store, spawn):
    (memory,) = [t for t in store.tiers if t.name == MEMORY]
    inside, leave = threading.Event(), threading.Event()

    def hold() -> None:
        with budget_lock(memory):
            inside.set()
            leave.wait(CHILD_TIMEOUT)

    holder = threading.Thread(target=hold)
    holder.start()
    assert inside.wait(CHILD_TIMEOUT)
    pid, stop = fork_until_closed()  # a fork while the lock is held
    try:
        leave.set()
        holder.join(CHILD_TIMEOUT)
        other = spawn(store, "hold", "other-kernel", "cell:1000")
        (written,) = other.read(timeout=30)["files"]  # another kernel's write does not hang
        assert store.lookup(written["name"]).tier == MEMORY
    finally:
        os.close(stop)
        assert exit_code(pid) == 0


def test_an_owner_inherited_by_a_forked_child_stays_the_parents(store):
    """The child cannot write through it, and closing it in the child (even with ``remove``)
    leaves the parent's files, spares and locks alone."""
    with store.open_owner("k") as owner:
        kept = owner.write(payload("kept", 1000), "bin", "cell")
        owner.write(payload("old", 2 * MiB), "bin", "old")
        owner.release_group("old", reuse=True)  # a spare for the next 2 MiB write
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                try:
                    owner.write(b"from the child", "bin")
                except ValueError:
                    code = 0
                owner.close(remove=True)
            finally:
                os._exit(code)
        assert exit_code(pid) == 0, "the child could write through its parent's owner"

        assert store.lookup(kept.name).path.read_bytes() == payload("kept", 1000)
        memory_dir = store.tiers[0].root / owner.key
        (spare,) = (memory_dir / SPARES_DIR).iterdir()
        spare_inode = spare.stat().st_ino
        assert os.stat(owner.write(payload("new", 2 * MiB), "bin").path).st_ino == spare_inode
        assert locks.try_lock(memory_dir / OWNER_LOCK) is None, "the parent still holds its lock"
