"""One file through `deid check`: routed by content like `deid run` routes it (DICOM by
preamble or first tag, records by suffix), plus plain images when pixels are read.

Shared by the `deid check` command and by `deid run`'s own verify step, so the gate
before an upload and the check at the end of a run are the same check.
"""
from __future__ import annotations

from ..errors import InputError
from . import Finding


def check_bytes(data: bytes, rel: str, ctx, *, excerpts: bool = False, pixels: bool = False,
                identity_values: list[str] | None = None) -> list[Finding] | None:
    """Findings for one file; None when it is not a kind check reads (or an image and
    pixels are not read). A file that cannot be read is a finding, never skipped."""
    from ..dicom.io import looks_like_dicom
    from ..records.handler import record_kind
    from .pixels import IMAGE_SUFFIXES

    low = rel.lower()
    try:
        if looks_like_dicom(data[:132]) or low.endswith((".dcm", ".dicom")):
            from .dicom import check_dicom

            return check_dicom(data, rel, excerpts, pixels, identity_values)
        if record_kind(rel):
            from .records import check_record

            return check_record(data, rel, ctx)
        if low.endswith(IMAGE_SUFFIXES):
            if not pixels:
                return None
            from .pixels import check_image

            return check_image(data, rel)
    except InputError as exc:
        return [Finding(rel, "<file>", "unreadable", str(exc).split(":", 1)[0])]
    except RecursionError:
        return [Finding(rel, "<file>", "unreadable", "check:nested-too-deep")]
    except Exception as exc:  # a file check cannot read is a finding, never a crash of the scan
        return [Finding(rel, "<file>", "unreadable", f"check:internal-error:{type(exc).__name__}")]
    return None


def is_image(rel: str) -> bool:
    from .pixels import IMAGE_SUFFIXES

    return rel.lower().endswith(IMAGE_SUFFIXES)
