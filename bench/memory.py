"""Figure 3: how much the server's RSS grows while concurrent clients stream one large file.

A thread samples ``VmRSS`` of the server process every few milliseconds; ``VmHWM`` is reset
through ``/proc/<pid>/clear_refs`` when allowed, so short spikes between samples are caught too.
The same run against ``/files/`` shows what jupyter_server alone does.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.support.processes import status_bytes

from . import httpclient
from .harness import Bench
from .plot import size_label
from .report import Results, Row, fmt_mib, fmt_s
from .serving import endpoints

TARGET = 64 * 2**20


def _reset_hwm(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_growth(
    pid: int, url: str, auth: dict[str, str], size: int, clients: int, client: str
) -> tuple[int, int, float]:
    """(peak VmRSS growth, peak RssAnon growth, seconds) while ``clients`` fetch ``url``.

    RssAnon is the server's private memory; VmRSS also counts shared file pages it maps."""
    base = status_bytes(pid, "VmRSS")
    base_anon = status_bytes(pid, "RssAnon")
    hwm_ok = _reset_hwm(pid)
    peak, peak_anon = base, base_anon
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_anon
        while not done.wait(0.005):
            peak = max(peak, status_bytes(pid, "VmRSS"))
            peak_anon = max(peak_anon, status_bytes(pid, "RssAnon"))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        with ThreadPoolExecutor(clients) as pool:
            fetched = list(
                pool.map(lambda _: httpclient.get(url, auth, client=client), range(clients))
            )
    finally:
        done.set()
        sampler.join()
    for got in fetched:
        if got.status != 200 or got.size != size:
            raise RuntimeError(f"{url}: status {got.status}, {got.size} of {size} bytes")
    if hwm_ok:
        peak = max(peak, status_bytes(pid, "VmHWM"))
    return max(0, peak - base), max(0, peak_anon - base_anon), max(g.seconds for g in fetched)


async def run(bench: Bench, results: Results, size: int, clients: int) -> None:
    client = httpclient.default_client()
    urls = await endpoints(bench, size)
    pid = bench.server.proc.pid
    grown = {
        name: peak_growth(pid, url, bench.auth, size, clients, client) for name, url in urls.items()
    }
    label = f"{clients} clients x {size_label(size)}"
    files, files_anon, files_s = grown["/files/"]
    alternative = f"{fmt_mib(files)} /files/ (anon {fmt_mib(files_anon)}, {fmt_s(files_s)})"
    if "/@file/" not in grown:
        results.add(
            Row(
                "3 server memory",
                f"peak RSS growth, {label}",
                "n/a",
                alternative,
                verdict="n/a: server_side missing",
            )
        )
        return
    ours, ours_anon, ours_s = grown["/@file/"]
    results.add(
        Row(
            "3 server memory",
            f"peak RSS growth, {label}",
            f"{fmt_mib(ours)} (anon {fmt_mib(ours_anon)}, {fmt_s(ours_s)})",
            alternative,
            "",
            "< 64 MiB",
            "ok" if ours < TARGET else "MISS",
        )
    )
