"""Atomic output and a private quarantine: a crash never leaves a half-written file that
looks done, and what is set aside (raw inputs) is readable by the run's user only."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Iterator

from ..util import atomic_open, atomic_write, fsync_dir, make_dirs  # noqa: F401  (named here too: moved to the bottom layer)

log = logging.getLogger(__name__)
REASONS_NAME = "REASONS.jsonl"
PRIVATE_DIR = 0o700  # the quarantine holds raw inputs: folders 0700, files 0600 (mkstemp's mode)


def quarantine_path(qdir: Path, relpath: str) -> Path:
    """Where an input is set aside: its (safe) relative path below the quarantine, the name
    shortened to a digest when it would leave no room for ".reason.json" within NAME_MAX."""
    dest = qdir / relpath
    if len(dest.name.encode("utf-8", "surrogateescape")) > 200:
        dest = dest.with_name(hashlib.sha256(dest.name.encode("utf-8", "surrogateescape")).hexdigest()[:32])
    return dest


def copy_aside(dest: Path, source: str) -> None:
    """The untouched input, copied atomically to `dest` (mode 0600, folders 0700)."""
    with open(source, "rb") as src, atomic_open(dest, dir_mode=PRIVATE_DIR) as out:
        shutil.copyfileobj(src, out, 1 << 20)
    fsync_dir(dest.parent)  # the copy may be the input's only one left (a gateway drops its spool entry)


def write_reason(dest: Path, reason: str, details: dict | None = None) -> None:
    """<name>.reason.json beside the quarantined input: the reason, and `details` such as
    the boxes an over-redaction would have filled (never a value)."""
    atomic_write(
        dest.with_name(dest.name + ".reason.json"),
        json.dumps({"reason": reason, **({"details": details} if details else {})}, ensure_ascii=True).encode("ascii"),
        dir_mode=PRIVATE_DIR,
    )
    fsync_dir(dest.parent)


def append_reason(path: Path, item: str, reason: str, status: str) -> None:
    """quarantine/REASONS.jsonl: one machine-readable line per input not written (the
    reason is a code and a class name, never a value). Mode 0600."""
    make_dirs(path.parent, PRIVATE_DIR)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a+", encoding="utf-8") as fh:
        size = os.fstat(fd).st_size
        torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"  # a line a kill -9 cut short
        fh.write(
            ("\n" if torn else "")
            + json.dumps(
                {"item": item, "reason": reason, "code": reason.split(":", 1)[0], "status": status}, ensure_ascii=False
            )
            + "\n"
        )


def compact_reasons(path: Path) -> int:
    """REASONS.jsonl with one line per input (the last said wins): a run killed before its
    audit batch committed redoes those inputs, and notes them again. Rewritten atomically,
    only when something repeats; how many lines went. Lines are bytes: one a kill cut
    inside a character stays as it is, once. Best effort: a file that cannot be read or
    rewritten (a full disk) is left as it was, and the run's own outcome stands."""
    try:
        lines = [x for x in path.read_bytes().split(b"\n") if x]
    except FileNotFoundError:
        return 0
    except OSError as exc:
        log.warning("%s not compacted: %s", REASONS_NAME, type(exc).__name__)
        return 0
    last: dict[bytes | str, bytes] = {}
    for line in lines:
        try:
            item: bytes | str = json.loads(line)["item"]
        except (ValueError, KeyError, TypeError):
            item = line  # a line torn by the kill
        last[item] = line
    if len(last) == len(lines):
        return 0
    try:
        atomic_write(path, b"".join(x + b"\n" for x in last.values()))  # 0600: mkstemp
    except OSError as exc:
        log.warning("%s not compacted: %s", REASONS_NAME, type(exc).__name__)
        return 0
    return len(lines) - len(last)


def out_of_space(exc: BaseException) -> bool:
    """A full disk or quota: nothing more can be written, so the run stops (exit 3) rather
    than quarantine every input that is left."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(exc, sqlite3.OperationalError):
        return getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL" or "disk is full" in str(exc)
    return False


def find_partials(*folders: Path) -> Iterator[Path]:
    """Temp files a killed run or worker left behind (.deid-*.part) below `folders`."""
    for folder in folders:
        if not folder.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(folder):
            for fn in files:
                if fn.endswith(".part"):
                    yield Path(dirpath, fn)
