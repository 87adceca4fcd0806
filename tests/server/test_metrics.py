"""Prometheus metrics at jupyter_server's own ``{base_url}metrics``: what a real kernel wrote,
fell back, refused and released, what ``@file`` served, under the server's auth rule."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from server_side import metrics
from server_side.counters import ServerCounters
from tests.support.execute import printed, run_code
from tests.support.processes import wait_until
from tests.support.server import RunningServer, jupyter_server
from vfs_ext.config import DISK, TierSpec
from vfs_ext.store import Store

MIB = 1024 * 1024

#: In a real kernel of the server: 1 MB and 0.5 MB fit the 3 MiB memory tier, 4 MB falls back to
#: disk (over budget), 6 MB fits nowhere (refused), 9 MB is over max_file_size (too large); the
#: 0.5 MB file's group is released.
WRITES = """
import json
from kernel_side.extension import current_session
s = current_session()
o = s.owner()
a = o.write(b"a" * 1_000_000, "bin")
o.write(b"c" * 500_000, "bin", group="old")
o.release_group("old")
o.write(b"b" * 4_000_000, "bin")
refused = []
for data in (b"r" * 6_000_000, b"x" * 9_000_000):
    try:
        o.write(data, "bin")
    except Exception as exc:
        refused.append(type(exc).__name__)
print(json.dumps([a.name, refused]))
"""


def scrape(
    server: RunningServer, *, auth: bool = True, headers: dict[str, str] | None = None
) -> tuple[int, dict[tuple[str, str], float]]:
    """Status and the vfs_ext samples of one scrape, keyed by (name, label values joined)."""
    status, _, body = server.request("GET", "metrics", auth=auth, headers=headers)
    samples = {}
    if status == 200:
        for family in text_string_to_metric_families(body.decode()):
            for s in family.samples:
                if s.name.startswith("vfs_ext_"):
                    samples[s.name, ",".join(s.labels.values())] = s.value
    return status, samples


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    args = [
        "--VirtualFiles.memory_budget=3MiB",
        "--VirtualFiles.memory_keep_free=0",
        "--VirtualFiles.disk_budget=8MiB",
        "--VirtualFiles.max_file_size=7MB",
    ]
    with jupyter_server(tmp_path_factory.mktemp("metrics"), extra_args=args) as running:
        yield running


def test_a_scrape_counts_what_a_real_kernel_did(server: RunningServer) -> None:
    notebook = {"path": "m.ipynb", "name": "m.ipynb", "type": "notebook"}
    session = server.api("POST", "api/sessions", {**notebook, "kernel": {"name": "python3"}})
    connection = server.runtime_dir / f"kernel-{session['kernel']['id']}.json"
    name, refused = json.loads(printed(run_code(connection, WRITES)))
    assert refused == ["FitsNowhere", "TooLarge"]
    assert server.request("GET", f"@file/{name}")[0] == 200
    assert server.request("GET", "@file/not-a-name")[0] == 404
    server.api("GET", "api/vfs")  # counts the tiers now (a scrape takes the latest count)

    status, m = scrape(server)
    assert status == 200
    assert m["vfs_ext_tier_bytes", "memory"] == 1_000_000
    assert m["vfs_ext_tier_files", "memory"] == 1
    assert m["vfs_ext_tier_bytes", "disk"] == 4_000_000
    assert m["vfs_ext_tier_budget_bytes", "memory"] == 3 * MIB
    assert m["vfs_ext_tier_budget_bytes", "disk"] == 8 * MIB
    assert m["vfs_ext_tier_keep_free_bytes", "memory"] == 0
    assert (
        m["vfs_ext_tier_capacity_bytes", "memory"]
        >= m["vfs_ext_tier_filesystem_free_bytes", "memory"]
        > 0
    )
    assert m["vfs_ext_writes_total", "memory"] == 2
    assert m["vfs_ext_writes_total", "disk"] == 1
    assert m["vfs_ext_writes_total", "refused"] == 1
    assert m["vfs_ext_writes_total", "too_large"] == 1
    assert m["vfs_ext_written_bytes_total", "memory"] == 1_500_000
    assert m["vfs_ext_written_bytes_total", "disk"] == 4_000_000
    assert m["vfs_ext_fallbacks_total", "over_budget"] == 1
    assert m["vfs_ext_fallbacks_total", "keep_free"] == 0
    assert m["vfs_ext_releases_total", "rerun"] == 1
    assert m["vfs_ext_released_bytes_total", "rerun"] == 500_000
    assert m["vfs_ext_file_requests_total", "2xx"] == 1
    assert m["vfs_ext_file_requests_total", "4xx"] == 1
    assert m["vfs_ext_file_sent_bytes_total", ""] == 1_000_000
    assert m["vfs_ext_sweeps_total", ""] >= 1  # the one at start

    server.api("DELETE", f"api/sessions/{session['id']}")  # the kernel shuts down: files go

    def shutdown_counted() -> dict[tuple[str, str], float] | None:
        _, m = scrape(server)
        return m if m["vfs_ext_releases_total", "shutdown"] else None

    m = wait_until(shutdown_counted, "the shutdown release in the metrics")
    assert m["vfs_ext_releases_total", "shutdown"] == 2
    assert m["vfs_ext_released_bytes_total", "shutdown"] == 5_000_000


def test_anonymous_and_wrong_token_scrapes_are_refused(server: RunningServer) -> None:
    assert scrape(server, auth=False)[0] == 403
    status, _ = scrape(server, auth=False, headers={"Authorization": "token wrong"})
    assert status == 403


def test_authenticate_prometheus_false_opens_the_scrape(tmp_path: Path) -> None:
    args = ["--ServerApp.authenticate_prometheus=False"]
    with jupyter_server(tmp_path, extra_args=args) as running:
        status, m = scrape(running, auth=False)
    assert status == 200 and ("vfs_ext_writes_total", "refused") in m


def test_a_second_server_in_one_process_goes_without_metrics(tmp_path: Path) -> None:
    """Two servers in one process (in-process test fixtures) cannot both export the same
    names; the second does without, instead of failing to load."""
    stores = [Store.for_server([TierSpec(DISK, tmp_path / tag)]) for tag in ("a", "b")]
    installed = [metrics.install(store, ServerCounters()) for store in stores]
    try:
        text = generate_latest(REGISTRY).decode()
        assert text.count('vfs_ext_writes_total{outcome="refused"}') == 1
    finally:
        for (_, collector), store in zip(installed, stores, strict=True):
            metrics.uninstall(collector)
            store.close(remove=True)
    assert "vfs_ext_" not in generate_latest(REGISTRY).decode()
