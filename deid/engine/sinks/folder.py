"""The local-folder sink (`deid run --out DIR`): each output written atomically at
out/<rel> (a temp file in the same folder, fsync, os.replace: writer.py), quarantined
inputs copied aside, with a reason file each, into the private folder beside it
(<out>.quarantine: folders 0700, files 0600), and optional previews in their own folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, Mapping

from ...errors import DeidError
from ..writer import (
    append_reason,
    atomic_write,
    compact_reasons,
    copy_aside,
    find_partials,
    quarantine_path,
    write_reason,
)

REASONS = "REASONS.jsonl"  # the quarantine's list: one line per input not written


class LocalQuarantine:
    """The quarantine half every sink shares, whatever its destination: raw inputs copied
    into a private local folder (`quarantine_dir`) with a reason file each and the list of
    reasons; the temp files below the sink's folders (`partials`) removed on request."""

    quarantine_dir: Path

    def set_aside(self, rel: str, source: str) -> str:
        dest = quarantine_path(self.quarantine_dir, rel)
        copy_aside(dest, source)
        return str(dest)

    def quarantine(self, rel: str, reason: str, details: dict | None = None) -> str:
        dest = quarantine_path(self.quarantine_dir, rel)
        write_reason(dest, reason, details)
        return str(dest)

    def note(self, item: str, reason: str, status: str) -> None:
        append_reason(self.quarantine_dir / REASONS, item, reason, status)

    def partials(self) -> Iterator[Path]:
        return find_partials(self.quarantine_dir)

    def remove_partials(self) -> int:
        """Temp files removed (how many), and REASONS.jsonl down to one line per input
        (a killed run's inputs, redone, are noted again)."""
        n = 0
        for path in self.partials():
            try:
                os.unlink(path)
                n += 1
            except FileNotFoundError:
                pass
        compact_reasons(self.quarantine_dir / REASONS)
        return n

    def close(self) -> None:
        """Nothing to let go of for a folder (a peer sink releases its connections)."""


@dataclass(frozen=True)
class FolderSink(LocalQuarantine):
    out: Path
    quarantine_dir: Path
    preview_dir: Path | None = None  # --preview: PNGs of redacted frames (for people, never uploaded)

    @property
    def where(self) -> str:
        return str(self.out)

    def folders(self) -> list[Path]:
        return [self.out, self.quarantine_dir] + ([self.preview_dir] if self.preview_dir is not None else [])

    def prepare(self) -> None:
        """The output folder made (or an existing one checked), and the quarantine writable
        and private (0700), before any input is read."""
        qdir = self.quarantine_dir
        _writable_folder(self.out, "--out")
        if qdir.exists():
            if not qdir.is_dir() or not os.access(qdir, os.W_OK | os.X_OK):
                raise DeidError(f"the quarantine folder {qdir} is not a writable folder")
            if qdir.stat().st_uid == os.getuid():
                os.chmod(qdir, 0o700)
        elif not os.access(qdir.parent, os.W_OK | os.X_OK):
            raise DeidError(f"the quarantine folder {qdir} cannot be made: {qdir.parent} is not writable")
        if self.preview_dir is not None:  # else every output with a preview would be quarantined (write-failed)
            _writable_folder(self.preview_dir, "--preview")

    def put(self, rel: str, data: bytes) -> str:
        path = self.out / rel
        atomic_write(path, data)
        return str(path)

    def preview(self, rel: str, suffix: str, png: bytes) -> None:
        if self.preview_dir is not None:
            atomic_write(self.preview_dir / f"{rel}.{suffix}", png)

    def has(self, rel: str) -> bool:
        return (self.out / rel).is_file()

    def open(self, rel: str) -> BinaryIO:
        """The output under `rel`, only when it lies inside the output folder (a name from
        an edited audit log must not open other files); FileNotFoundError otherwise."""
        try:
            root = self.out.resolve()
            path = (root / rel).resolve()
        except (OSError, ValueError, RuntimeError):  # a NUL byte, a name too long, a symlink loop
            raise FileNotFoundError(rel) from None
        if root not in path.parents or not path.is_file():
            raise FileNotFoundError(rel)
        return open(path, "rb")

    def partials(self) -> Iterator[Path]:
        return find_partials(*self.folders())

    def resume_index(self, done: Mapping[str, str]) -> Mapping[str, str]:
        return done  # the audit records an input only once its output or copy is in place


def _writable_folder(path: Path, option: str) -> None:
    """`path` made (or an existing one checked) and writable; DeidError (exit 2) naming
    `option` when it cannot be."""
    if path.exists() and not path.is_dir():
        raise DeidError(f"{option} {path} exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DeidError(f"cannot create {option} {path}: {exc.strerror or type(exc).__name__}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise DeidError(f"{option} {path} is not writable")
