"""Real media for the browser tests, generated once per session.

Each asset is a real file a browser must decode (not bytes with a plausible header): a PNG, a
WebM the ffmpeg in imageio-ffmpeg encodes, a WAV and a minimal valid PDF.
"""

from __future__ import annotations

import io
import subprocess
import wave
from pathlib import Path

import numpy as np
from PIL import Image

from tests.support.media import pdf_bytes

#: Video large enough that Chromium does not buffer it whole from the first response, so a seek
#: to the middle needs a new Range request.
VIDEO_SECONDS = 8
VIDEO_SIZE = (320, 180)
VIDEO_BITRATE = "6M"


def png_bytes(width: int = 900, height: int = 600, seed: int = 0) -> bytes:
    """A noisy gradient: big enough to be externalized, cheap to make."""
    rng = np.random.default_rng(seed)
    y, x = np.ogrid[0:height, 0:width]
    base = np.stack(np.broadcast_arrays(x * 255 // width, y * 255 // height, 128 + 0 * x), -1)
    pixels = np.clip(base + rng.integers(-40, 40, (height, width, 3)), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def wav_bytes(seconds: float = 2.0, rate: int = 22050, freq: float = 440.0) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    samples = (0.3 * 32767 * np.sin(2 * np.pi * freq * t)).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(rate)
        wf.writeframes(samples.tobytes())
    return buf.getvalue()


def write_webm(path: Path) -> Path:
    """A real VP8 WebM (with cues, so it is seekable) from ffmpeg's test source and noise."""
    import imageio_ffmpeg

    w, h = VIDEO_SIZE
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={w}x{h}:rate=25:duration={VIDEO_SECONDS},noise=alls=60:allf=t",
        "-c:v",
        "libvpx",
        "-b:v",
        VIDEO_BITRATE,
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        str(path),
    ]
    subprocess.run(cmd, check=True, timeout=120, capture_output=True)
    return path


def write_assets(directory: Path) -> dict[str, Path]:
    """Every asset as a file in ``directory``; the kernel reads them by path."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "png": directory / "picture.png",
        "wav": directory / "tone.wav",
        "pdf": directory / "report.pdf",
        "csv": directory / "table.csv",
    }
    files["png"].write_bytes(png_bytes())
    files["wav"].write_bytes(wav_bytes())
    files["pdf"].write_bytes(pdf_bytes("vfs_ext browser test"))
    files["csv"].write_bytes(b"x,y\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(20000)))
    files["webm"] = write_webm(directory / "clip.webm")
    return files
