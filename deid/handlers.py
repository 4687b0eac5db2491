"""Handlers: process(item, ctx) -> Result. Pure and picklable: no printing, no audit writes.

That is what lets the same code run in-process, in a process pool, or on Dask.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .audit.events import AuditEvent
from .errors import InputError
from .policy.engine import Pipeline
from .pseudonym import Pseudonymizer


@dataclass(frozen=True)
class Item:
    source: str          # absolute input path
    relpath: str         # output path relative to the output folder


@dataclass(frozen=True)
class Context:
    pipeline: Pipeline
    pseudo: Pseudonymizer


@dataclass
class Result:
    status: str                      # "ok" or "quarantined"
    data: bytes | None = None        # output bytes when ok
    reason: str = ""                 # short code + class name when quarantined; never a value
    events: list[AuditEvent] = field(default_factory=list)
    input_fingerprint: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    kind: str = "dicom"
    name_hint: str = ""              # output name for --naming pseudonymized


class DicomHandler:
    kind = "dicom"

    def process(self, item: Item, ctx: Context, data: bytes | None = None) -> Result:
        """`data`: the file's bytes when the caller already read them (read once, route, process)."""
        from .dicom.io import quiet_pydicom

        if data is None:
            try:
                data = Path(item.source).read_bytes()
            except OSError as exc:
                return Result("quarantined", reason=f"unreadable-file: {type(exc).__name__}")
        fp = ctx.pseudo.fingerprint(data)
        with quiet_pydicom():
            return self._process(data, fp, ctx)

    def _process(self, data: bytes, fp: str, ctx: Context) -> Result:
        from .dicom.deidentify import deidentify_dataset
        from .dicom.io import read_dataset, verify_readable, write_dataset

        try:
            ds = read_dataset(data)
            events, stats = deidentify_dataset(ds, ctx.pipeline.dicom, ctx.pseudo, ctx.pipeline.name)
            out = write_dataset(ds)
            verify_readable(out)
        except InputError as exc:
            return Result("quarantined", reason=str(exc), input_fingerprint=fp)
        except RecursionError:
            return Result("quarantined", reason="unreadable: sequences nested too deep", input_fingerprint=fp)
        except Exception as exc:  # fail closed on anything unexpected, without its message
            return Result("quarantined", reason=f"internal-error: {type(exc).__name__}", input_fingerprint=fp)
        hint = f"{ds.get('PatientID') or 'P-UNKNOWN'}/{ds.get('StudyInstanceUID', 'study')}/{ds.SOPInstanceUID}.dcm"
        return Result("ok", data=out, events=events, input_fingerprint=fp, name_hint=hint,
                      counts={"elements": stats.changed, "dates_shifted": stats.dates_shifted})


HANDLERS = {"dicom": DicomHandler()}


def handler_for(path: str, head: bytes) -> DicomHandler | None:
    """Route by content (the first 132 bytes): DICOM by preamble or first tag, or a .dcm name
    (so a broken .dcm is reported as such); other kinds arrive with later handlers."""
    from .dicom.io import looks_like_dicom

    if looks_like_dicom(head[:132]) or path.lower().endswith((".dcm", ".dicom")):
        return HANDLERS["dicom"]
    return None
