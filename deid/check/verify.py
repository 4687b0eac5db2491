"""`verify:` in a pipeline: `deid run` checks each output with `deid check` before it is
written. An output with findings is quarantined (reason `verify-failed`), and each
finding becomes an audit event (location and category, never the value)."""

from __future__ import annotations

from ..core import AuditEvent, Context, Result
from ..findings import Look
from ..limits import STOPS
from .scan import check_bytes


def _input_identity(source: bytes) -> tuple[str, ...] | None:
    """The original's identity values, to look for in the output's pixels."""
    from ..dicom.deidentify import Header
    from ..dicom.io import looks_like_dicom, read_file
    from ..errors import InputError

    if not looks_like_dicom(source[:132]):
        return None
    try:
        return tuple(Header(read_file(source).elems).pixel_identity_values())
    except (InputError, RecursionError):
        return None


def verify_output(res: Result, source: bytes, relpath: str, ctx: Context) -> Result:
    """`res` unchanged when its output checks clean, else a quarantined Result."""
    vp = ctx.pipeline.verify
    identity = _input_identity(source) if vp.pixels else None
    try:
        found = check_bytes(res.data or b"", relpath, ctx, Look(pixels=vp.pixels, identity_values=identity))
    except STOPS:
        raise
    except BaseException as exc:  # fail closed: an output the check could not finish is not written
        return res.quarantined(f"verify-error: {type(exc).__name__}")
    hits = [f for f in found or () if vp.counts(f.category, f.location)]
    if not hits:
        return res
    events = res.events + [
        AuditEvent(f.location, "verify-failed", f.category, f.rule, "", "found on the output") for f in hits
    ]
    cats = ", ".join(sorted({f.category for f in hits}))
    return res.quarantined(f"verify-failed: {len(hits)} findings on the output ({cats})", events)
