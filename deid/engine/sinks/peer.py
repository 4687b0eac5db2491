"""What every network sink shares (sinks/cstore.py, sinks/stow.py): outputs go to a
peer, and the quarantine stays a private local folder (raw inputs never leave the host),
with a reason file per input and the list of reasons, exactly as beside `--out`.

A peer has no folder to look in afterwards: `has` trusts the acknowledgement the peer
gave before the input was recorded as written, and `open` cannot read an output back.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import BinaryIO, Mapping

from ...errors import DeidError
from ..writer import PRIVATE_DIR, make_dirs
from .folder import LocalQuarantine

BACKOFF = (0.2, 0.5, 1.0)  # seconds between a put's attempts (then the peer counts as down)


class PeerSink(LocalQuarantine):
    """The local half of a network sink: quarantine, reasons, temp files."""

    def __init__(self, quarantine_dir: Path):
        self.quarantine_dir = quarantine_dir

    @property
    def where(self) -> str:
        raise NotImplementedError

    def folders(self) -> list[Path]:
        """The only local folder it writes: the quarantine (a run's vault must be outside it)."""
        return [self.quarantine_dir]

    def prepare(self) -> None:
        """The quarantine made private (0700) and writable. The peer is not asked: a
        gateway starts (and keeps what it receives) while its destination is down."""
        q = self.quarantine_dir
        try:
            make_dirs(q, PRIVATE_DIR)
        except OSError as exc:
            raise DeidError(f"cannot create the quarantine folder {q}: {exc.strerror or type(exc).__name__}") from None
        if not q.is_dir() or not os.access(q, os.W_OK | os.X_OK):
            raise DeidError(f"the quarantine folder {q} is not a writable folder")
        if q.stat().st_uid == os.getuid():
            os.chmod(q, PRIVATE_DIR)

    def put(self, rel: str, data: bytes) -> str:
        raise NotImplementedError

    def preview(self, rel: str, suffix: str, png: bytes) -> None:
        """Previews are for people beside a folder; a peer gets none."""

    def has(self, rel: str) -> bool:
        return True  # recorded as written only after the peer acknowledged it (put returned)

    def open(self, rel: str) -> BinaryIO:
        raise OSError("a network destination cannot be read back")

    def resume_index(self, done: Mapping[str, str]) -> Mapping[str, str]:
        return done  # an input is recorded only after the peer acknowledged it


def pause(attempt: int) -> None:
    """The wait before a put's next attempt."""
    time.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])


class FanoutSink(PeerSink):
    """Several peers (`--forward` and `--stow` together): an output is written when every
    one of them acknowledged it; a refusal by any quarantines it. A retry after one peer
    was down sends it to the others again (the same UIDs: the peer keeps one copy)."""

    def __init__(self, sinks: list[PeerSink], quarantine_dir: Path):
        super().__init__(quarantine_dir)
        self.sinks = sinks

    @property
    def where(self) -> str:
        return " + ".join(s.where for s in self.sinks)

    def put(self, rel: str, data: bytes) -> str:
        return " + ".join(s.put(rel, data) for s in self.sinks)

    def close(self) -> None:
        for s in self.sinks:
            s.close()
