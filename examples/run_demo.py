"""Start JupyterLab with vfs_ext and the demo notebook: what ``make demo`` runs.

The notebook is copied into a work directory (default ``build/demo/``, ignored by git) so that
running the demo never dirties the repository's copy; ``--fresh`` replaces an existing copy.
Headless-safe: no browser is opened, the server listens on 127.0.0.1 unless ``--ip`` says
otherwise, and the URL (token included) is printed once the server answers.
Ctrl-C, SIGINT or SIGTERM stops the server cleanly: it shuts its kernels down and removes its
files (SIGINT also when the script was started in the background, which ignores it by default).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "demo.ipynb"
DEFAULT_WORKDIR = HERE.parent / "build" / "demo"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=8888, help="port to listen on (default 8888)")
    p.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--app", choices=("lab", "notebook"), default="lab", help="JupyterLab or Notebook 7"
    )
    p.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help=f"where the notebook is copied and run (default {DEFAULT_WORKDIR})",
    )
    p.add_argument("--fresh", action="store_true", help="overwrite an existing copy of the demo")
    p.add_argument("--token", default=None, help="login token (default: a random one)")
    return p.parse_args(argv)


def prepare_workdir(workdir: Path, fresh: bool) -> Path:
    """Copy the demo notebook into ``workdir`` unless a (possibly edited) copy is already there."""
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / NOTEBOOK.name
    if fresh or not target.exists():
        shutil.copyfile(NOTEBOOK, target)
    return target


def server_command(args: argparse.Namespace, token: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "jupyter",
        args.app,
        "--no-browser",
        f"--ServerApp.ip={args.ip}",
        f"--ServerApp.port={args.port}",
        "--ServerApp.port_retries=0",  # the printed URL must be the real one
        f"--ServerApp.root_dir={args.workdir}",
        f"--IdentityProvider.token={token}",
        # Containers and CI often run as root; jupyter refuses that unless told.
        *(["--ServerApp.allow_root=True"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
    ]


def notebook_url(args: argparse.Namespace, token: str) -> str:
    host = args.ip if args.ip not in ("0.0.0.0", "::", "") else "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    path = "lab/tree" if args.app == "lab" else "notebooks"
    return f"http://{host}:{args.port}/{path}/{NOTEBOOK.name}?token={token}"


def wait_ready(proc: subprocess.Popen[bytes], url: str, token: str) -> bool:
    """Poll ``api/status`` until the server answers; False if it exited or timed out."""
    status_url = url.split("/lab/tree/")[0].split("/notebooks/")[0] + "/api/status"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        req = urllib.request.Request(status_url, headers={"Authorization": f"token {token}"})
        try:
            with urllib.request.urlopen(req, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)  # jupyter offers no readiness event to wait on
    return False


def stop(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM lets jupyter shut its kernels down and run stop_extension; SIGKILL if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            print("jupyter did not stop in time; killing it", file=sys.stderr)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.workdir = args.workdir.resolve()
    prepare_workdir(args.workdir, args.fresh)
    token = args.token or secrets.token_hex(24)
    url = notebook_url(args, token)
    # SIGINT explicitly, not only SIGTERM: started as `cmd &` from a script (no job control), we
    # inherit SIGINT ignored and Python then installs no KeyboardInterrupt handler of its own.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    proc: subprocess.Popen[bytes] | None = None
    try:
        # Own session: a terminal's Ctrl-C reaches only this script, which then stops jupyter
        # with SIGTERM (a SIGINT would make jupyter ask "Shutdown this Jupyter server (y/[n])?").
        proc = subprocess.Popen(
            server_command(args, token), cwd=args.workdir, start_new_session=True
        )
        if not wait_ready(proc, url, token):
            print(f"jupyter {args.app} did not start (is port {args.port} free?)", file=sys.stderr)
            stop(proc)
            return 1
        bar = "=" * 72
        print(f"\n{bar}\n vfs_ext demo is running. Open this URL in a browser:\n\n   {url}\n")
        print(f" Notebook copy: {args.workdir / NOTEBOOK.name}\n Stop with Ctrl-C.\n{bar}\n")
        sys.stdout.flush()
        return proc.wait()
    except KeyboardInterrupt:
        print("\nstopping jupyter ...", file=sys.stderr)
        if proc is not None:
            stop(proc)
        return 0


if __name__ == "__main__":
    sys.exit(main())
