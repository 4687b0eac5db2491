"""DicomHandler: a DICOM Part 10 file -> de-identified bytes (header, then burned-in
pixels when the pipeline cleans them), with one audit event per action. Pure."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..core import Action, AuditEvent, Context, FileHandler, Item, Result, Status
from ..errors import InputError, QuarantineError
from ..findings import LOOK, Look
from .bits import clear_stray_bits
from .deidentify import T_PATIENT_ID, T_SOP_INSTANCE, T_STUDY_UID, Header, deidentify
from .io import looks_like_dicom, read_file, verify_readable, write_file
from .raw import RawFile, has_pixels

if TYPE_CHECKING:
    from ..findings import Finding
    from ..pixels.outcome import PixelOutcome


class DicomHandler(FileHandler):
    kind = "dicom"

    def sniff(self, path: str, head: bytes) -> bool:
        """DICOM by content (the preamble, or a first tag: the first 132 bytes), or by a
        .dcm/.dicom name, so a broken .dcm is reported as a broken DICOM file."""
        return looks_like_dicom(head[:132]) or path.lower().endswith((".dcm", ".dicom"))

    def findings(self, item: Item, ctx: Context | None, data: bytes | None = None, look: Look = LOOK) -> list[Finding]:
        """What still identifies in this file (dicom/findings.py): identity attributes that
        are not deid's own values, private tags off the safe list, identifiers in any text,
        what check cannot read; with `pixels`, burned-in text and overlay text. Nothing is
        changed and no key is used. InputError when the file cannot be parsed."""
        from .findings import check_dicom

        if data is None:
            data = self.read(item)
        return check_dicom(data, item.relpath, look)

    def _process(self, data: bytes, fp: str, ctx: Context, relpath: str) -> Result:
        try:
            f = read_file(data)
            maps: list[tuple[str, str, str]] | None = [] if ctx.collect_mappings else None
            events, stats, header = deidentify(
                f, ctx.pipeline.dicom, ctx.pseudo, ctx.pipeline.name, maps, ctx.pipeline.records
            )
            px = _clean_pixels(f, header, ctx)
            events += px.events
            if not ctx.pipeline.dicom.keep_overlays:  # overlays hidden in unused pixel bits go with the others
                stray = clear_stray_bits(f)
                if stray:
                    events.append(
                        AuditEvent(
                            "PixelData", Action.CLEAN, "graphics", "deid:unused-pixel-bits", "", f"samples={stray}"
                        )
                    )
            out = write_file(f)
            verify_readable(out)
        except QuarantineError as exc:
            return Result(
                Status.QUARANTINED, reason=str(exc), input_fingerprint=fp, events=exc.events, details=exc.details
            )
        except InputError as exc:
            return Result(Status.QUARANTINED, reason=str(exc), input_fingerprint=fp)
        except RecursionError:
            return Result(Status.QUARANTINED, reason="unreadable: sequences nested too deep", input_fingerprint=fp)
        except Exception as exc:  # fail closed on anything unexpected, without its message
            return Result(Status.QUARANTINED, reason=f"internal-error: {type(exc).__name__}", input_fingerprint=fp)
        after = Header(f.elems)
        parts = [
            safe_name(after.text(T_PATIENT_ID) or "P-UNKNOWN"),
            safe_name(after.text(T_STUDY_UID) or "study"),
            safe_name(after.text(T_SOP_INSTANCE)) + ".dcm",
        ]
        renamed = path_names_patient(relpath, path_tokens(header))
        if renamed:
            events.append(
                AuditEvent(
                    "<path>",
                    Action.RENAME,
                    "identity",
                    "deid:path-identity",
                    "",
                    "input path held a patient identity value",
                )
            )
        return Result(
            Status.OK,
            data=out,
            events=events,
            input_fingerprint=fp,
            name_hint="/".join(parts),
            renamed=renamed,
            previews=px.previews,
            mappings=maps or [],
            counts={"elements": stats.changed, "dates_shifted": stats.dates_shifted, **px.counts},
        )


def _clean_pixels(f: RawFile, header: Header, ctx: Context) -> PixelOutcome:
    """The pixel stage (its DICOM adapter, dicom/pixels.py), imported only for files with
    pixels under a pipeline that cleans them: header-only work never pays for numpy, OpenCV
    or the OCR models."""
    pp = ctx.pipeline.pixels
    if pp.active and has_pixels(f.elems):
        from .pixels import clean_pixels

        return clean_pixels(f, header, pp, ctx.pseudo, ctx.preview)
    from ..pixels.outcome import PixelOutcome

    return PixelOutcome()


def safe_name(value: object) -> str:
    """One path component from a header value: [0-9A-Za-z.-] only, never '.' or '..'."""
    text = re.sub(r"[^0-9A-Za-z.-]", "_", str(value))[:64].strip(".") or "x"
    return text


def path_tokens(header: Header) -> list[str]:
    """Patient name parts and IDs, as they might appear in an export folder name.
    ASCII tokens need 4+ characters here: short ones (CT1, MR) are common in paths."""
    from .operators import name_tokens

    toks = name_tokens([header.text(t) for t in (0x00100010, 0x00100020, 0x00101000)])
    return [t.lower() for t in toks if len(t) >= 4 or not t.isascii()]


def path_names_patient(relpath: str, tokens: list[str]) -> bool:
    low = relpath.lower()
    return any(t in low for t in tokens)
