"""Throwaway Unix users for root tests, and the way for their processes to run this Python.

Users get a home directory; their processes (killed by pid) and files (homes, /dev/shm) go when
the test ends. Where this interpreter lives under a directory other users cannot enter (pyenv
under /root), ``interpreter_prefix`` opens just the way to it in a private mount namespace.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def closed_dirs(path: Path) -> list[Path]:
    """The directories on the way to ``path`` that other users cannot enter."""
    return [p for p in reversed(path.parents) if not os.stat(p).st_mode & stat.S_IXOTH]


def hidden_interpreter() -> tuple[Path, Path] | None:
    """(closed directory, its child on the way to the interpreter) when other users cannot run
    this Python (pyenv under /root, 0700); None when they can."""
    real = Path(os.path.realpath(sys.executable))
    closed = closed_dirs(real)
    if not closed:
        return None
    top = closed[0]
    return top, real.parents[len(real.parents) - len(top.parents) - 2]


@dataclass
class UnixUser:
    name: str
    uid: int
    home: Path


@contextmanager
def unix_users(count: int) -> Iterator[list[UnixUser]]:
    """``count`` new Unix users with home directories; their processes and files removed after."""
    users: list[UnixUser] = []
    tag = secrets.token_hex(3)
    try:
        for i in range(count):
            name = f"vfshub{tag}{i}"
            subprocess.run(
                ["useradd", "--create-home", "--user-group", "--shell", "/bin/sh", name],
                check=True,
                capture_output=True,
                timeout=60,
            )
            entry = pwd.getpwnam(name)
            users.append(UnixUser(name, entry.pw_uid, Path(entry.pw_dir)))
        yield users
    finally:
        for user in users:
            kill_processes_of(user.uid)
            subprocess.run(["userdel", "--remove", "--force", user.name], capture_output=True)
            shutil.rmtree(user.home, ignore_errors=True)
            for leftover in Path("/dev/shm").glob(f"*-{user.uid}*"):
                if leftover.lstat().st_uid == user.uid:
                    shutil.rmtree(leftover, ignore_errors=True)


def pids_of(uid: int) -> list[int]:
    """The processes running as ``uid``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    found.append(int(entry))
    return found


def kill_processes_of(uid: int) -> None:
    """SIGKILL every process of a throwaway user, by pid, until none is left (bounded)."""
    deadline = time.monotonic() + 20
    while (pids := pids_of(uid)) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


#: ``sh -c`` body: make closed directory "$1" enterable by mounting a tmpfs over it with only
#: its child "$2" (the way to the interpreter) bind-mounted back in; keep "$3" as scratch.
_OPEN_WAY = (
    'mkdir -p "$3" && mount --bind "$2" "$3" && mount -t tmpfs -o mode=0755,size=1m tmpfs "$1"'
    ' && mkdir "$2" && mount --move "$3" "$2" && shift 3 && exec "$@"'
)


def interpreter_prefix(scratch: Path) -> list[str]:
    """Command prefix that lets the users' servers run this Python: where it lives under a
    closed directory (pyenv under /root), the hub runs in a private mount namespace in which
    that directory shows nothing but the way to the interpreter. Empty when not needed."""
    hidden = hidden_interpreter()
    if hidden is None:
        return []
    closed, child = hidden
    return [
        *("unshare", "-m", "--propagation", "private"),
        *("sh", "-c", _OPEN_WAY, "sh", str(closed), str(child), str(scratch)),
    ]


def as_user(user: UnixUser, owned: Path) -> list[str]:
    """Command prefix: give ``owned`` (the folders a test server made for ``user``) to ``user``,
    then exec the command as ``user`` (setpriv execs, so signals reach the command itself)."""
    ids = f"--reuid={user.uid}", f"--regid={pwd.getpwuid(user.uid).pw_gid}", "--init-groups"
    return [
        *("sh", "-c", 'chown -R "$1" "$2" && shift 2 && exec "$@"', "sh", user.name, str(owned)),
        *("setpriv", *ids, "--"),
    ]
