"""Errors and listings a newcomer can read, in a real kernel behind a real server: ``%vfs``
misuse is one UsageError line, helpers refuse bytes that are not what they show (writing
nothing), a missing path is one short error, and ``%vfs ls`` / ``stats`` fit an output area."""

from __future__ import annotations

import re

import pytest

from tests.support.kernels import Kernel, new_cell_id
from tests.support.server import RunningServer

MAX_LINE = 100
SETUP = """
import io
import numpy as np
from PIL import Image as PILImage
import vfs_ext
from kernel_side.extension import current_session

def files():
    return sorted(f.name for f in current_session().files())

def png(seed):
    buf = io.BytesIO()
    pixels = np.random.default_rng(seed).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    PILImage.fromarray(pixels).save(buf, "png")
    return buf.getvalue()
"""


def usage_error(k: Kernel, code: str) -> str:
    """What the user sees of a failed ``%vfs``: IPython prints a UsageError as one line."""
    out = k.execute(code, new_cell_id(), check=False)
    assert out.reply["content"]["status"] == "error"
    assert out.error is None, "no traceback"
    text = out.stream("stderr").strip()
    assert text.startswith("UsageError: ") and "\n" not in text, text
    return text


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("%vfs lss", "unknown %vfs command 'lss'"),
        ("%vfs auto maybe", "unknown %vfs command 'auto maybe'"),
        ("%vfs --frobnicate", "unrecognized arguments: --frobnicate"),
        ("%vfs auto on --threshold lots", "invalid size 'lots'"),
        ("%%vfs ls\n1", "%%vfs takes only --threshold SIZE"),
        ("%%vfs --threshold lots\n1", "invalid size 'lots'"),
    ],
)
def test_vfs_misuse_is_one_usage_line(k: Kernel, code: str, says: str) -> None:
    text = usage_error(k, code)
    assert says in text
    assert "--cell" not in text, "the %%vfs rewrite is an internal detail"
    assert k.value("1 + 1") == 2


@pytest.mark.parametrize(
    ("call", "says"),
    [
        ("vfs_ext.image(b'not an image')", "expects PNG, JPEG, GIF, WebP or SVG bytes"),
        ("vfs_ext.image(b'')", "there are none"),
        ("vfs_ext.image(b'%PDF-1.4 ...')", "they are PDF"),
        ("vfs_ext.video(png(1))", "expects video bytes (MP4, WebM or Ogg); they are PNG"),
        ("vfs_ext.audio(b'hello, world')", "expects audio bytes"),
    ],
)
def test_helpers_refuse_bytes_they_cannot_show(k: Kernel, call: str, says: str) -> None:
    before = k.value("files()")
    out = k.execute(call, new_cell_id(), check=False)
    assert out.error is not None and "ValueError" in out.error and says in out.error
    assert k.value("files()") == before, "nothing written"


def test_helpers_take_what_they_show(k: Kernel, server: RunningServer) -> None:
    out = k.execute("vfs_ext.image(png(2))", new_cell_id())
    assert server.fetch(out.url())[0] == 200
    out = k.execute("vfs_ext.audio(b'ID3' + bytes(range(256)) * 8)", new_cell_id())
    assert server.fetch(out.url())[0] == 200


def test_a_missing_file_is_one_short_error(k: Kernel) -> None:
    out = k.execute("vfs_ext.image('no/such/picture.png')", new_cell_id(), check=False)
    (error,) = [m["content"] for m in out.messages if m["msg_type"] == "error"]
    assert error["ename"] == "FileNotFoundError"
    assert error["evalue"] == "vfs_ext.image: no such file: 'no/such/picture.png'"
    frames = [f for f in error["traceback"] if "File " in f or "Cell In" in f]
    assert len(frames) <= 2, "the caller's line and the helper's"


def ls(k: Kernel, args: str = "") -> dict[str, str]:
    (msg,) = k.execute(f"%vfs ls {args}").outputs()
    return msg["content"]["data"]


def test_ls_fits_a_notebook(k: Kernel, server: RunningServer) -> None:
    k.execute("%vfs clear")
    out = k.execute("shown = vfs_ext.image(png(3))\nshown", new_cell_id())
    count = out.reply["content"]["execution_count"]
    name = out.outputs()[0]["content"]["metadata"]["vfs_ext"]["name"]
    listing = ls(k)
    text = listing["text/plain"]
    assert all(len(line) <= MAX_LINE for line in text.splitlines()), text
    row = text.splitlines()[1]
    assert re.match(rf"\s*\[{count}\]\s+{name.split('-')[2][:8]}….png\s+image/png\s+", row)
    assert re.search(r"\d+(\.\d)? (B|KiB)\s+memory\s+\d+ s$", row), row
    assert name not in text, "the full name is in the link only"
    url = f"{server.base_url}@file/{name}"
    assert f'<a href="{url}" title="{name}"' in listing["text/html"]


def test_ls_hides_retiring_files(k: Kernel) -> None:
    """A live plot's replaced frames are retired (released after a grace): ``ls`` lists the
    frame on screen; ``--all`` lists the others, marked."""
    k.execute("import vfs_ext.retire\nvfs_ext.retire.RETIRE_GRACE_S = 600\n%vfs clear")
    try:
        k.execute(
            "from IPython.display import clear_output, display\n"
            "for i in range(5):\n"
            "    clear_output(wait=True)\n"
            "    display(vfs_ext.image(png(10 + i)))",
            new_cell_id(),
        )
        shown = ls(k)["text/plain"].splitlines()
        assert len(shown) == 3 and "4 retiring file(s) not shown" in shown[-1]
        everything = ls(k, "--all")["text/plain"].splitlines()
        assert len(everything) == 6
        assert sum("(retiring)" in line for line in everything) == 4
    finally:
        k.execute("vfs_ext.retire.RETIRE_GRACE_S = 5.0\n%vfs clear")


def test_stats_fit_a_notebook(k: Kernel) -> None:
    text = k.execute("%vfs stats").stream()
    assert all(len(line) <= MAX_LINE for line in text.splitlines()), text
    assert re.search(
        r"^memory  [\d.]+ \w+ used of [\d.]+ \w+, [\d.]+ \w+ free, \d+ file", text, re.M
    )
    assert "tmpfs, huge pages: " in text and "of its filesystem free" in text
    assert "this kernel: " in text


def test_the_server_logs_sizes_in_human_units(server: RunningServer) -> None:
    log = server.log_text()
    assert re.search(r"memory tier \S+ \(budget [\d.]+ [KMG]iB, keeps [\d.]+ [KMG]iB of", log)
    assert not re.search(r"\d{7,} bytes", log)
