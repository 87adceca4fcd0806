"""Output kinds under ``%%vfs`` besides images: SVG, raw bundles, Vega-Lite and Vega data, HTML,
video, audio and PDF each leave the kernel by URL in the form their renderer needs."""

from __future__ import annotations

import hashlib
import json
import re

from tests.support.kernels import NO_GRACE, Kernel, new_cell_id
from tests.support.outputs import MEDIA_SETUP, externalized, only_output
from tests.support.server import RunningServer

SETUP = NO_GRACE + MEDIA_SETUP


def test_svg_becomes_img(k: Kernel, server: RunningServer) -> None:
    out = k.execute("%%vfs --threshold 64KB\nSVG(svg)", new_cell_id())
    body = externalized(server, only_output(out, "execute_result"), "image/svg+xml")
    assert body.decode() == k.value("SVG(svg).data")


def test_raw_bundles_are_externalized_too(k: Kernel, server: RunningServer) -> None:
    out = k.execute(
        "%%vfs --threshold 10KB\n"
        "import base64\n"
        "display({'image/png': base64.b64encode(png(100)).decode(), 'text/plain': 'p'}, raw=True)",
        new_cell_id(),
    )
    body = externalized(server, only_output(out), "image/png")
    assert hashlib.sha256(body).hexdigest() == k.value("sha(png(100))")


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
