"""Sinks: where a run's outputs go, and where what it could not write is set aside.

Workers call a sink (work.finish) to write each output and to quarantine an input with
its reason; the driver calls it for the list of reasons, the accounting check, and the
temp files a killed run left. Every path a sink is given is already safe to write (the
input's relative path with identifying names replaced, engine/paths.py). A sink is sent
to every worker with the job, so it must pickle, and must be safe to call from several
threads and processes at once for different `rel`s.

    folder   --out DIR, the quarantine beside it, optional previews   sinks/folder.py
    discard  nothing is written (`deid check` walks with it)           sinks/discard.py
    cstore   a DICOM C-STORE SCP (`deid serve --forward`)              sinks/cstore.py
    stow     a DICOMweb STOW-RS endpoint (`deid serve --stow`)         sinks/stow.py
             (both keep their quarantine in a private local folder: sinks/peer.py)

The quarantine holds raw inputs, so it is a private local folder whatever the outputs'
destination is (a DICOM C-STORE peer, a DICOMweb STOW-RS endpoint, an object store).
A new sink is one module with a class that has the methods below.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Iterator, Mapping, Protocol

from .discard import Discard
from .folder import REASONS, FolderSink

__all__ = ["REASONS", "DestinationDown", "Discard", "FolderSink", "Refused", "Sink"]


class DestinationDown(OSError):
    """A peer sink cannot take outputs now (refused connection, timeout, a transient
    status): the run stops as for a full disk (work.finish: outcome "stop"), nothing is
    recorded as done for the input, and a later attempt sends it again. The message is
    a reason code, never a value."""


class Refused(OSError):
    """The peer refused this output for good (a DICOM failure status, an HTTP 4xx): the
    input is quarantined with `code` (e.g. "0xA900"), never sent again."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class Sink(Protocol):
    @property
    def where(self) -> str:
        """The destination, as the summary and a run's resume signature name it: a resumed
        run continues only into the same one."""

    def folders(self) -> list[Path]:
        """The local folders it writes (outputs, quarantine, previews): a run's vault and
        keys must be outside them, as must its inputs."""

    def prepare(self) -> None:
        """Before any input is read: the destination made or checked, the quarantine
        writable and private. A layout that cannot work raises DeidError (a usage error)."""

    def put(self, rel: str, data: bytes) -> str:
        """Store one output under `rel`, atomically: when it returns, the output is durable
        (fsynced, acknowledged by the peer); a failure leaves nothing that looks done.
        Returns where it went. Raises OSError (a full disk: writer.out_of_space; a peer
        that is down: DestinationDown; a peer that refuses the output: Refused)."""

    def preview(self, rel: str, suffix: str, png: bytes) -> None:
        """A PNG of a redacted output frame (`--preview`), written before the output;
        nothing when the run keeps no previews."""

    def set_aside(self, rel: str, source: str) -> str:
        """Copy the untouched input at `source` into the quarantine under `rel` (private:
        folders 0700, files 0600); returns where. Raises OSError."""

    def quarantine(self, rel: str, reason: str, details: dict | None = None) -> str:
        """Record why the input under `rel` was not written (`<name>.reason.json` beside
        its copy; `details`, such as boxes, never a value); returns where. Raises OSError."""

    def note(self, item: str, reason: str, status: str) -> None:
        """One line in the quarantine's list of reasons (REASONS.jsonl), from the driver."""

    def has(self, rel: str) -> bool:
        """Whether an output recorded as written is there (the accounting check)."""

    def open(self, rel: str) -> BinaryIO:
        """An output read back (the report's thumbnails); OSError when it cannot be."""

    def partials(self) -> Iterator[Path]:
        """Temp files a killed run or worker left behind (never mistaken for output)."""

    def remove_partials(self) -> int:
        """Remove them (before a resumed run starts, and when a run ends); how many."""

    def resume_index(self, done: Mapping[str, str]) -> Mapping[str, str]:
        """Of the inputs the audit log says an interrupted run finished (path fingerprint
        -> status), those this destination holds as done: a resumed run skips them. A
        folder holds every one (an input is recorded only after its write is in place);
        a peer that acknowledges later may hold fewer."""

    def close(self) -> None:
        """Let go of connections (a pool worker or a gateway that stops); a folder has none.
        The sink may be used again afterwards (a peer sink connects again)."""
