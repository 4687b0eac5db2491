"""One file through `deid check`: routed by content like `deid run` routes it (DICOM by
preamble or first tag, records by suffix), plus plain images when pixels are read.

Shared by the `deid check` command and by `deid run`'s own verify step, so the gate
before an upload and the check at the end of a run are the same check.
"""

from __future__ import annotations

from dataclasses import replace

from ..core import Context, Item
from ..errors import InputError
from ..findings import LOOK, Finding, Look
from ..limits import STOPS


def check_bytes(data: bytes, rel: str, ctx: Context | None, look: Look = LOOK) -> list[Finding] | None:
    """Findings for one file, from its handler (Handler.findings: each kind says what in it
    still identifies; a kind that cannot say is a finding); None when it is not a kind
    check reads (or an image and pixels are not read). A file that cannot be read is a
    finding, never skipped."""
    from ..handlers import handler_for

    try:
        handler = handler_for(rel, data)  # the routing `deid run` uses, so both see the same kinds
        if handler is not None:
            return handler.findings(Item("", rel), ctx, data, look)
        if is_image(rel):
            if not look.pixels:
                return None
            from ..pixels.findings import check_image

            return check_image(data, rel)
        if looks_like_text(data):  # notes.md, a suffix-less export: read as the free text it is
            text_handler = handler_for(rel + ".txt", data)
            if text_handler is not None:
                found = text_handler.findings(Item("", rel + ".txt"), ctx, data, look)
                return [replace(f, file=rel) if f.file == rel + ".txt" else f for f in found]
    except InputError as exc:
        return [Finding(rel, "<file>", "unreadable", str(exc).split(":", 1)[0])]
    except RecursionError:
        return [Finding(rel, "<file>", "unreadable", "check:nested-too-deep")]
    except STOPS:
        raise
    except BaseException as exc:  # a file check cannot read is a finding, never a crash of the scan
        return [Finding(rel, "<file>", "unreadable", f"check:internal-error:{type(exc).__name__}")]
    return None


def looks_like_text(data: bytes) -> bool:
    """UTF-8 or GB18030 with no NUL and almost no control characters: a text file whatever
    its name (binary formats deid does not read stay unread, as before)."""
    head = data[: 1 << 16]
    if not head or b"\x00" in head:
        return False
    for codec in ("utf-8", "gb18030"):
        try:
            text = head.decode(codec)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\r\n\f")
        return controls <= len(text) // 100
    return False


def is_image(rel: str) -> bool:
    from ..pixels.findings import IMAGE_SUFFIXES

    return rel.lower().endswith(IMAGE_SUFFIXES)
