"""Handlers: process(item, ctx) -> Result. Pure and picklable: no printing, no audit writes.

That is what lets the same code run in-process, in a process pool, or on Dask.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .audit.events import AuditEvent
from .dicom.bits import clear_stray_bits
from .dicom.deidentify import T_PATIENT_ID, T_SOP_INSTANCE, T_STUDY_UID, Header, deidentify
from .dicom.raw import has_pixels
from .dicom.io import looks_like_dicom, read_file, verify_readable, write_file
from .errors import InputError, QuarantineError
from .policy.engine import Pipeline
from .pseudonym import Pseudonymizer


@dataclass(frozen=True)
class Item:
    source: str          # absolute input path
    relpath: str         # the input's path relative to its root (as found: it may name the patient)
    problem: str = ""    # why it cannot be read at all (a FIFO, a link, an unreadable folder): an error


@dataclass(frozen=True)
class Context:
    pipeline: Pipeline
    pseudo: Pseudonymizer
    preview: bool = False            # render PNG previews of redacted frames (--preview)
    collect_mappings: bool = False   # fill Result.mappings for the vault (--vault); off: nothing collected


@dataclass
class Result:
    status: str                      # "ok", "quarantined" or "error" (not even copied aside)
    data: bytes | None = None        # output bytes when ok
    reason: str = ""                 # short code + class name when quarantined; never a value
    events: list[AuditEvent] = field(default_factory=list)
    input_fingerprint: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    kind: str = "dicom"
    name_hint: str = ""              # output name for --naming pseudonymized
    renamed: bool = False            # the input path held a header identity value: use name_hint
    previews: list[tuple[str, bytes]] = field(default_factory=list)  # (suffix, PNG) of output frames
    # (kind, original, pseudonym) for the vault, only when ctx.collect_mappings: never logged or audited
    mappings: list[tuple[str, str, str]] = field(default_factory=list)
    details: dict = field(default_factory=dict)   # for the reason file when quarantined; never a value

    def quarantined(self, reason: str, events: list[AuditEvent] | None = None,
                    status: str = "quarantined") -> "Result":
        """This item, quarantined after all (a failed write or verify), or an error (a failed
        copy aside): it keeps its input fingerprint, kind and new name (so the audit never
        names a path that named the patient); output bytes, previews and vault mappings go."""
        return Result(status, reason=reason, events=self.events if events is None else events,
                      input_fingerprint=self.input_fingerprint, kind=self.kind, name_hint=self.name_hint,
                      renamed=self.renamed, details=self.details)


class Handler:
    """One kind of input. Subclasses implement _process(data, fingerprint, ctx, relpath)."""
    kind = ""

    def process(self, item: Item, ctx: Context, data: bytes | None = None) -> Result:
        """`data`: the file's bytes when the caller already read them (read once, route, process)."""
        if data is None:
            try:
                data = Path(item.source).read_bytes()
            except OSError as exc:
                return Result("quarantined", reason=f"unreadable-file: {type(exc).__name__}", kind=self.kind)
        fp = ctx.pseudo.fingerprint(data)
        return self._process(data, fp, ctx, item.relpath)

    def _process(self, data: bytes, fp: str, ctx: Context, relpath: str) -> Result:  # pragma: no cover
        raise NotImplementedError


class DicomHandler(Handler):
    kind = "dicom"

    def _process(self, data: bytes, fp: str, ctx: Context, relpath: str) -> Result:
        try:
            f = read_file(data)
            maps: list[tuple[str, str, str]] | None = [] if ctx.collect_mappings else None
            events, stats, header = deidentify(f, ctx.pipeline.dicom, ctx.pseudo, ctx.pipeline.name, maps,
                                               ctx.pipeline.records)
            px = _clean_pixels(f, header, ctx)
            events += px.events
            if not ctx.pipeline.dicom.keep_overlays:  # overlays hidden in unused pixel bits go with the others
                stray = clear_stray_bits(f)
                if stray:
                    events.append(AuditEvent("PixelData", "clean", "graphics", "deid:unused-pixel-bits", "",
                                             f"samples={stray}"))
            out = write_file(f)
            verify_readable(out)
        except QuarantineError as exc:
            return Result("quarantined", reason=str(exc), input_fingerprint=fp, events=exc.events,
                          details=exc.details)
        except InputError as exc:
            return Result("quarantined", reason=str(exc), input_fingerprint=fp)
        except RecursionError:
            return Result("quarantined", reason="unreadable: sequences nested too deep", input_fingerprint=fp)
        except Exception as exc:  # fail closed on anything unexpected, without its message
            return Result("quarantined", reason=f"internal-error: {type(exc).__name__}", input_fingerprint=fp)
        after = Header(f.elems)
        parts = [safe_name(after.text(T_PATIENT_ID) or "P-UNKNOWN"), safe_name(after.text(T_STUDY_UID) or "study"),
                 safe_name(after.text(T_SOP_INSTANCE)) + ".dcm"]
        renamed = path_names_patient(relpath, path_tokens(header))
        if renamed:
            events.append(AuditEvent("<path>", "rename", "identity", "deid:path-identity", "",
                                     "input path held a patient identity value"))
        return Result("ok", data=out, events=events, input_fingerprint=fp, name_hint="/".join(parts),
                      renamed=renamed, previews=px.previews, mappings=maps or [],
                      counts={"elements": stats.changed, "dates_shifted": stats.dates_shifted, **px.counts})


def _clean_pixels(f, header: Header, ctx: Context):
    """The pixel stage, imported only for files with pixels under a pipeline that cleans them:
    header-only work never pays for numpy, OpenCV or the OCR models."""
    pp = ctx.pipeline.pixels
    if pp.active and has_pixels(f.elems):
        from .pixels.stage import clean_pixels

        return clean_pixels(f, header, pp, ctx.pseudo, ctx.preview)
    from .pixels.outcome import PixelOutcome

    return PixelOutcome()


def safe_name(value: object) -> str:
    """One path component from a header value: [0-9A-Za-z.-] only, never '.' or '..'."""
    text = re.sub(r"[^0-9A-Za-z.-]", "_", str(value))[:64].strip(".") or "x"
    return text


def path_tokens(header: Header) -> list[str]:
    """Patient name parts and IDs, as they might appear in an export folder name.
    ASCII tokens need 4+ characters here: short ones (CT1, MR) are common in paths."""
    from .dicom.operators import name_tokens

    toks = name_tokens([header.text(t) for t in (0x00100010, 0x00100020, 0x00101000)])
    return [t.lower() for t in toks if len(t) >= 4 or not t.isascii()]


def path_names_patient(relpath: str, tokens: list[str]) -> bool:
    low = relpath.lower()
    return any(t in low for t in tokens)


HANDLERS: dict[str, Handler] = {"dicom": DicomHandler()}


def handler_for(path: str, head: bytes) -> Handler | None:
    """Route by content (the first 132 bytes): DICOM by preamble or first tag, or a .dcm name
    (so a broken .dcm is reported as such); then patient records by suffix (.csv, .tsv,
    .json, .jsonl, .txt, .hl7)."""
    if looks_like_dicom(head[:132]) or path.lower().endswith((".dcm", ".dicom")):
        return HANDLERS["dicom"]
    from .records.handler import RecordHandler, record_kind

    if record_kind(path) is not None:
        return HANDLERS.setdefault("records", RecordHandler())
    return None
