"""`deid audit report`: one self-contained HTML file for a privacy officer, after a batch job.

Everything comes from the audit log (which holds no values: locations, fingerprints,
codes) plus, when the output folder is there, thumbnails of the de-identified OUTPUT
images and their Manufacturer / ManufacturerModelName for the device chart. An output is
decoded only when its SHA-256 is the digest its run recorded (`engine:output-digest`), so
a folder of inputs laid out like the outputs gives notes, never thumbnails. Sizes are
capped so a run of a million files still gives a file a browser opens: the drill-down
lists the first MAX_FILES files (quarantined first, then images with redactions), and
says how many it left out. An edited log may hold anything in any column (a BLOB, a
number, NULL, nonsense coordinates): values are taken as text, and a file that cannot be
shown gets a note; the report is still written.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..audit.log import open_readonly, runs, verify
from ..errors import AuditError
from ..risk.facts import DIGEST_RULE, AuditFacts, read_facts
from .thumbnails import Box, Outputs, Thumb, device, frame0_box, is_dicom, open_output, thumbnail

MAX_FILES = 2000  # files in the drill-down
MAX_EVENTS_PER_FILE = 200  # event rows listed per file
MAX_EVENT_ROWS = 40_000  # event rows listed in all (keeps the report to tens of MB at most)
MAX_THUMBNAILS = 200
MAX_DEVICE_FILES = 10_000  # output headers read for the device chart
AUDIT_SUFFIX = ".audit.sqlite"
GROUPS = (
    ("quarantined", "Quarantined files"),
    ("redacted", "Written, with burned-in text redacted"),
    ("written", "Written, other files"),
)
EVENT_FIELDS = ("location", "action", "category", "rule_id", "fingerprint", "detail")


class ReportError(AuditError):
    """The report cannot be written where asked."""


@dataclass
class FileEntry:
    run_id: str
    item: str
    status: str  # "write" | "quarantine" | "error"
    detail: str  # output relpath, or the reason it was not written
    events: int  # events of this file, its file row excluded
    boxes: int  # redacted pixel boxes, all frames
    share: float | None = None  # largest share of a frame its text boxes cover (None: no pixels)
    rows: list[tuple] = field(default_factory=list)  # EVENT_FIELDS, capped
    actions: list[tuple[str, int]] = field(default_factory=list)  # (action, events), all of them
    thumb: Thumb | None = None  # None: not an image, or no outputs to look at
    key: tuple = ()  # (run_id, item) as stored: this file's events are queried by it

    @property
    def group(self) -> str:
        return (
            "written"
            if self.status == "write" and not self.boxes
            else "redacted"
            if self.status == "write"
            else "quarantined"
        )


@dataclass
class ReportData:
    """What the HTML shows; built by `collect`, rendered by page.render."""

    audit_name: str
    problems: list[str]
    runs: list[dict]
    run_events: dict[str, int]
    actions: list[tuple[str, int, int]]  # (action, events, files)
    categories: list[tuple[str, int, int]]
    reasons: list[tuple[str, int, list[str]]]  # (code, files, up to 3 distinct details)
    files: list[FileEntry]
    group_totals: dict[str, int]
    outputs_note: str  # "" when the output folder was used
    devices: list[tuple[str, int, int]]  # (device label, images, redacted boxes)
    device_note: str = ""
    boxes: int = 0  # redacted pixel boxes in all
    shares: list[float] = field(default_factory=list)  # redacted share of each image (largest frame)
    thumbnails: int = 0
    thumbnails_left_out: int = 0
    rows_left_out: int = 0
    unverified: dict[str, int] = field(default_factory=dict)  # why -> written files not opened
    risk: AuditFacts | None = None  # the release pass's measures and counts (deid/risk/facts.py)


@dataclass(frozen=True)
class ReportResult:
    path: Path
    files: int
    files_listed: int
    thumbnails: int
    chain_ok: bool
    outputs_used: bool
    outputs_unverified: int = 0  # written files whose output was missing or not the one the run wrote


def default_outputs(audit: Path) -> Path | None:
    """`X.audit.sqlite` -> `X`, where `deid run --out X` puts its audit log by default."""
    name = audit.name
    return audit.with_name(name[: -len(AUDIT_SUFFIX)]) if name.endswith(AUDIT_SUFFIX) and name != AUDIT_SUFFIX else None


def build_report(audit: Path, out: Path, outputs: Path | None = None) -> ReportResult:
    """Collect, render and write the report atomically; raises AuditError/ReportError."""
    from ..util import atomic_write
    from .page import render

    audit, out = Path(audit), Path(out)
    given = outputs is not None
    outputs = Path(outputs) if outputs is not None else default_outputs(audit)  # `given`
    if outputs is not None and outputs.is_dir():
        root = outputs.resolve()
        if root == out.resolve() or root in out.resolve().parents:
            raise ReportError(
                "--out must not be inside the output folder: uploading the output would "
                "upload the report; write it beside the audit log instead"
            )
    if out.resolve() == audit.resolve():
        raise ReportError("--out is the audit log itself; choose another file name, e.g. report.html")
    data = collect(audit, outputs, given)
    try:
        atomic_write(out, render(data).encode("utf-8"))
    except OSError as exc:
        raise ReportError(f"cannot write the report to {out}: {exc.strerror or type(exc).__name__}") from None
    return ReportResult(
        out,
        sum(data.group_totals.values()),
        len(data.files),
        data.thumbnails,
        not data.problems,
        not data.outputs_note,
        sum(data.unverified.values()),
    )


def collect(audit: Path, outputs: Path | None, outputs_given: bool = True) -> ReportData:
    db = open_readonly(audit)  # AuditError when this is not an audit log
    try:
        return _collect(db, audit, verify(audit), outputs, outputs_given)
    except sqlite3.DatabaseError as exc:  # an events table, but not deid's schema
        raise AuditError(f"{audit.name} could not be read as a deid audit log ({type(exc).__name__})") from None
    finally:
        db.close()


def _collect(
    db: sqlite3.Connection, audit: Path, problems: list[str], outputs: Path | None, outputs_given: bool
) -> ReportData:
    if outputs is None:
        note = "no output folder given (--outputs) and none could be inferred from the audit file name"
    elif not outputs.is_dir():
        note = (
            f"the output folder {'given' if outputs_given else 'inferred from the audit file name'} "
            f"(“{outputs.name}”) does not exist here; pass --outputs DIR for thumbnails and the device chart"
        )
    elif problems:  # an edited log's digests could point at anything, e.g. the raw inputs
        note = (
            "the audit log does not verify, so its output digests cannot be trusted: no output file "
            "was opened (no thumbnails, no device chart)"
        )
    else:
        note = ""
    use = _sink(outputs) if outputs is not None and not note else None
    data = ReportData(
        audit_name=audit.name,
        problems=problems,
        runs=runs(audit),
        run_events=dict(db.execute("SELECT run_id, COUNT(*) FROM events GROUP BY run_id").fetchall()),
        actions=_tally(db, "action"),
        categories=_tally(db, "category"),
        reasons=_reasons(db),
        files=[],
        group_totals={g: 0 for g, _ in GROUPS},
        outputs_note=note,
        devices=[],
        boxes=db.execute(
            "SELECT COUNT(*) FROM events WHERE action='redact' AND location LIKE 'pixels.frame[%'"
        ).fetchone()[0],
    )
    data.risk = _db_facts(db, audit)
    # a file the release pass rewrote (risk.k) is the one whose digest that pass recorded
    rewritten = {
        as_text(i): as_text(d)
        for i, d in db.execute(
            "SELECT item, detail FROM events WHERE location='<output>' AND rule_id=? ORDER BY seq", (DIGEST_RULE,)
        )
    }
    look: list[tuple[FileEntry, bool, bool, str | None]] = []  # (entry, thumbnail?, device?, digest)
    device_reads = 0
    for run_id, item, action, detail, n, boxes, lo, hi, measure in db.execute(_FILES_SQL):
        entry = FileEntry(
            as_text(run_id),
            as_text(item),
            as_text(action),
            as_text(detail),
            n - 1,
            boxes or 0,
            share=redacted_share(measure),
            key=(run_id, item),
        )
        if entry.share is not None:
            data.shares.append(entry.share)
        data.group_totals[entry.group] += 1
        listed = len(data.files) < MAX_FILES
        if listed:
            data.files.append(entry)
        dev = device_reads < MAX_DEVICE_FILES
        if use is not None and entry.status == "write" and (listed or dev):
            look.append((entry, listed, dev, rewritten.get(entry.item) or _digest(lo, hi)))
            device_reads += dev
    budget = MAX_EVENT_ROWS
    for entry in data.files:
        limit = min(MAX_EVENTS_PER_FILE, budget)
        entry.rows = [
            tuple(as_text(c) for c in r)
            for r in db.execute(
                "SELECT location, action, category, rule_id, fingerprint, detail FROM events "
                "WHERE run_id=? AND item=? AND location!='<file>' ORDER BY seq LIMIT ?",
                (*entry.key, limit),
            )
        ]
        budget -= len(entry.rows)
        entry.actions = [
            (as_text(a), k)
            for a, k in db.execute(
                "SELECT action, COUNT(*) FROM events WHERE run_id=? AND item=? AND location!='<file>' "
                "GROUP BY action ORDER BY 2 DESC, 1",
                entry.key,
            )
        ]
        data.rows_left_out += entry.events - len(entry.rows)
    if use is not None:
        images: Counter[str] = Counter()
        redacted: Counter[str] = Counter()
        for entry, thumb, dev, digest in look:
            try:
                _look(db, data, use, entry, thumb, dev, digest, images, redacted)
            except Exception as exc:  # the last net: one odd file never stops the report
                if thumb:
                    entry.thumb = Thumb(None, f"no thumbnail: it could not be made ({type(exc).__name__})")
        written = data.group_totals["redacted"] + data.group_totals["written"]
        _devices(data, images, redacted, capped=written > device_reads)
    return data


def _db_facts(db: sqlite3.Connection, audit: Path) -> AuditFacts | None:
    """What the release pass recorded; None when the log holds no risk event."""
    if not db.execute("SELECT 1 FROM events WHERE category IN ('risk', 'quasi-identifier') LIMIT 1").fetchone():
        return None
    return read_facts(audit)


def as_text(value: object) -> str:
    """A column value as text: an edited log may hold a BLOB, a number or NULL in any column."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def _digest(lo: object, hi: object) -> str | None:
    """The digest ("sha256=<hex>") a run recorded for an output; None when it recorded
    none; "" (which matches no file) when an edited log holds two different ones."""
    if lo is None:
        return None
    return as_text(lo) if lo == hi else ""


# file rows, each with its event count, redacted boxes and recorded output digest:
# quarantined first, then images with redactions, then the rest; by run, then path
_FILES_SQL = """
SELECT f.run_id, f.item, f.action, f.detail, c.n, c.boxes, c.digest_lo, c.digest_hi, c.measure
FROM events f
JOIN (SELECT run_id, item, COUNT(*) AS n,
             SUM(action='redact' AND location LIKE 'pixels.frame[%') AS boxes,
             MAX(CASE WHEN rule_id='pixels:redacted-fraction' THEN detail END) AS measure,
             MIN(CASE WHEN location='<output>' AND rule_id='engine:output-digest' THEN detail END) AS digest_lo,
             MAX(CASE WHEN location='<output>' AND rule_id='engine:output-digest' THEN detail END) AS digest_hi
      FROM events GROUP BY run_id, item) c ON c.run_id=f.run_id AND c.item=f.item
LEFT JOIN runs r ON r.run_id=f.run_id
WHERE f.location='<file>'
ORDER BY f.action!='write' DESC, c.boxes>0 DESC, r.started, f.run_id, f.item
"""


def redacted_share(detail: object) -> float | None:
    """The `text=` share from a pixels:redacted-fraction event's detail; None when absent
    or not a number (an edited log)."""
    for part in as_text(detail).split(";") if detail is not None else []:
        if part.startswith("text="):
            try:
                v = float(part[5:])
            except ValueError:
                return None
            return v if 0.0 <= v <= 1.0 else None
    return None


def _tally(db: sqlite3.Connection, column: str) -> list[tuple[str, int, int]]:
    """(value, events, files) of `column` over the events on file content: category
    "file" (the file rows and the output digests, one each per file) is left out."""
    assert column in ("action", "category")
    events: Counter[str] = Counter()
    files: Counter[str] = Counter()
    for value, n, f in db.execute(
        f"SELECT {column}, COUNT(*), COUNT(DISTINCT run_id || char(0) || item) "
        f"FROM events WHERE category IS NOT 'file' GROUP BY {column}"
    ):
        events[as_text(value)] += n
        files[as_text(value)] += f
    return sorted(((k, n, files[k]) for k, n in events.items()), key=lambda r: (-r[1], r[0]))


def _reasons(db: sqlite3.Connection) -> list[tuple[str, int, list[str]]]:
    """Quarantine reason codes (the part of the file row's detail before the colon)."""
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    for (value,) in db.execute(
        "SELECT detail FROM events WHERE location='<file>' AND action IN ('quarantine', 'error')"
    ):
        detail = as_text(value)
        code = detail.split(":", 1)[0].strip() or "unknown"
        counts[code] += 1
        seen = examples.setdefault(code, [])
        if detail not in seen and len(seen) < 3:
            seen.append(detail)
    return [(code, n, examples[code]) for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _sink(outputs: Path) -> Outputs:
    """The output folder read back through the run's sink (a folder: `deid run --out`)."""
    from ..engine.sinks import FolderSink

    return FolderSink(outputs, outputs.with_name(outputs.name + ".quarantine"))


def _look(
    db: sqlite3.Connection,
    data: ReportData,
    outputs: Outputs,
    entry: FileEntry,
    want_thumb: bool,
    want_device: bool,
    digest: str | None,
    images: Counter[str],
    redacted: Counter[str],
) -> None:
    """Open a written file's output once, only if it is the file its run wrote, and read
    its device model for the chart and/or make its thumbnail from that same handle."""
    fh, why = open_output(outputs, entry.detail, digest)
    if fh is None:
        data.unverified[why] = data.unverified.get(why, 0) + 1
        if want_thumb:
            entry.thumb = Thumb(None, f"no thumbnail: {why}")
        return
    with fh:
        if not is_dicom(fh):
            return  # a record, not an image
        dev = device(fh) if want_device else None
        if dev is not None:
            manufacturer, model = dev
            label = " · ".join(v for v in (manufacturer or "manufacturer not recorded", model) if v)
            images[label] += 1
            redacted[label] += entry.boxes
        if want_thumb:
            entry.thumb = _thumb(db, data, entry, fh)


def _thumb(db: sqlite3.Connection, data: ReportData, entry: FileEntry, fh: BinaryIO) -> Thumb:
    if data.thumbnails >= MAX_THUMBNAILS:
        data.thumbnails_left_out += 1
        return Thumb(None, f"no thumbnail: the report holds at most {MAX_THUMBNAILS:,}")
    redacted: list[Box] = []
    kept: list[Box] = []
    for location, action in db.execute(
        "SELECT location, action FROM events WHERE run_id=? AND item=? AND location LIKE 'pixels.frame[0].box[%'",
        entry.key,
    ):
        box = frame0_box(as_text(location))
        if box is not None:
            (redacted if as_text(action) == "redact" else kept).append(box)
    thumb = thumbnail(fh, redacted, kept)
    data.thumbnails += thumb.png is not None
    return thumb


def _devices(data: ReportData, images: Counter[str], boxes: Counter[str], capped: bool) -> None:
    data.devices = sorted(((k, images[k], boxes[k]) for k in images), key=lambda r: (-r[2], -r[1], r[0]))
    if not data.devices:
        data.device_note = (
            "no DICOM image among the outputs that are the files their run wrote"
            if data.unverified
            else "no DICOM images among the outputs"
        )
    elif capped:
        data.device_note = f"from the first {MAX_DEVICE_FILES:,} written files"
