"""Externalized outputs as a test reads them from a kernel's messages: the one output of a
kind, and the by-URL form of a payload (checked, and its bytes as the server serves them).
``MEDIA_SETUP`` gives a kernel the images, SVG and hashing the tests show."""

from __future__ import annotations

from tests.support.kernels import Execution
from tests.support.server import RunningServer

#: Run once in a test module's kernel: ``png(side, level, seed)``, ``RawPng``, ``sha``, ``svg``.
MEDIA_SETUP = """
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

svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
       + ''.join(f'<circle cx="{i % 100}" cy="{i // 100}" r="1"/>' for i in range(10000))
       + '</svg>')
"""


def only_output(execution: Execution, msg_type: str | None = None) -> dict:
    """The one output (of ``msg_type``, if given) the execution sent."""
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
