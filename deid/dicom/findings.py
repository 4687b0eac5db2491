"""Finding (not changing) what identifies in a DICOM file: the header at every depth, and
optionally burned-in text in the pixels and text in overlay planes. DicomHandler.findings:
`deid check` and the `verify:` step."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import InputError
from ..findings import LOOK, Finding, Look
from ..operators.mask import mask_excerpt as mask
from ..pixels.findings import box_location, cleaner, phi_in_frames
from ..policy.engine import UNKNOWN_KEPT_VRS, SafePrivate, safe_private
from ..pseudonym import is_own_pseudonym
from ..text.recognize import find
from . import values as V
from .bits import stray_bits
from .deidentify import FREE_TEXT_VRS, IDENTITY_TAGS, Header
from .dictionary import entry
from .io import RawFile, read_file
from .raw import Elem, has_pixels

T_IDENTITY_REMOVED = 0x00120062
OVERLAY_DATA, OVERLAY_ROWS, OVERLAY_COLS = 0x3000, 0x0010, 0x0011
LEGIBLE = 0.8  # an overlay box counts as text when read at least this surely
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


def check_dicom(data: bytes, rel: str, look: Look = LOOK) -> list[Finding]:
    """Header findings; with `look.pixels`, also burned-in identifiers and text in overlays
    (`look.identity_values`: what to look for in the pixels; default: this header's)."""
    excerpts, pixels = look.excerpts, look.pixels
    identity_values = list(look.identity_values) if look.identity_values is not None else None
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
    from .operators import IdentityValues
    from .pixels import decode

    px = decode(f)
    values = identity_values if identity_values is not None else header.pixel_identity_values()
    return phi_in_frames(px.frames, px.ds, px.photometric, rel, IdentityValues(values) if values else None)


def overlay_planes(elems: list[Elem]) -> list[tuple[int, np.ndarray]]:
    """(group, frames) of each overlay plane (60xx,3000) held in the header: the bits
    unpacked (PS3.5 8.1.2: little-endian bit order, frames one after another), set bits
    white on black, as (frames, rows, cols): every frame the data holds, whatever
    NumberOfFramesInOverlay (PS3.3 C.9.2.1.2) says."""
    dims: dict[int, dict[int, int]] = {}
    data: dict[int, bytes] = {}
    for e in elems:
        g, el = e.tag >> 16, e.tag & 0xFFFF
        if 0x6000 <= g <= 0x601E and not g & 1 and e.items is None:
            if el in (OVERLAY_ROWS, OVERLAY_COLS) and e.length >= 2:
                dims.setdefault(g, {})[el] = int.from_bytes(e.value[:2], "little")
            elif el == OVERLAY_DATA:
                data[g] = e.value
    out = []
    for g, bits in sorted(data.items()):
        d = dims.get(g, {})
        rows, cols = d.get(OVERLAY_ROWS, 0), d.get(OVERLAY_COLS, 0)
        n = rows * cols
        if not n:
            continue  # a plane without usable dimensions: nothing to read
        if len(bits) * 8 < n:
            continue
        frames = len(bits) * 8 // n
        plane = np.unpackbits(np.frombuffer(bits, np.uint8), bitorder="little")[: n * frames]
        out.append((g, (plane.reshape(frames, rows, cols) * 255).astype(np.uint8)))
    return out


def text_in_overlays(elems: list[Elem], rel: str) -> list[Finding]:
    """Legible text in any frame of any overlay plane (probes.py: identical frames read once,
    many distinct ones through their composites)."""
    planes = overlay_planes(elems)
    if not planes:
        return []
    from ..pixels.probes import probes

    finder = cleaner("redact-all-text")
    out = []
    for g, frames in planes:
        for p in probes(frames):
            if not p.image.any():
                continue
            for d in finder.find(p.image, {}, "MONOCHROME2"):
                if d.verdict.action == "redact" and d.reading.score >= LEGIBLE and d.reading.text.strip():
                    out.append(
                        Finding(
                            rel,
                            box_location(f"overlay({g:04X},3000).{p.name}", d.box),
                            "overlay-text",
                            "check:overlay-text",
                        )
                    )
    return out
