"""One run at a time per output folder and per audit log.

Two runs writing one --out mix their outputs, and two writers of one audit log break its
hash chain. A run holds an exclusive lock (flock) on `<path>.lock` beside each, for as
long as it runs, and writes into it which run it is (process id, host, start time), so
the second run is refused at once, saying which run holds it. The kernel drops the lock
when its holder dies, however it dies, so a killed run never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import DeidError


class Busy(DeidError):
    """Another run holds the lock."""


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


@contextmanager
def hold(*paths: Path) -> Iterator[None]:
    """Hold the lock of every path (an output folder, an audit log) until the block ends."""
    with ExitStack() as stack:
        for p in dict.fromkeys(paths):
            stack.enter_context(_hold(p))
        yield


@contextmanager
def _hold(path: Path) -> Iterator[None]:
    lp = lock_path(path)
    fd = _acquire(lp, path)
    try:
        os.ftruncate(fd, 0)
        os.write(
            fd,
            json.dumps(
                {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
            ).encode("ascii"),
        )
        yield
    finally:
        try:
            os.unlink(lp)  # while still holding it: a run that opened it before is refused below
        except OSError:
            pass
        os.close(fd)


def _acquire(lp: Path, path: Path) -> int:
    """An fd on `lp` holding its lock. The lock file is removed when its holder ends, so a
    lock taken on a file that is no longer at `lp` counts for nothing: try again."""
    for _ in range(20):
        try:
            lp.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lp, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise DeidError(f"cannot create {lp} ({exc.strerror}): the folder of {path} must be writable") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise Busy(
                f"{path} is in use by another deid run ({holder}); wait for it to end, or choose "
                "another output folder and audit log"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lp).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)
    raise Busy(f"{path}: cannot take its lock ({lp}); another deid run keeps taking it")


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"process {int(info['pid'])} on {str(info['host'])[:64]}, started {str(info['started'])[:19]}"
    except (OSError, ValueError, KeyError, TypeError):
        return "its details could not be read"
