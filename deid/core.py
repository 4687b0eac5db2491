"""The types every layer shares: an input (Item), what a handler is given (Context), what it
returns (Result, with a Status and AuditEvents), and what a file kind implements (Handler).

Bottom layer: it imports only deid.findings (itself importing nothing from deid) at run
time (the policy and the pseudonymizer are named for type checkers only), so every
package may import it.
Handlers are pure and picklable: no printing, no audit writes, no global state. That is
what lets the same code run in-process, in a process pool, or on Dask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

from .findings import LOOK, Finding, Look

if TYPE_CHECKING:
    from .policy.engine import Pipeline
    from .pseudonym import Pseudonymizer


class AuditEvent(NamedTuple):
    """One action on one location. Holds a keyed fingerprint, never the value.

    A NamedTuple: immutable, and cheap to pickle (events cross from workers to the driver,
    tens of them per file). Also importable as deid.audit.events.AuditEvent."""

    location: str  # tag path, e.g. "RequestAttributesSequence[0].RequestedProcedureDescription"
    action: str  # remove, empty, dummy, keep, clean, uid, shift-date, pseudonym, ...
    category: str  # identity, date, uid, private, graphics, age, marker, file
    rule_id: str  # e.g. "ps3.15:basic:(0010,0010)", "override:1"
    fingerprint: str = ""  # HMAC of the old value (see Pseudonymizer.fingerprint)
    detail: str = ""  # never a value: counts, VRs, reasons chosen by code

    def as_dict(self) -> dict:
        return self._asdict()


class StrEnum(str, Enum):
    """An enum of strings that compares, hashes, prints and is stored (JSON, SQLite)
    exactly as the plain strings it replaces: audit output stays byte-identical."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class Status(StrEnum):
    """How an item ended."""

    OK = "ok"
    QUARANTINED = "quarantined"  # not written; the input is copied aside with a reason
    ERROR = "error"  # not written and not even copied aside (a FIFO, a link, unreadable)


class PixelMode(StrEnum):
    """What the pixel stage does with burned-in text (`pixels.mode` / `pixels.modes` of a pipeline)."""

    REDACT_ALL_TEXT = "redact-all-text"  # every text box except safe words read with confidence
    REDACT_PHI = "redact-phi"  # boxes that read as PHI, and every box that cannot be read
    REGIONS_ONLY = "regions-only"  # only device region rules and ultrasound regions; no OCR
    OFF = "off"

    @property
    def finds_text(self) -> bool:
        """A mode that looks for text (runs the detectors) and sets BurnedInAnnotation NO."""
        return self in (PixelMode.REDACT_ALL_TEXT, PixelMode.REDACT_PHI)


class Action(StrEnum):
    """Audit actions chosen by code (not by a policy operator: those are the names in the
    operators registry, deid/operators, and stay data)."""

    KEEP = "keep"  # a text box left as it is (a safe word, no PHI)
    REDACT = "redact"  # pixels filled over (a text box, a device region, outside US regions)
    CLEAN = "clean"  # a value or the unused pixel bits cleaned
    MEASURE = "measure"  # a measurement recorded (the share of a frame redacted)
    RENAME = "rename"  # the output named from the header, not the input path


@dataclass(frozen=True)
class Item:
    source: str  # absolute input path
    relpath: str  # the input's path relative to its root (as found: it may name the patient)
    problem: str = ""  # why it cannot be read at all (a FIFO, a link, an unreadable folder): an error


@dataclass(frozen=True)
class Context:
    pipeline: Pipeline
    pseudo: Pseudonymizer
    preview: bool = False  # render PNG previews of redacted frames (--preview)
    collect_mappings: bool = False  # fill Result.mappings for the vault (--vault); off: nothing collected


@dataclass
class Result:
    status: Status  # ok, quarantined or error (a plain string is taken as its Status)
    data: bytes | None = None  # output bytes when ok
    reason: str = ""  # short code + class name when quarantined; never a value
    events: list[AuditEvent] = field(default_factory=list)
    input_fingerprint: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    kind: str = "dicom"
    name_hint: str = ""  # output name for --naming pseudonymized
    renamed: bool = False  # the input path held a header identity value: use name_hint
    previews: list[tuple[str, bytes]] = field(default_factory=list)  # (suffix, PNG) of output frames
    # (kind, original, pseudonym) for the vault, only when ctx.collect_mappings: never logged or audited
    mappings: list[tuple[str, str, str]] = field(default_factory=list)
    details: dict = field(default_factory=dict)  # for the reason file when quarantined; never a value

    def __post_init__(self) -> None:
        self.status = Status(self.status)

    def quarantined(
        self, reason: str, events: list[AuditEvent] | None = None, status: Status | str = Status.QUARANTINED
    ) -> Result:
        """This item, quarantined after all (a failed write or verify), or an error (a failed
        copy aside): it keeps its input fingerprint, kind and new name (so the audit never
        names a path that named the patient); output bytes, previews and vault mappings go."""
        return Result(
            Status(status),
            reason=reason,
            events=self.events if events is None else events,
            input_fingerprint=self.input_fingerprint,
            kind=self.kind,
            name_hint=self.name_hint,
            renamed=self.renamed,
            details=self.details,
        )


class Handler(Protocol):
    """One kind of input (DICOM, patient records, ...), listed in deid/handlers.py.

    `sniff` says whether a file is this kind, from its name and its first bytes (content
    first: routing must not trust a suffix alone where the content can say); `process`
    de-identifies it; `findings` says what `process` would still find identifying in it,
    changing nothing and using no key (`deid check` and the `verify:` step on outputs).
    `data`: the file's bytes when the caller already read them (read once, route, process)."""

    kind: str

    def sniff(self, path: str, head: bytes) -> bool: ...

    def process(self, item: Item, ctx: Context, data: bytes | None = None) -> Result: ...

    def findings(
        self, item: Item, ctx: Context | None, data: bytes | None = None, look: Look = LOOK
    ) -> list[Finding]: ...


class FileHandler:
    """A Handler of whole files: reads the file (unless given its bytes), fingerprints it
    with the key, and hands both to `_process(data, fingerprint, ctx, relpath)`. A kind
    with no `findings` of its own is a finding wherever check meets it: never passed unread."""

    kind = ""

    def sniff(self, path: str, head: bytes) -> bool:  # pragma: no cover
        raise NotImplementedError

    def read(self, item: Item) -> bytes:
        return Path(item.source).read_bytes()

    def findings(self, item: Item, ctx: Context | None, data: bytes | None = None, look: Look = LOOK) -> list[Finding]:
        return [Finding(item.relpath, "<file>", "unreadable", "check:no-check-for-kind")]

    def process(self, item: Item, ctx: Context, data: bytes | None = None) -> Result:
        if data is None:
            try:
                data = Path(item.source).read_bytes()
            except OSError as exc:
                return Result(Status.QUARANTINED, reason=f"unreadable-file: {type(exc).__name__}", kind=self.kind)
        fp = ctx.pseudo.fingerprint(data)
        return self._process(data, fp, ctx, item.relpath)

    def _process(self, data: bytes, fp: str, ctx: Context, relpath: str) -> Result:  # pragma: no cover
        raise NotImplementedError
