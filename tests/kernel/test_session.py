"""A kernel's session is created on first use: from several threads at once, or by the very cell
that writes the first files. Each test starts a fresh kernel, so that first use is its own."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.support.kernels import Kernel, new_cell_id, running_kernel
from tests.support.server import RunningServer

# Eight threads make their first call into vfs_ext at the same moment. Each returns its URL and
# how long the call took: a second session or owner would wait for the first one's lock.
THREADS_AT_ONCE = """
import json, os, threading, time
from concurrent.futures import ThreadPoolExecutor
import vfs_ext
barrier = threading.Barrier(8)
def first_use(i):
    barrier.wait(timeout=30)
    start = time.monotonic()
    url = vfs_ext.vfile(os.urandom(1000)).url
    return url, time.monotonic() - start
with ThreadPoolExecutor(8) as pool:
    results = list(pool.map(first_use, range(8)))
print(json.dumps(results))
"""

IMAGE = "vfs_ext.image(b'\\x89PNG\\r\\n\\x1a\\n' + os.urandom(300_000))"


@pytest.fixture
def fresh(server: RunningServer) -> Iterator[Kernel]:
    """A kernel in which nothing touched vfs_ext yet."""
    with running_kernel(server) as kernel:
        yield kernel


def assert_all_served(server: RunningServer, kernel: Kernel) -> None:
    """Run THREADS_AT_ONCE: every thread got a URL the server serves, none waited."""
    results = json.loads(kernel.execute(THREADS_AT_ONCE).stream())
    assert len(results) == 8
    for url, seconds in results:
        assert seconds < 5, f"a thread waited {seconds:.1f} s for another session's lock"
        assert server.fetch(url)[0] == 200


def test_threads_share_one_session_at_first_use(fresh: Kernel, server: RunningServer) -> None:
    assert_all_served(server, fresh)
    assert server.fetch(fresh.value("vfs_ext.vfile(b'later').url"))[0] == 200
    callbacks = "len(get_ipython().events.callbacks['pre_run_cell'])"
    assert fresh.value(callbacks) == 1


def test_threads_share_one_owner_after_load_ext(fresh: Kernel, server: RunningServer) -> None:
    """``%load_ext`` creates the session; the first write claims the owner's locks."""
    fresh.execute("%load_ext vfs_ext")
    assert_all_served(server, fresh)
    fresh.execute("%reload_ext vfs_ext")  # a new session, its owner not claimed yet
    assert_all_served(server, fresh)


@pytest.mark.parametrize(
    "first_use",
    ["import os, vfs_ext", "%load_ext vfs_ext\nimport os, vfs_ext"],
    ids=["api-first", "load-and-write"],
)
def test_the_cell_that_creates_the_session_is_released_on_rerun(
    fresh: Kernel, server: RunningServer, first_use: str
) -> None:
    cell = new_cell_id()
    code = f"{first_use}\n{IMAGE}"
    first = fresh.execute(code, cell).url()
    second = fresh.execute(code, cell).url()
    assert server.fetch(first)[0] == 404
    assert server.fetch(second)[0] == 200
