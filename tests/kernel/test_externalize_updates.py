"""Display updates under ``%%vfs``: each update replaces what its display id showed, so the
files of the versions it replaces are released, from the main thread or another."""

from __future__ import annotations

import hashlib

from tests.support.kernels import NO_GRACE, Kernel, new_cell_id
from tests.support.outputs import MEDIA_SETUP, externalized, only_output
from tests.support.server import RunningServer

SETUP = NO_GRACE + MEDIA_SETUP


def test_display_handle_update(k: Kernel, server: RunningServer) -> None:
    out = k.execute(
        "%%vfs --threshold 10KB\n"
        "h = display(Image(png(100, seed=1)), display_id=True)\n"
        "h.update(Image(png(100, seed=2)))",
        new_cell_id(),
    )
    first = only_output(out, "display_data")
    update = only_output(out, "update_display_data")
    display_id = first["content"]["transient"]["display_id"]
    assert update["content"]["transient"]["display_id"] == display_id
    update_body = externalized(server, update, "image/png")
    assert hashlib.sha256(update_body).hexdigest() == k.value("sha(png(100, seed=2))")
    # The update replaced the first version on screen, so its file is gone.
    assert server.fetch(first["content"]["metadata"]["vfs_ext"]["url"])[0] == 404


# Every way to replace a display's content: the handle, update_display, a raw bundle with
# update=True; then h.display(), which adds an output and (JupyterLab relays it as an update to
# the earlier one) replaces what the id showed.
UPDATES = """%%vfs --threshold 10KB
import base64
from IPython.display import update_display
other = display(Image(png(100, seed=0)), display_id=True)
h = display(Image(png(100, seed=1)), display_id=True)
for seed in range(2, 6):
    h.update(Image(png(100, seed=seed)))
update_display(Image(png(100, seed=6)), display_id=h.display_id)
raw = {'image/png': base64.b64encode(png(100, seed=7)).decode(), 'text/plain': 'p'}
display(raw, raw=True, display_id=h.display_id, update=True)
h.display(Image(png(100, seed=8)))
"""


def cell_files(k: Kernel, cell: str) -> int:
    """How many files the kernel stores for the cell (``%vfs ls`` shows its execution count)."""
    k.execute(
        "from kernel_side.extension import current_session as _cs\n"
        "from vfs_ext.names import group_key as _gk"
    )
    return k.value(f"sum(f.group == _gk({cell!r}) for f in _cs().files())")


def test_updates_release_the_versions_they_replace(k: Kernel, server: RunningServer) -> None:
    """A display updated many times keeps its current files only; each update replaces all the
    outputs with its display id, so those outputs' earlier files are gone."""
    cell = new_cell_id()
    out = k.execute(UPDATES, cell)
    other, *versions, added = (m["content"]["metadata"]["vfs_ext"]["url"] for m in out.outputs())
    assert len(versions) == 7  # seed 1 shown, then 6 updates
    for url in versions:
        assert server.fetch(url)[0] == 404
    for url, seed in [(other, 0), (added, 8)]:
        status, _, body = server.fetch(url)
        expected = k.value(f"sha(png(100, seed={seed}))")
        assert status == 200 and hashlib.sha256(body).hexdigest() == expected
    assert cell_files(k, cell) == 2
    out = k.execute("h.update(Image(png(4)))")  # small: inline, so the id's file goes
    assert "image/png" in only_output(out)["content"]["data"]
    assert server.fetch(added)[0] == 404
    assert server.fetch(other)[0] == 200 and cell_files(k, cell) == 1


# ipykernel keeps publisher hooks per thread: a thread that animates a display, then shows a raw
# bundle.
THREAD = """%%vfs --threshold 10KB
import base64, threading
raw = {'image/png': base64.b64encode(png(100, seed=9)).decode(), 'text/plain': 'p'}
def animate():
    h = display(Image(png(100, seed=1)), display_id=True)
    for seed in range(2, 5):
        h.update(Image(png(100, seed=seed)))
    display(raw, raw=True)
thread = threading.Thread(target=animate)
thread.start()
thread.join()
"""


def test_updates_from_a_thread_release_too(k: Kernel, server: RunningServer) -> None:
    cell = new_cell_id()
    out = k.execute(THREAD, cell)
    *versions, raw = (m["content"]["metadata"]["vfs_ext"]["url"] for m in out.outputs())
    assert len(versions) == 4
    assert [server.fetch(url)[0] for url in versions] == [404, 404, 404, 200]
    status, _, body = server.fetch(raw)
    assert status == 200 and hashlib.sha256(body).hexdigest() == k.value("sha(png(100, seed=9))")
    assert cell_files(k, cell) == 2
