"""``%%vfs`` and ``%vfs auto`` in a real kernel behind a real server: large outputs leave the
kernel as tiny HTML and the browser's URL serves the exact bytes."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from tests.support.kernels import NO_GRACE, Kernel, new_cell_id
from tests.support.server import RunningServer

SETUP = """
import hashlib, io, json
import numpy as np
from PIL import Image as PILImage
from IPython.display import Image, SVG, display

def png(side, level=0, seed=0):
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buf = io.BytesIO()
    PILImage.fromarray(pixels).save(buf, "png", compress_level=level)
    return buf.getvalue()

class RawPng:
    '''An object whose _repr_png_ gives raw bytes (as matplotlib figures do).'''
    def __init__(self, data): self.data = data
    def _repr_png_(self): return self.data

def sha(data): return hashlib.sha256(data).hexdigest()
"""


@pytest.fixture(scope="module")
def k(kernel: Kernel) -> Kernel:
    kernel.execute(NO_GRACE + SETUP)
    return kernel


def only_output(execution, msg_type: str | None = None) -> dict:
    outputs = execution.outputs(msg_type) if msg_type else execution.outputs()
    assert len(outputs) == 1, [o["msg_type"] for o in execution.outputs()]
    return outputs[0]


def externalized(server: RunningServer, msg: dict, mime: str) -> bytes:
    """Check a message is the small by-URL form of a ``mime`` payload; return the served bytes."""
    content = msg["content"]
    record = content["metadata"]["vfs_ext"]
    assert record["mime"] == mime
    assert record["url"] == f"{server.base_url}@file/{record['name']}"
    # Media stand-ins are Markdown: JupyterLab's table of contents loads no image from it.
    assert f'src="{record["url"]}"' in content["data"]["text/markdown"]
    assert "text/html" not in content["data"]
    assert mime not in content["data"], "the payload itself must not travel over iopub"
    assert "text/plain" in content["data"]
    status, _, body = server.fetch(record["url"])
    assert status == 200
    assert len(body) == record["size"]
    return body


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


def test_svg_becomes_img(k: Kernel, server: RunningServer) -> None:
    k.execute(
        'svg = \'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">\' + '
        '\'\'.join(f\'<circle cx="{i % 100}" cy="{i // 100}" r="1"/>\' for i in range(10000))'
        " + '</svg>'"
    )
    out = k.execute("%%vfs --threshold 64KB\nSVG(svg)", new_cell_id())
    body = externalized(server, only_output(out, "execute_result"), "image/svg+xml")
    assert body.decode() == k.value("SVG(svg).data")


def test_execute_result_keeps_its_count(k: Kernel, server: RunningServer) -> None:
    out = k.execute("%%vfs --threshold 1KiB\nImage(png(64, seed=3))", new_cell_id())
    msg = only_output(out, "execute_result")
    assert msg["content"]["execution_count"] == out.reply["content"]["execution_count"]
    body = externalized(server, msg, "image/png")
    assert hashlib.sha256(body).hexdigest() == k.value("sha(png(64, seed=3))")


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


def test_raw_bundles_are_externalized_too(k: Kernel, server: RunningServer) -> None:
    out = k.execute(
        "%%vfs --threshold 10KB\n"
        "import base64\n"
        "display({'image/png': base64.b64encode(png(100)).decode(), 'text/plain': 'p'}, raw=True)",
        new_cell_id(),
    )
    body = externalized(server, only_output(out), "image/png")
    assert hashlib.sha256(body).hexdigest() == k.value("sha(png(100))")


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


def test_vega_lite_100k_rows(k: Kernel, server: RunningServer) -> None:
    k.execute(
        "rows = [{'x': i, 'y': (i * 7919) % 1000, 'c': 'abc'[i % 3]} for i in range(100_000)]\n"
        "spec = {'$schema': 'https://vega.github.io/schema/vega-lite/v5.json',\n"
        "        'data': {'name': 'data-1'}, 'mark': 'point',\n"
        "        'encoding': {'x': {'field': 'x', 'type': 'quantitative'},\n"
        "                     'y': {'field': 'y', 'type': 'quantitative'}},\n"
        "        'datasets': {'data-1': rows}}\n"
        "bundle = {'application/vnd.vegalite.v5+json': spec, 'text/plain': '<Chart>'}"
    )
    out = k.execute("%%vfs\ndisplay(bundle, raw=True)", new_cell_id())
    content = only_output(out)["content"]
    assert len(json.dumps(content)) < 2048
    new_spec = content["data"]["application/vnd.vegalite.v5+json"]
    url = new_spec["data"]["url"]
    assert new_spec["data"]["format"] == {"type": "json"}
    assert re.fullmatch(rf"{re.escape(server.base_url)}@file/[0-9a-f-]+\.json", url)
    assert "datasets" not in new_spec
    assert new_spec["encoding"] == k.value("spec['encoding']")
    assert content["metadata"]["vfs_ext"]["url"] == url
    status, _, body = server.fetch(url)
    assert status == 200
    assert json.loads(body) == k.value("rows")


def test_vega_inline_values_through_the_formatter(k: Kernel, server: RunningServer) -> None:
    k.execute(
        "class Chart:\n"
        "    def _repr_mimebundle_(self, include=None, exclude=None):\n"
        "        return {'application/vnd.vega.v5+json': {'data': [{'name': 'table',\n"
        "                'values': rows[:20000]}], 'marks': []}, 'text/plain': 'chart'}"
    )
    out = k.execute("%%vfs --threshold 100KB\nChart()", new_cell_id())
    spec = only_output(out, "execute_result")["content"]["data"]["application/vnd.vega.v5+json"]
    (entry,) = spec["data"]
    assert entry["name"] == "table" and "values" not in entry
    status, _, body = server.fetch(entry["url"])
    assert status == 200 and json.loads(body) == k.value("rows[:20000]")


def test_large_html_leaves_with_an_iframe_fallback(k: Kernel, server: RunningServer) -> None:
    """Large HTML is a virtual file with or without ``--html`` (the frontend extension renders
    it in the page; frontends without it get the iframe)."""
    k.execute("from IPython.display import HTML\npage = HTML('<p>' + 'x' * 300_000 + '</p>')")
    for magic in ("%%vfs", "%%vfs --html"):
        out = k.execute(f"{magic}\npage", new_cell_id())
        content = only_output(out)["content"]
        record = content["metadata"]["vfs_ext"]
        assert record["mime"] == "text/html"
        assert f'<iframe src="{record["url"]}"' in content["data"]["text/html"]
        status, _, body = server.fetch(record["url"])
        assert status == 200 and body.decode() == k.value("page.data")


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
    assert "ZeroDivisionError" in out.error
    externalized(server, only_output(out, "display_data"), "image/png")
    assert k.value("1 + 1") == 2


def test_video_audio_and_pdf_bundles_become_elements(k: Kernel, server: RunningServer) -> None:
    k.execute("import base64, os\nblob = os.urandom(50_000)\nb64 = base64.b64encode(blob).decode()")
    expected = k.value("sha(blob)")
    for mime, tag, attr in [
        ("video/mp4", "video", "src"),
        ("audio/mpeg", "audio", "src"),
        ("application/pdf", "object", "data"),
    ]:
        out = k.execute(
            f"%%vfs --threshold 10KB\ndisplay({{'{mime}': b64, 'text/plain': 'm'}}, raw=True)",
            new_cell_id(),
        )
        content = only_output(out)["content"]
        record = content["metadata"]["vfs_ext"]
        assert record["mime"] == mime and mime not in content["data"]
        key = "text/html" if tag == "object" else "text/markdown"
        assert f'<{tag} {attr}="{record["url"]}"' in content["data"][key]
        assert content["data"]["text/plain"] == "m"
        status, _, body = server.fetch(record["url"])
        assert status == 200 and hashlib.sha256(body).hexdigest() == expected
