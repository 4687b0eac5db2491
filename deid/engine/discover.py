"""Find inputs, and the relative path each one was found at.

Every entry below an input folder becomes an Item, so none is silently skipped: a regular
file is read; anything else is an Item with a `problem` (an error the run counts, audits
and gives a reason for, and that `deid check` reports): a symbolic link (never followed:
it may point anywhere, or round in a loop), a FIFO, socket or device, a folder that
cannot be listed. The walk keeps no list of the tree in memory beyond a stack of
folders, and goes as deep as the tree does (no recursion).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterator

from ..errors import DeidError
from ..handlers import Item

SYMLINK = "symlink: not followed (a link may point outside the input, or round in a loop)"


def check_paths(inputs: list[Path], out: Path) -> None:
    """Refuse layouts that would read our own output or overwrite an input."""
    o = out.resolve()
    for i in inputs:
        if not i.exists():
            raise DeidError(f"input {i} does not exist (or is a broken link)")
        try:
            r = i.resolve(strict=True)
        except (OSError, RuntimeError):
            raise DeidError(f"input {i} cannot be resolved (a link loop?)") from None
        if r == o or (r.is_dir() and (o == r or r in o.parents)):
            raise DeidError(f"--out {out} is inside input {i}; choose an output folder outside the input")
        if o in r.parents:
            raise DeidError(f"input {i} is inside --out {out}; choose an empty output folder")


def discover(inputs: list[Path]) -> Iterator[Item]:
    """Yield Items in a stable order (in each folder its files by name, then its folders by
    name). Several inputs each land under their own name. An input named on the command
    line is taken even when it is a link: it was named on purpose."""
    multi = len(inputs) > 1
    for inp in inputs:
        base = inp.name if multi else ""
        if not inp.is_dir():
            problem = _not_regular(os.stat(inp).st_mode)
            yield Item(str(inp.resolve()), os.path.join(base, inp.name) if multi else inp.name, problem)
            continue
        yield from _walk(inp.resolve(), base)


def _walk(root: Path, base: str) -> Iterator[Item]:
    stack = [(str(root), base)]
    while stack:
        folder, rel = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield Item(folder, rel or Path(folder).name, f"unreadable-folder: {type(exc).__name__}")
            continue
        folders = []
        for e in entries:
            erel = f"{rel}/{e.name}" if rel else e.name
            try:
                if e.is_symlink():
                    yield Item(e.path, erel, SYMLINK)
                elif e.is_dir(follow_symlinks=False):
                    folders.append((e.path, erel))
                else:
                    yield Item(e.path, erel, _not_regular(e.stat(follow_symlinks=False).st_mode))
            except OSError as exc:  # gone since the listing, or its type cannot be read
                yield Item(e.path, erel, f"unreadable-file: {type(exc).__name__}")
        stack.extend(reversed(folders))


KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _not_regular(mode: int) -> str:
    """'' for a regular file, else why it is not read."""
    if stat.S_ISREG(mode):
        return ""
    what = next((name for test, name in KINDS if test(mode)), "not a regular file")
    return f"not-a-regular-file: {what}"
