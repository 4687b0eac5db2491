"""`deid check` for DICOM: the header at every depth, and optionally the pixels."""

from __future__ import annotations

from functools import lru_cache

from ..dicom import values as V
from ..dicom.bits import stray_bits
from ..dicom.deidentify import FREE_TEXT_VRS, IDENTITY_TAGS, Header
from ..dicom.dictionary import entry
from ..dicom.io import RawFile, read_file
from ..dicom.raw import Elem, has_pixels
from ..errors import InputError
from ..policy.engine import UNKNOWN_KEPT_VRS, SafePrivate, safe_private
from ..pseudonym import is_own_pseudonym
from ..text.recognize import find
from . import Finding, mask
from .pixels import phi_in_frames, text_in_overlays

T_IDENTITY_REMOVED = 0x00120062
T_PIXEL_DATA = 0x7FE00010
# coded values (CodeValue, CodingSchemeDesignator, CodingSchemeVersion, ...): codes, not text
CODE_TAGS = frozenset({0x00080100, 0x00080102, 0x00080103, 0x00080119, 0x00080120, 0x00080105, 0x00080106})
# content check cannot read, a finding wherever it holds anything but deid's dummy (zero
# bytes): an icon is an image (a name can be burned in), a document is text in a format
# check does not parse (a PDF). deid run removes the icon and replaces the document.
OPAQUE = {
    0x00880200: ("icon-image", "check:icon-image"),
    0x00420011: ("encapsulated-document", "check:encapsulated-document"),
}


def check_dicom(
    data: bytes, rel: str, excerpts: bool = False, pixels: bool = False, identity_values: list[str] | None = None
) -> list[Finding]:
    """Header findings; with `pixels`, also burned-in identifiers and text in overlays.
    `identity_values`: what to look for in the pixels (default: this header's identity)."""
    f = read_file(data)
    header = Header(f.elems)
    out: list[Finding] = []
    if header.text(T_IDENTITY_REMOVED).strip().upper() != "YES":
        out.append(Finding(rel, "PatientIdentityRemoved", "not-deidentified", "check:identity-removed"))
    _walk(f.elems, "", header.cs, rel, excerpts, out, top=True)
    try:
        if stray_bits(f):  # a retired overlay (or anything) hidden outside Bits Stored
            out.append(Finding(rel, "PixelData", "pixel-unused-bits", "check:unused-pixel-bits"))
    except InputError:  # a layout deid cannot read the bits of: a finding, the others stay
        out.append(Finding(rel, "PixelData", "pixel-unused-bits", "check:bad-high-bit"))
    if pixels and has_pixels(f.elems):
        out += _pixels(f, header, rel, identity_values)
    if pixels:
        out += text_in_overlays(f.elems, rel)
    return out


@lru_cache(maxsize=4096)
def _spans(text: str) -> tuple:
    """find() per distinct value: de-identified outputs repeat most text values (the
    DeidentificationMethod, descriptions), and the recognizers are the check's main cost."""
    return tuple(find(text))


def _name(tag: int) -> str:
    kw = entry(tag)[0]
    return kw or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _walk(
    elems: list[Elem], path: str, cs: tuple[str, ...], rel: str, excerpts: bool, out: list[Finding], top: bool
) -> None:
    creators = {
        (e.tag >> 16, e.tag & 0xFF): V.decode(e.value, "LO", cs).strip()
        for e in elems
        if e.tag >> 16 & 1 and 0x10 <= e.tag & 0xFFFF <= 0xFF and e.items is None
    }
    for e in elems:
        loc = f"{path}{_name(e.tag)}"
        group, elem = e.tag >> 16, e.tag & 0xFFFF
        if group & 1 and elem >= 0x1000:
            creator = creators.get((group, elem >> 8), "")
            if SafePrivate(group, creator, elem & 0xFF, e.vr) not in safe_private():
                out.append(Finding(rel, loc, "private-tag", "check:private-not-safe"))
                continue
        opaque = _opaque(e, top)
        if opaque is not None:
            out.append(Finding(rel, loc, *opaque))
            continue
        if e.items is not None:
            for i, item in enumerate(e.items):
                _walk(item, f"{loc}[{i}].", cs, rel, excerpts, out, top=False)
            continue
        if (e.vr not in FREE_TEXT_VRS and e.tag not in IDENTITY_TAGS) or e.tag in CODE_TAGS:
            continue
        text = V.decode(e.value, e.vr, cs).strip()
        if not text or is_own_pseudonym(text):
            continue
        if e.tag in IDENTITY_TAGS:
            out.append(Finding(rel, loc, "identity", "check:identity-attribute", mask(text) if excerpts else ""))
            continue
        for sp in _spans(text):
            out.append(
                Finding(
                    rel,
                    f"{loc}[{sp.start}:{sp.end}]",
                    sp.category,
                    f"recognizer:{sp.rule}",
                    mask(text[sp.start : sp.end]) if excerpts else "",
                )
            )


def _opaque(e: Elem, top: bool) -> tuple[str, str] | None:
    """(category, rule) when `e` holds what check cannot read: an icon or a document (see
    OPAQUE), pixel data inside a sequence (another icon), or an attribute no dictionary
    knows holding text or bytes (it may be a name with no cue word around it)."""
    if e.tag in OPAQUE:
        held = bool(e.items) if e.items is not None else bool(e.value.strip(b"\x00"))
        return OPAQUE[e.tag] if held else None
    if e.tag == T_PIXEL_DATA and not top:
        return "icon-image", "check:image-in-sequence"
    group, elem = e.tag >> 16, e.tag & 0xFFFF
    if group & 1 or elem == 0 or e.items is not None or e.vr in UNKNOWN_KEPT_VRS or entry(e.tag)[0]:
        return None
    text = e.value.decode("latin-1").strip("\x00 ")
    return ("unknown-tag", "check:unknown-attribute") if text and not is_own_pseudonym(text) else None


def _pixels(f: RawFile, header: Header, rel: str, identity_values: list[str] | None) -> list[Finding]:
    """Burned-in text whose reading matches identity values (the header's, or the
    original's when deid checks its own output) or a recognizer."""
    from ..dicom.pixels import decode

    px = decode(f)
    return phi_in_frames(
        px.frames,
        px.ds,
        px.photometric,
        rel,
        identity_values if identity_values is not None else header.pixel_identity_values(),
    )
