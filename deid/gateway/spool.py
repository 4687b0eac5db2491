"""The spool: every instance a sender was told was stored is in this folder until it has
been forwarded (the peer acknowledged it) or quarantined.

    <spool>/incoming/<ns>-<random>.dcm   received, fsynced (file and folder) before the
                                          C-STORE response says success
    <spool>/quarantine/                   the sink's private quarantine (reason files)
    <spool>/outgoing/                     scratch: an output while the C-STORE sink sends it
    <spool>/status.json                   the running gateway's counters (`deid serve --status`)

Names are a receive time and random bits, never a UID or a patient's name; the folder is
private (0700, files 0600): it holds raw inputs. Entries are processed oldest first.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from ..engine.writer import PRIVATE_DIR
from ..errors import DeidError
from ..util import fsync_dir, make_dirs

SUFFIX = ".dcm"


class Spool:
    def __init__(self, root: Path):
        self.root = root
        self.incoming = root / "incoming"
        self.quarantine = root / "quarantine"
        self.outgoing = root / "outgoing"  # de-identified outputs while a C-STORE sends them
        self.status_file = root / "status.json"

    def prepare(self) -> int:
        """The folders made private; temp files of receives that never finished (never
        acknowledged) removed; how many."""
        try:
            for d in (self.root, self.incoming):
                make_dirs(d, PRIVATE_DIR)
                if d.stat().st_uid == os.getuid():
                    os.chmod(d, PRIVATE_DIR)
        except OSError as exc:
            raise DeidError(f"cannot create the spool {self.root}: {exc.strerror or type(exc).__name__}") from None
        if not os.access(self.incoming, os.W_OK | os.X_OK):
            raise DeidError(f"the spool {self.root} is not writable")
        n = 0
        for p in self.incoming.iterdir():
            if p.name.startswith(".") and p.name.endswith(".part"):
                p.unlink(missing_ok=True)
                n += 1
        return n

    def put(self, data: bytes) -> str:
        """Store one received instance durably; its entry name. OSError when it cannot be
        (the sender is then told the store failed, and sends it again)."""
        name = f"{time.time_ns():020d}-{secrets.token_hex(8)}{SUFFIX}"
        tmp = self.incoming / f".{name}.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.incoming / name)
            fsync_dir(self.incoming)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return name

    def entries(self, limit: int = 0) -> list[str]:
        """Entry names, oldest first (at most `limit`; 0: all)."""
        names = sorted(n for n in os.listdir(self.incoming) if n.endswith(SUFFIX) and not n.startswith("."))
        return names[:limit] if limit else names

    def depth(self) -> int:
        try:
            return sum(1 for n in os.listdir(self.incoming) if n.endswith(SUFFIX) and not n.startswith("."))
        except FileNotFoundError:
            return 0

    def path(self, name: str) -> Path:
        return self.incoming / name

    def remove(self, name: str) -> None:
        """Done with (forwarded or quarantined): gone from the spool."""
        (self.incoming / name).unlink(missing_ok=True)

    def set_aside(self, name: str) -> None:
        """An entry that could not even be copied to the quarantine: moved there as it is."""
        make_dirs(self.quarantine, PRIVATE_DIR)
        src = self.incoming / name
        if src.exists():
            os.replace(src, self.quarantine / name)
