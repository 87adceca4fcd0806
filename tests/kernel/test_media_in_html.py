"""What people actually produce, in a real kernel behind a real server: media inside HTML
(IPython's ``Video(embed=True)`` / ``Audio(array)``, matplotlib's ``to_jshtml``) leaves iopub as
URLs with the rest of the page unchanged, and a bundle of several pictures stores one file."""

from __future__ import annotations

import base64
import hashlib
import json
import re

from tests.support.kernels import NO_GRACE, Kernel, new_cell_id
from tests.support.server import RunningServer
from vfs_ext.records import REFERENCE_MIME

IOPUB_LIMIT = 64 * 1024
SETUP = (
    NO_GRACE
    + """
import base64, hashlib, io, json
import numpy as np
from IPython.display import Audio, HTML, Video, display
from PIL import Image as PILImage
from kernel_side.extension import current_session
import vfs_ext

def files():
    return sorted(f.name for f in current_session().files())

def sha(data): return hashlib.sha256(data).hexdigest()
"""
)


def one_output(execution) -> dict:
    (msg,) = execution.outputs()
    assert len(json.dumps(msg["content"])) < IOPUB_LIMIT
    return msg["content"]


def found(pattern: str, text: str, group: int = 0) -> str:
    """``group`` of the first match of ``pattern`` in ``text``, which must have one."""
    match = re.search(pattern, text)
    assert match is not None, f"{pattern!r} not found"
    return match[group]


def served(server: RunningServer, url: str) -> bytes:
    status, _, body = server.fetch(url)
    assert status == 200, url
    return body


def test_audio_leaves_iopub_and_its_element_gets_the_url(k: Kernel, server: RunningServer) -> None:
    k.execute(
        "tone = np.sin(np.arange(44100 * 10) * 2 * np.pi * 440 / 44100)\n"
        "clip = Audio(tone, rate=44100)"
    )
    original = k.value("clip._repr_html_()")
    assert len(original) > 1_000_000
    content = one_output(k.execute("%%vfs --threshold 64KiB\ndisplay(clip)", new_cell_id()))
    page = content["data"]["text/html"]
    record = content["metadata"]["vfs_ext"]
    url = record["url"]
    assert record["mime"] == "audio/wav" and record["name"].endswith(".wav")
    # The page is the original with the URI replaced, plus src on <audio> itself (the sanitizer
    # of untrusted outputs strips <source src>).
    uri = found(r'data:audio/wav;base64,[^"]+', original)
    expected = original.replace(uri, url).replace("<audio ", f'<audio src="{url}" ', 1)
    assert page == expected
    assert served(server, url) == base64.b64decode(uri.split(",", 1)[1])


def test_an_8_mib_embedded_video_leaves_iopub(k: Kernel, server: RunningServer) -> None:
    k.execute("movie = bytes(np.random.default_rng(1).integers(0, 256, 8 << 20, dtype=np.uint8))")
    out = k.execute(
        "%%vfs --threshold 64KiB\n"
        "display(Video(data=movie, embed=True, mimetype='video/mp4', width=320))",
        new_cell_id(),
    )
    content = one_output(out)
    url = content["metadata"]["vfs_ext"]["url"]
    assert f'<video src="{url}" controls' in content["data"]["text/html"]
    assert f'<source src="{url}" type="video/mp4">' in content["data"]["text/html"]
    assert k.value("sha(movie)") == hashlib.sha256(served(server, url)).hexdigest()


def test_small_data_uris_stay_in_their_page(k: Kernel, server: RunningServer) -> None:
    """A large page leaves whole (kernel_side.reference); its small URI is not moved apart."""
    k.execute("icon = 'data:image/png;base64,' + base64.b64encode(b'x' * 600).decode()")
    page = k.value("f'<img src=\"{icon}\"/>' + '<p>text</p>' * 20000")
    out = k.execute(
        "%%vfs --threshold 64KiB\ndisplay(HTML(f'<img src=\"{icon}\"/>' + '<p>text</p>' * 20000))",
        new_cell_id(),
    )
    (msg,) = out.outputs()
    record = msg["content"]["metadata"]["vfs_ext"]
    assert record["mime"] == "text/html" and "files" not in record, "one file: the page"
    assert msg["content"]["data"][REFERENCE_MIME]["name"] == record["name"]
    assert served(server, record["url"]).decode() == page, "its URI untouched"


def test_uris_in_scripts_move_when_the_page_is_large(k: Kernel, server: RunningServer) -> None:
    """Each frame is below the threshold, the page is not: all frames move, the icon stays."""
    k.execute(
        "rng = np.random.default_rng(0)\n"
        "frames = [base64.b64encode(rng.bytes(20_000)).decode() for i in range(10)]\n"
        "frames.append(base64.b64encode(rng.bytes(100)).decode())\n"
        "js = ''.join(f'  frames[{i}] = \"data:image/png;base64,{f}\";\\n'\n"
        "             for i, f in enumerate(frames))\n"
        "page = f'<div id=\"anim\"></div><script>var frames = [];\\n{js}</script>'"
    )
    content = one_output(k.execute("%%vfs --threshold 64KiB\ndisplay(HTML(page))", new_cell_id()))
    page = content["data"]["text/html"]
    assert len(page) <= 64 * 1024
    records = content["metadata"]["vfs_ext"]["files"]
    moved = re.findall(r'frames\[(\d+)\] = "([^"]+)"', page)
    urls = [url for _, url in moved if "@file/" in url]
    assert len(urls) == len(records) == 10
    frames = k.value("frames")
    for index, url in moved:
        if "@file/" in url:
            assert served(server, url) == base64.b64decode(frames[int(index)])
        else:
            assert url == f"data:image/png;base64,{frames[int(index)]}"


def test_a_pil_result_stores_one_file(k: Kernel, server: RunningServer) -> None:
    """PIL gives PNG and JPEG; JupyterLab shows the PNG: that one is stored, the JPEG dropped."""
    k.execute(
        "pixels = np.random.default_rng(2).integers(0, 256, (400, 400, 3), dtype=np.uint8)\n"
        "picture = PILImage.fromarray(pixels)"
    )
    k.execute("%vfs clear")
    content = one_output(k.execute("%%vfs --threshold 64KiB\npicture", new_cell_id()))
    assert content["metadata"]["vfs_ext"]["mime"] == "image/png"
    assert "files" not in content["metadata"]["vfs_ext"]
    assert not {"image/png", "image/jpeg"} & set(content["data"])
    assert len(k.value("files()")) == 1
    assert served(server, content["metadata"]["vfs_ext"]["url"])[:8] == b"\x89PNG\r\n\x1a\n"


def test_matplotlib_png_and_svg_store_the_svg(k: Kernel, server: RunningServer) -> None:
    """JupyterLab ranks SVG (80) above PNG (90)."""
    k.execute(
        "%matplotlib inline\n"
        "from matplotlib_inline.backend_inline import set_matplotlib_formats\n"
        "import matplotlib.pyplot as plt\n"
        "set_matplotlib_formats('png', 'svg')\n"
        "fig, ax = plt.subplots(figsize=(8, 6), dpi=150)\n"
        "ax.scatter(*np.random.default_rng(3).random((2, 3000)))\n"
        "plt.close(fig)"
    )
    k.execute("%vfs clear")
    content = one_output(k.execute("%%vfs --threshold 64KiB\nfig", new_cell_id()))
    assert content["metadata"]["vfs_ext"]["mime"] == "image/svg+xml"
    assert not {"image/png", "image/svg+xml"} & set(content["data"])
    assert len(k.value("files()")) == 1


def test_a_50_frame_animation_leaves_iopub(k: Kernel, server: RunningServer) -> None:
    k.execute(ANIMATION)
    content = one_output(k.execute("%%vfs --threshold 64KiB\nHTML(anim_html)", new_cell_id()))
    page = content["data"]["text/html"]
    # matplotlib ends each frame's string with a line continuation ("\" newline): JS drops it.
    urls = [u.replace("\\\n", "") for u in re.findall(r'frames\[\d+\] = "([^"]+)"', page)]
    assert len(urls) == 50 and all("@file/" in u for u in urls)
    assert served(server, urls[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.count("data:image") == 0


ANIMATION = """
import matplotlib
matplotlib.use("agg")
import matplotlib.pyplot as plt
from matplotlib.animation import FuncAnimation
anim_fig, anim_ax = plt.subplots(figsize=(4, 3), dpi=100)
xs = np.linspace(0, 2 * np.pi, 200)
line, = anim_ax.plot(xs, np.sin(xs))
def step(i):
    line.set_ydata(np.sin(xs + i / 5) + np.random.default_rng(i).normal(0, 0.1, xs.size))
    return line,
anim_html = FuncAnimation(anim_fig, step, frames=50).to_jshtml(fps=10)
plt.close(anim_fig)
"""


def test_uris_in_attributes_and_escaped_json(k: Kernel, server: RunningServer) -> None:
    """A ``poster`` attribute, and JSON in a script that writes "/" as "\\/" (some serializers
    do): both become URLs of the decoded bytes."""
    k.execute(
        "blob = np.random.default_rng(5).bytes(90_000)\n"
        "b64 = base64.b64encode(blob).decode()\n"
        "escaped = b64.replace('/', '\\\\/')\n"
        "json_text = '{\"img\": \"data:image/png;base64,' + escaped + '\"}'\n"
        "page = (f'<video poster=\"data:image/jpeg;base64,{b64}\" controls></video>'\n"
        "        f'<script type=\"application/json\">{json_text}</script>')"
    )
    assert "\\/" in k.value("escaped")
    content = one_output(k.execute("%%vfs --threshold 64KiB\nHTML(page)", new_cell_id()))
    page = content["data"]["text/html"]
    poster = found(r'<video poster="([^"]+)" controls></video>', page, 1)
    script = found(r'\{"img": "([^"]+)"\}', page, 1)
    expected = k.value("sha(blob)")
    for url in (poster, script):
        assert hashlib.sha256(served(server, url)).hexdigest() == expected
    assert poster.endswith(".jpg") and script.endswith(".png")
