"""`deid check` for DICOM: the header at every depth, and optionally the pixels."""
from __future__ import annotations

import hashlib

from ..dicom import values as V
from ..dicom.deidentify import FREE_TEXT_VRS, IDENTITY_TAGS, Header
from ..dicom.dictionary import entry
from ..dicom.io import read_file
from ..dicom.raw import Elem, has_pixels
from ..policy.engine import SafePrivate, _safe_private
from ..text.recognize import find
from . import PSEUDONYM, Finding, mask

T_IDENTITY_REMOVED = 0x00120062
# coded values (CodeValue, CodingSchemeDesignator, CodingSchemeVersion, ...): codes, not text
CODE_TAGS = frozenset({0x00080100, 0x00080102, 0x00080103, 0x00080119, 0x00080120, 0x00080105, 0x00080106})


def check_dicom(data: bytes, rel: str, excerpts: bool = False, pixels: bool = False) -> list[Finding]:
    f = read_file(data)
    header = Header(f.elems)
    out: list[Finding] = []
    if header.text(T_IDENTITY_REMOVED).strip().upper() != "YES":
        out.append(Finding(rel, "PatientIdentityRemoved", "not-deidentified", "check:identity-removed"))
    _walk(f.elems, "", header.cs, rel, excerpts, out, top=True)
    if pixels and has_pixels(f.elems):
        out += _pixels(f, header, rel)
    return out


def _name(tag: int) -> str:
    kw = entry(tag)[0]
    return kw or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _walk(elems: list[Elem], path: str, cs, rel: str, excerpts: bool, out: list[Finding], top: bool) -> None:
    creators = {(e.tag >> 16, e.tag & 0xFF): V.decode(e.value, "LO", cs).strip() for e in elems
                if e.tag >> 16 & 1 and 0x10 <= e.tag & 0xFFFF <= 0xFF and e.items is None}
    for e in elems:
        loc = f"{path}{_name(e.tag)}"
        group, elem = e.tag >> 16, e.tag & 0xFFFF
        if group & 1 and elem >= 0x1000:
            creator = creators.get((group, elem >> 8), "")
            if SafePrivate(group, creator, elem & 0xFF, e.vr) not in _safe_private():
                out.append(Finding(rel, loc, "private-tag", "check:private-not-safe"))
                continue
        if e.items is not None:
            for i, item in enumerate(e.items):
                _walk(item, f"{loc}[{i}].", cs, rel, excerpts, out, top=False)
            continue
        if (e.vr not in FREE_TEXT_VRS and e.tag not in IDENTITY_TAGS) or e.tag in CODE_TAGS:
            continue
        text = V.decode(e.value, e.vr, cs).strip()
        if not text or PSEUDONYM.match(text):
            continue
        if e.tag in IDENTITY_TAGS:
            out.append(Finding(rel, loc, "identity", "check:identity-attribute", mask(text) if excerpts else ""))
            continue
        for sp in find(text):
            out.append(Finding(rel, f"{loc}[{sp.start}:{sp.end}]", sp.category, f"recognizer:{sp.rule}",
                               mask(text[sp.start:sp.end]) if excerpts else ""))


def _pixels(f, header: Header, rel: str) -> list[Finding]:
    """Burned-in text whose reading matches the header's identity values or a recognizer
    (the redact-phi classification); unreadable boxes are not findings here."""
    from ..dicom.operators import IdentityValues
    from ..pixels import image
    from ..pixels.stage import FrameCleaner
    from ..policy.pixels import PixelPolicy

    px = image.decode(f)
    cleaner = FrameCleaner(PixelPolicy(mode="redact-phi", verify=False), "redact-phi",
                           IdentityValues(header.pixel_identity_values()))
    out = []
    seen: set[bytes] = set()
    for i, frame in enumerate(px.frames):
        key = hashlib.blake2b(frame.tobytes(), digest_size=16).digest()  # identical frames: read once
        if key in seen:
            continue
        seen.add(key)
        for d in cleaner.find(frame, px.ds, px.photometric):
            if d.verdict.action == "redact" and d.verdict.why not in ("unreadable", "text"):
                b = d.box
                out.append(Finding(rel, f"pixels.frame[{i}].box[{b.x0},{b.y0},{b.x1},{b.y1}]", d.verdict.why,
                                   d.verdict.rule_id))
    return out
