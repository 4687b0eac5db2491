"""Atomic output and quarantine: a crash never leaves a half-written file that looks done."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then os.replace."""
    with atomic_open(path) as fh:
        fh.write(data)


@contextmanager
def atomic_open(path: Path, mode: str = "wb", **kw) -> Iterator[IO]:
    """A temp file in path's folder (mode 0600, from mkstemp) to write in steps; fsynced
    and os.replace'd onto `path` when the block ends, removed when it raises."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".deid-", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kw) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def quarantine(qdir: Path, relpath: str, source: str, reason: str, details: dict | None = None) -> Path:
    """Copy the untouched input beside the output (never inside it) with a reason file
    (the reason, and `details` such as the boxes an over-redaction would have filled)."""
    dest = qdir / relpath
    if len(dest.name.encode("utf-8")) > 200:  # leave room for ".reason.json" within NAME_MAX
        import hashlib

        dest = dest.with_name(hashlib.sha256(dest.name.encode("utf-8", "surrogateescape")).hexdigest()[:32])
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copyfile(source, dest.with_name(dest.name + ".part"))
        os.replace(dest.with_name(dest.name + ".part"), dest)
    except OSError:
        pass  # the reason file below still records it
    atomic_write(dest.with_name(dest.name + ".reason.json"),
                 json.dumps({"reason": reason, **({"details": details} if details else {})},
                            ensure_ascii=True).encode("ascii"))
    return dest
