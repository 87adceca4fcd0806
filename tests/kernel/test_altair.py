"""Altair through its own data-transformer hook, in a real kernel behind a real server: a chart of
150k rows carries a small spec and its data is served by URL, with every renderer and with the
venv's Altair major version and the other one (from a side directory, ``make`` installs it)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.support.kernels import Kernel, new_cell_id, shutdown_kernel, start_kernel
from tests.support.server import RunningServer, jupyter_server

IOPUB_LIMIT = 64 * 1024
ROWS = 150_000
VENV_MAJOR = int(version("altair").split(".")[0])
OTHER_MAJOR = 6 if VENV_MAJOR < 6 else 5
#: Where the Makefile installs the other major version (``pip install --target``).
SIDE_DIR = Path(sys.prefix) / f"altair{OTHER_MAJOR}"

SETUP = """
%load_ext vfs_ext
import altair as alt
import numpy as np
import pandas as pd
rng = np.random.default_rng(0)
df = pd.DataFrame({"x": rng.random(ROWS), "y": rng.random(ROWS)})
df["c"] = rng.choice(list("abc"), ROWS)
chart = alt.Chart(df).mark_point().encode(x="x", y="y", color="c")
""".replace("ROWS", str(ROWS))


@pytest.fixture(
    scope="module", params=["venv", "other"], ids=[f"altair{VENV_MAJOR}", f"altair{OTHER_MAJOR}"]
)
def altair_kernel(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[int, Kernel, RunningServer]]:
    env = {}
    major = VENV_MAJOR
    if request.param == "other":
        if not (SIDE_DIR / "altair").is_dir():
            pytest.skip(
                f"altair {OTHER_MAJOR} is not installed beside the venv's altair {VENV_MAJOR}: "
                f"pip install --no-deps --target {SIDE_DIR} 'altair=={OTHER_MAJOR}.*' "
                "(make .venv/.installed does it for altair 6)"
            )
        env["PYTHONPATH"] = str(SIDE_DIR)  # the kernel inherits the server's environment
        major = OTHER_MAJOR
    with jupyter_server(tmp_path_factory.mktemp("altair"), env=env) as server:
        kernel = start_kernel(server)
        try:
            kernel.execute(SETUP)
            assert kernel.value("alt.__version__").startswith(f"{major}.")
            yield major, kernel, server
        finally:
            shutdown_kernel(server, kernel)


def data_url(content: dict) -> str:
    """The data URL of the chart's spec, whichever form the renderer gave it."""
    data = content["data"]
    specs = [v for mime, v in data.items() if mime.startswith("application/vnd.vegalite.")]
    if specs:
        (spec,) = specs
        return spec["data"]["url"]
    (url,) = re.findall(r'"url": "([^"]+)"', data["text/html"])
    return url


@pytest.mark.parametrize("renderer", ["default", "mimetype", "jupyterlab"])
def test_a_150k_row_chart_has_its_data_served_by_url(
    altair_kernel: tuple[int, Kernel, RunningServer], renderer: str
) -> None:
    major, k, server = altair_kernel
    k.execute(f"alt.renderers.enable({renderer!r})\n%vfs auto on --threshold 64KiB")
    try:
        out = k.execute("chart", new_cell_id())
    finally:
        k.execute("%vfs auto off")
    (msg,) = out.outputs()
    content = msg["content"]
    assert len(json.dumps(content)) < IOPUB_LIMIT
    if renderer != "default":
        mime = f"application/vnd.vegalite.v{major}" + ("+json" if major < 6 else ".json")
        assert mime in content["data"]
    url = data_url(content)
    assert url.startswith(f"{server.base_url}@file/") and url.endswith(".json")
    # Named in the output's record: a saved notebook pins it, a re-run releases it.
    assert content["metadata"]["vfs_ext"]["url"] == url
    status, _, body = server.fetch(url)
    assert status == 200
    rows = json.loads(body)
    assert len(rows) == ROWS and set(rows[0]) == {"x", "y", "c"}
    assert k.value("alt.data_transformers.active") == "default", "the user's choice is kept"


def test_without_vfs_altair_behaves_as_usual(altair_kernel: tuple[int, Kernel, RunningServer]):
    """No policy: Altair's own default, MaxRowsError included; ``chart.to_dict()`` outside a
    display never points at a virtual file."""
    _major, k, _server = altair_kernel
    out = k.execute("alt.renderers.enable('mimetype')\nchart", new_cell_id(), check=False)
    assert "MaxRowsError" in (out.error or "")
    k.execute("%vfs auto on --threshold 64KiB")
    try:
        out = k.execute("chart.to_dict()", new_cell_id(), check=False)
        assert "MaxRowsError" in (out.error or "")
    finally:
        k.execute("%vfs auto off")


def test_the_transformer_is_found_by_name(altair_kernel: tuple[int, Kernel, RunningServer]):
    """Registered through Altair's entry points: enabling it by name works without vfs_ext's
    help, and a chart displayed under ``%%vfs`` then has its data by URL."""
    _, k, server = altair_kernel
    assert "vfs_ext" in k.value("alt.data_transformers.names()")
    k.execute("alt.renderers.enable('mimetype')")
    out = k.execute(
        "%%vfs --threshold 64KiB\n"
        "with alt.data_transformers.enable('vfs_ext'):\n"
        "    display(chart)",
        new_cell_id(),
    )
    (msg,) = out.outputs()
    assert server.fetch(data_url(msg["content"]))[0] == 200
