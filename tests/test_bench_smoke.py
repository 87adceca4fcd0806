"""The benchmark still runs end to end (tiny sizes) and prints its table; no timings asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.processes import run_module


def test_bench_quick_prints_a_table(tmp_path: Path) -> None:
    out = run_module("bench", "--quick", "--out", str(tmp_path), timeout=240)
    assert "| figure | measurement | vfs_ext | alternative |" in out
    for figure in (
        "1 display latency",
        "2 serving",
        "3 server memory",
        "4 kernel write",
        "5 notebook size",
        "7 save",
        "8 admin view",
    ):
        assert f"| {figure} |" in out, f"{figure} missing from:\n{out}"
    assert (tmp_path / "RESULTS.md").read_text().startswith("# Benchmark results")
    assert (tmp_path / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_browser_breakdown_prints_its_phases() -> None:
    """``python -m bench.browser --breakdown --quick``: the by-URL image's phases in Chromium."""
    from tests.conftest import CHROMIUM

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: make chromium")
    out = run_module("bench.browser", "--breakdown", "--quick", timeout=600)
    assert "load average before:" in out
    assert "### 1 MiB image by URL" in out
    assert "the <img> floor" in out
    for phase in (
        "| kernel: virtual file written |",
        "| display_data received on the websocket |",
        "| src set |",
        "| GET: last byte |",
        "| img.decode() resolved |",
        "| createImageBitmap resolved |",
    ):
        assert phase in out, f"{phase} missing from:\n{out}"


def test_browser_rerun_prints_its_rows() -> None:
    """``python -m bench.browser --only rerun --quick``: re-runs of an image in JupyterLab and
    in a bare page, traced, in one row."""
    from tests.conftest import CHROMIUM

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: make chromium")
    out = run_module("bench.browser", "--only", "rerun", "--quick", timeout=600)
    assert "load average before:" in out
    row = next(
        (line for line in out.splitlines() if line.startswith("| re-run of a 1 MiB image x5")),
        None,
    )
    assert row is not None, f"no re-run row in:\n{out}"
    assert row.count("ms in long tasks") == 3, row  # inline, by URL, and the bare page's floor
    assert "bare page: longest" in row
