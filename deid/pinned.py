"""Model files that ship inside PyPI wheels are checked against a pinned SHA-256 before
they are loaded: a different file is an error, not a guess. Nothing is downloaded."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

from .errors import PolicyError


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
