"""``python -m bench --huge-pages`` still runs: it re-executes the bench in a private mount
namespace over a huge-page tmpfs on /dev/shm (no timings asserted)."""

from __future__ import annotations

import subprocess
import sys

from tests.support import REPO
from tests.support.mounts import NEEDS_PRIVATE_MOUNTS

pytestmark = NEEDS_PRIVATE_MOUNTS


def test_bench_runs_over_a_huge_page_shm_of_its_own() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "4", "--huge-pages"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "| 4 kernel write |" in proc.stdout
    assert "/dev/shm huge pages within_size (private mount over /dev/shm" in proc.stdout
