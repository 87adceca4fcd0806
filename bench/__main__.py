"""``python -m bench``: run every figure against one real server and print a markdown table.

python -m bench              # full run (< 5 min, 2 cores): bench/RESULTS.md, latency.png
python -m bench --quick      # tiny sizes, for the smoke test; writes nothing unless --out
python -m bench --sizes 1MiB,10MiB --only 1,6
python -m bench --huge-pages # the memory tier on a huge-page tmpfs (root; private mount)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

from vfs_ext.config import parse_size

from . import (
    adminview,
    display,
    harness,
    hugepages,
    kernel,
    memory,
    notebook,
    persist,
    plot,
    serving,
    write,
)
from .report import Results

HERE = Path(__file__).resolve().parent
MiB = 2**20
FULL_SIZES = "1KiB,64KiB,1MiB,10MiB,50MiB,256MiB,1GiB"
HEADLINE = (1 * MiB, 10 * MiB, 50 * MiB)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (smoke test)")
    p.add_argument("--sizes", help=f"payload sizes for figures 1, 2 and 6 (default {FULL_SIZES})")
    p.add_argument("--only", help="comma-separated figure numbers to run (default: all)")
    p.add_argument("--repeats", type=int, help="repeats per measurement (median; default 5)")
    p.add_argument("--serve-size", help="figure 2 headline size (default 256MiB)")
    p.add_argument("--memory-size", help="figure 3 file size (default 1GiB)")
    p.add_argument("--clients", type=int, help="figure 3 concurrent clients (default 8)")
    p.add_argument("--write-size", help="figure 4 buffer size (default 100MiB)")
    p.add_argument(
        "--server-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra jupyter server argument, e.g. --VirtualFiles.chunk_size=4MiB",
    )
    p.add_argument(
        "--server-config",
        type=Path,
        metavar="FILE",
        action="append",
        default=[],
        help="code for the server's jupyter_server_config.py, repeatable (bench/prototypes/)",
    )
    p.add_argument(
        "--kernel-setup",
        type=Path,
        metavar="FILE",
        action="append",
        default=[],
        help="Python run in the kernel after %%load_ext vfs_ext, repeatable, in order "
        "(bench/prototypes/)",
    )
    p.add_argument(
        "--quickack",
        action="store_true",
        help="client ACKs at once: removes the ~40 ms Nagle/delayed-ACK stall that "
        "small kernel messages hit on jupyter_server's websocket (not what a browser gets)",
    )
    p.add_argument("--inline-max", default="256MiB", help="largest inline display measured")
    p.add_argument(
        "--huge-pages",
        action="store_true",
        help="run over a /dev/shm with transparent huge pages (huge=within_size), mounted "
        "in a private mount namespace (root)",
    )
    p.add_argument(
        "--out",
        type=Path,
        help="directory for RESULTS.md and latency.png "
        "(default: bench/ for a default full run; none when any option narrows or changes it)",
    )
    a = p.parse_args(argv)
    quick = a.quick
    # Only a default full run replaces the committed bench/RESULTS.md and latency.png.
    narrowed = (a.sizes, a.only, a.repeats, a.serve_size, a.memory_size, a.clients, a.write_size)
    changed = (
        a.server_arg,
        a.server_config,
        a.kernel_setup,
        a.quickack,
        a.inline_max != "256MiB",
        a.huge_pages,
    )
    full_run = not (quick or any(narrowed) or any(changed))
    a.sizes = [parse_size(s) for s in (a.sizes or ("300KiB" if quick else FULL_SIZES)).split(",")]
    a.repeats = a.repeats or (1 if quick else 5)
    a.serve_size = parse_size(a.serve_size or ("2MiB" if quick else "256MiB"))
    a.memory_size = parse_size(a.memory_size or ("8MiB" if quick else "1GiB"))
    a.clients = a.clients or (2 if quick else 8)
    a.write_size = parse_size(a.write_size or ("4MiB" if quick else "100MiB"))
    a.notebook = (2, parse_size("300KiB")) if quick else (10, 5 * MiB)
    a.persist = (2, parse_size("300KiB")) if quick else (10, 50 * MiB)
    a.inline_max = parse_size(a.inline_max)
    a.admin_counts = [100, 1000] if quick else [100, 5000, 20000]
    a.only = {int(x) for x in a.only.split(",")} if a.only else {1, 2, 3, 4, 5, 6, 7, 8}
    if a.out is None and full_run:
        a.out = HERE
    return a


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    pkgs = ", ".join(f"{p} {version(p)}" for p in ("jupyter_server", "tornado", "ipykernel"))
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, Linux {platform.release()}, "
        f"Python {platform.python_version()}, {pkgs}"
    )


async def run_all(a: argparse.Namespace, results: Results) -> None:
    if 4 in a.only:
        print("figure 4: kernel write bandwidth", flush=True)
        write.run(results, a.write_size, a.repeats)
    kernel.KernelSession.quickack = a.quickack
    if a.quickack:
        results.notes.append("--quickack: the client ACKs at once (not what a browser does)")
    for path in [*a.server_config, *a.kernel_setup]:
        results.notes.append(f"prototype loaded: {path} (a what-if, not the shipped code)")
    server_args = list(a.server_arg)
    if 7 in a.only:  # jupyter_server refuses bodies over 512 MiB: an inline save of figure 7's
        # notebook would fail, as it does from JupyterLab (noted in the results)
        server_args += [f"--ServerApp.max_body_size={persist.MAX_BODY}"]
        server_args += [f"--ServerApp.max_buffer_size={persist.MAX_BODY}"]
        results.notes.append(persist.NOTE)
    async with harness.running(server_args, a.server_config, a.kernel_setup) as bench:
        results.notes.append(
            f"server_side exported env: {bench.has_env}; kernel_side loads: {bench.has_kernel_side}"
        )
        print(results.notes[-1], flush=True)
        if a.only & {1, 6}:
            print("figure 1/6: display latency", flush=True)
            sizes = a.sizes if 6 in a.only else [s for s in a.sizes if s in HEADLINE] or a.sizes
            # Headline rows compare with inline: only sizes that are measured inline qualify.
            headline = [s for s in sizes if s in HEADLINE] or [
                s for s in sizes if s <= a.inline_max
            ]
            await display.run(bench, results, sizes, headline, a.repeats, a.inline_max)
        if a.only & {2, 6}:
            print("figure 2/6: serving", flush=True)
            sizes = a.sizes if 6 in a.only else []
            await serving.run(bench, results, sizes, a.serve_size, a.repeats)
        if 3 in a.only:
            print("figure 3: server memory", flush=True)
            await memory.run(bench, results, a.memory_size, a.clients)
        if 5 in a.only:
            print("figure 5: notebook size", flush=True)
            await notebook.run(bench, results, a.notebook[1], a.notebook[0])
        if 7 in a.only:
            print("figure 7: saves that keep outputs beside the notebook", flush=True)
            await persist.run(bench, results, a.persist[1], a.persist[0], min(a.repeats, 3))
        if 8 in a.only and bench.has_env:
            print("figure 8: admin view (metrics scrape, api/vfs)", flush=True)
            await adminview.run(bench, results, a.admin_counts, a.repeats)


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    if a.huge_pages:
        hugepages.reexec(sys.argv[1:] if argv is None else argv)
    results = Results()
    results.notes.append(hugepages.note())
    t0 = time.monotonic()
    asyncio.run(run_all(a, results))
    elapsed = time.monotonic() - t0
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    about = (
        f"Machine: {machine()}. Total bench time {elapsed:.0f} s; load average at the end "
        f"{load} (other processes share the cores: expect run-to-run noise)."
    )
    text = "\n".join(
        [
            results.markdown(),
            "",
            "Scaling (figure 6), medians:",
            "",
            plot.table(results),
            "",
            about,
            *[f"- {n}" for n in results.notes],
        ]
    )
    print()
    print(text)
    if a.out is not None:
        a.out.mkdir(parents=True, exist_ok=True)
        command = "python -m bench --huge-pages" if a.huge_pages else "make bench"
        (a.out / "RESULTS.md").write_text(f"# Benchmark results (`{command}`)\n\n{text}\n")
        if 6 in a.only and plot.plot(results, a.out / "latency.png", about):
            print(f"\nwrote {a.out / 'RESULTS.md'} and {a.out / 'latency.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
