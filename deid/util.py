"""Bottom-layer helpers that any package may use: atomic file writes, the thread count
for model sessions, and model files shipped inside wheels (found, checked, never
downloaded). Nothing here imports a deid module but deid.errors."""

from __future__ import annotations

import hashlib
import os
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import IO, Any, Iterator

from .errors import PolicyError


# -- atomic writes --------------------------------------------------------------------
def atomic_write(path: Path, data: bytes, dir_mode: int | None = None) -> None:
    """Write to a temp file in the same folder, fsync, then os.replace."""
    with atomic_open(path, dir_mode=dir_mode) as fh:
        fh.write(data)


@contextmanager
def atomic_open(path: Path, mode: str = "wb", dir_mode: int | None = None, **kw: Any) -> Iterator[IO[Any]]:
    """A temp file in path's folder (mode 0600, from mkstemp) to write in steps; fsynced
    and os.replace'd onto `path` when the block ends, removed when it raises. Missing
    folders are made with `dir_mode` (default: as the umask says)."""
    make_dirs(path.parent, dir_mode)
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


def fsync_dir(path: Path) -> None:
    """The folder's entries on disk (a rename into it survives a power cut)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: Path, mode: int | None = None) -> None:
    """mkdir -p, each folder it makes with `mode` (Path.mkdir gives parents the umask's)."""
    if mode is None:
        path.mkdir(parents=True, exist_ok=True)
        return
    missing = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for p in reversed(missing):
        try:
            p.mkdir(mode)
        except FileExistsError:
            if not p.is_dir():
                raise
        os.chmod(p, mode)  # mkdir's mode is masked by the umask


# -- threads --------------------------------------------------------------------------
def threads() -> int:
    """Threads per session: DEID_OCR_THREADS (pool workers get cores/workers, set by the
    runner), else all cores."""
    env = os.environ.get("DEID_OCR_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return os.cpu_count() or 1


# -- model files inside wheels, SHA-256 pinned ----------------------------------------
def packaged_file(package: str, relpath: str, digest: str, wheel: str) -> Path:
    """Path of `relpath` inside the installed `package` (found, not imported), checked."""
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise PolicyError(f"model files are missing: install {wheel} (a dependency of deid)")
    path = Path(list(spec.submodule_search_locations)[0]) / relpath
    if not path.is_file():
        raise PolicyError(f"model file {relpath} not found in {package}; install {wheel}")
    if sha256(path) != digest:
        raise PolicyError(f"model file {relpath} does not match its pinned SHA-256; install {wheel}")
    return path


@lru_cache(maxsize=None)
def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
