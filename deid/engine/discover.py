"""Find input files and the relative output path each one gets."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from ..errors import DeidError
from ..handlers import Item


def check_paths(inputs: list[Path], out: Path) -> None:
    """Refuse layouts that would read our own output or overwrite an input."""
    o = out.resolve()
    for i in inputs:
        if not i.exists():
            raise DeidError(f"input {i} does not exist")
        r = i.resolve()
        if r == o or (r.is_dir() and (o == r or r in o.parents)):
            raise DeidError(f"--out {out} is inside input {i}; choose an output folder outside the input")
        if o in r.parents:
            raise DeidError(f"input {i} is inside --out {out}; choose an empty output folder")


def discover(inputs: list[Path]) -> Iterator[Item]:
    """Yield Items in a stable order. Several inputs each land under their own name."""
    multi = len(inputs) > 1
    for inp in inputs:
        base = inp.name if multi else ""
        if inp.is_file():
            yield Item(str(inp.resolve()), os.path.join(base, inp.name) if multi else inp.name)
            continue
        root = inp.resolve()
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for fn in sorted(filenames):
                p = Path(dirpath) / fn
                if p.is_symlink() or not p.is_file():
                    continue
                rel = p.relative_to(root).as_posix()
                yield Item(str(p), f"{base}/{rel}" if base else rel)
