"""``python -m bench --huge-pages`` still runs: it re-executes the bench in a private mount
namespace over a huge-page tmpfs on /dev/shm (no timings asserted)."""

from __future__ import annotations

from tests.support.mounts import NEEDS_PRIVATE_MOUNTS
from tests.support.processes import run_module

pytestmark = NEEDS_PRIVATE_MOUNTS


def test_bench_runs_over_a_huge_page_shm_of_its_own() -> None:
    out = run_module("bench", "--quick", "--only", "4", "--huge-pages", timeout=240)
    assert "| 4 kernel write |" in out
    assert "/dev/shm huge pages within_size (private mount over /dev/shm" in out
