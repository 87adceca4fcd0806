"""``%%vfs`` and ``%vfs auto`` in a real kernel behind a real server: large outputs leave the
kernel as tiny HTML and the browser's URL serves the exact bytes. Here: what the magics decide
(which outputs leave, for how long) with images; display updates are in
test_externalize_updates.py, the other output kinds in test_externalize_kinds.py."""

from __future__ import annotations

import hashlib
import json

from tests.support.kernels import NO_GRACE, Kernel, new_cell_id
from tests.support.outputs import MEDIA_SETUP, externalized, only_output
from tests.support.server import RunningServer

SETUP = NO_GRACE + MEDIA_SETUP


def test_cell_magic_png_display_and_raw_bytes(k: Kernel, server: RunningServer) -> None:
    k.execute("data = png(200)")
    expected = k.value("sha(data)")
    for code in ("display(Image(data))", "display(RawPng(data))"):
        out = k.execute(f"%%vfs --threshold 10KB\n{code}", new_cell_id())
        body = externalized(server, only_output(out, "display_data"), "image/png")
        assert hashlib.sha256(body).hexdigest() == expected


def test_image_size_and_alt_survive_externalization(k: Kernel, server: RunningServer) -> None:
    """A large ``Image`` skips base64 on its way to a virtual file, and keeps its display size."""
    k.execute("data = png(200)")
    out = k.execute(
        '%%vfs --threshold 10KB\ndisplay(Image(data, width=123, height=45, alt="chart"))',
        new_cell_id(),
    )
    msg = only_output(out, "display_data")
    html = msg["content"]["data"]["text/markdown"]
    assert 'width="123"' in html
    assert 'height="45"' in html
    assert 'alt="chart"' in html
    body = externalized(server, msg, "image/png")
    assert hashlib.sha256(body).hexdigest() == k.value("sha(data)")
    assert msg["content"]["data"]["text/plain"] == "<IPython.core.display.Image object>"


def test_small_outputs_stay_inline(k: Kernel) -> None:
    out = k.execute("%%vfs\ndisplay(Image(png(8)))", new_cell_id())
    content = only_output(out)["content"]
    assert "image/png" in content["data"]
    assert "vfs_ext" not in content["metadata"]


def test_without_magic_outputs_stay_inline(k: Kernel) -> None:
    out = k.execute("display(Image(png(200)))", new_cell_id())
    assert "image/png" in only_output(out)["content"]["data"]


def test_execute_result_keeps_its_count(k: Kernel, server: RunningServer) -> None:
    out = k.execute("%%vfs --threshold 1KiB\nImage(png(64, seed=3))", new_cell_id())
    msg = only_output(out, "execute_result")
    assert msg["content"]["execution_count"] == out.reply["content"]["execution_count"]
    body = externalized(server, msg, "image/png")
    assert hashlib.sha256(body).hexdigest() == k.value("sha(png(64, seed=3))")


def test_20_mib_image_travels_as_under_2_kib(k: Kernel, server: RunningServer) -> None:
    k.execute("big = png(2650)")
    size, expected = k.value("[len(big), sha(big)]")
    assert size >= 20 * 1024 * 1024
    out = k.execute("%%vfs\ndisplay(Image(big))", new_cell_id())
    msg = only_output(out)
    assert len(json.dumps(msg["content"])) < 2048
    body = externalized(server, msg, "image/png")
    assert hashlib.sha256(body).hexdigest() == expected
    k.execute("del big")


def test_auto_mode_png_svg_result_and_update(k: Kernel, server: RunningServer) -> None:
    out = k.execute("%vfs auto on --threshold 10KB")
    assert "auto mode on" in out.stream()
    try:
        out = k.execute("display(Image(png(100)))", new_cell_id())
        externalized(server, only_output(out, "display_data"), "image/png")
        out = k.execute("SVG(svg)", new_cell_id())
        externalized(server, only_output(out, "execute_result"), "image/svg+xml")
        out = k.execute(
            "h = display(Image(png(8)), display_id=True)\nh.update(Image(png(100, seed=5)))",
            new_cell_id(),
        )
        assert "image/png" in only_output(out, "display_data")["content"]["data"]  # small
        externalized(server, only_output(out, "update_display_data"), "image/png")
    finally:
        out = k.execute("%vfs auto off")
    assert "auto mode off" in out.stream()
    out = k.execute("display(Image(png(100)))", new_cell_id())
    assert "image/png" in only_output(out)["content"]["data"]


def test_other_outputs_of_the_cell_survive(k: Kernel, server: RunningServer) -> None:
    out = k.execute(
        "%%vfs --threshold 10KB\nprint('before')\ndisplay(Image(png(100)))\nprint('after')\n42",
        new_cell_id(),
    )
    assert out.stream() == "before\nafter\n"
    externalized(server, only_output(out, "display_data"), "image/png")
    assert only_output(out, "execute_result")["content"]["data"]["text/plain"] == "42"


def test_a_vfs_cell_may_await_at_top_level(k: Kernel, server: RunningServer) -> None:
    out = k.execute(
        "%%vfs --threshold 10KB\nimport asyncio\nawait asyncio.sleep(0)\ndisplay(Image(png(100)))",
        new_cell_id(),
    )
    externalized(server, only_output(out, "display_data"), "image/png")


def test_a_trailing_semicolon_silences_the_result_of_a_vfs_cell(k: Kernel) -> None:
    out = k.execute("%%vfs --threshold 10KB\n40 + 2;", new_cell_id())
    assert out.outputs("execute_result") == []
    out = k.execute("%%vfs --threshold 10KB\n40 + 2", new_cell_id())
    assert only_output(out, "execute_result")["content"]["data"]["text/plain"] == "42"


def test_the_vfs_policy_ends_with_its_cell(k: Kernel, server: RunningServer) -> None:
    k.execute("%%vfs --threshold 10KB\nx = 1", new_cell_id())
    out = k.execute("display(Image(png(100)))", new_cell_id())
    assert "image/png" in only_output(out, "display_data")["content"]["data"]  # inline again


def test_run_cell_magic_still_runs_the_body_with_the_policy(
    k: Kernel, server: RunningServer
) -> None:
    out = k.execute(
        "get_ipython().run_cell_magic('vfs', '--threshold 10KB', 'display(Image(png(100)))')",
        new_cell_id(),
    )
    externalized(server, only_output(out, "display_data"), "image/png")


def test_an_error_in_a_vfs_cell_fails_the_cell_once(k: Kernel, server: RunningServer) -> None:
    out = k.execute("%%vfs --threshold 10KB\ndisplay(Image(png(100)))\n1 / 0", check=False)
    assert out.reply["content"]["status"] == "error"
    assert len([m for m in out.messages if m["msg_type"] == "error"]) == 1
    assert out.error is not None and "ZeroDivisionError" in out.error
    externalized(server, only_output(out, "display_data"), "image/png")
    assert k.value("1 + 1") == 2
