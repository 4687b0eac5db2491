"""`deid check` on pixels: burned-in text in DICOM frames, DICOM overlay planes and plain
images (PNG/JPEG), read with deid's own detectors and recognizers.

Frames and images use the `redact-phi` classification (text matching identity values or
a recognizer is a finding; unreadable boxes are not). Overlay planes are graphics drawn
over the image: any legible text in them is a finding, as the Basic Profile removes them.
"""
from __future__ import annotations

import hashlib
from typing import Iterable

import numpy as np

from ..dicom.raw import Elem
from . import Finding

OVERLAY_DATA, OVERLAY_ROWS, OVERLAY_COLS = 0x3000, 0x0010, 0x0011
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
LEGIBLE = 0.8          # an overlay box counts as text when read at least this surely


def _cleaner(mode: str, identity_values: list[str] | None = None):
    from ..dicom.operators import IdentityValues
    from ..pixels.stage import FrameCleaner
    from ..policy.pixels import PixelPolicy

    identity = IdentityValues(identity_values) if identity_values else None
    return FrameCleaner(PixelPolicy(mode=mode, verify=False), mode, identity)


def _box(prefix: str, b) -> str:
    return f"{prefix}.box[{b.x0},{b.y0},{b.x1},{b.y1}]"


def phi_in_frames(frames: Iterable[np.ndarray], ds, photometric: str, rel: str, prefix: str,
                  identity_values: list[str] | None = None) -> list[Finding]:
    """Text whose reading is an identifier (identity value or recognizer hit), per frame;
    identical frames are read once."""
    cleaner = _cleaner("redact-phi", identity_values)
    out: list[Finding] = []
    seen: set[bytes] = set()
    for i, frame in enumerate(frames):
        key = hashlib.blake2b(frame.tobytes(), digest_size=16).digest()
        if key in seen:
            continue
        seen.add(key)
        for d in cleaner.find(frame, ds, photometric):
            if d.verdict.action == "redact" and d.verdict.why not in ("unreadable", "text"):
                out.append(Finding(rel, _box(f"{prefix}[{i}]", d.box), d.verdict.why, d.verdict.rule_id))
    return out


def overlay_planes(elems: list[Elem]) -> list[tuple[int, np.ndarray]]:
    """(group, 8-bit image) of each overlay plane (60xx,3000) held in the header: the
    bits unpacked (PS3.5 8.1.2: little-endian bit order), set bits white on black."""
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
        rows, cols = dims.get(g, {}).get(OVERLAY_ROWS, 0), dims.get(g, {}).get(OVERLAY_COLS, 0)
        n = rows * cols
        if not n or len(bits) * 8 < n:
            continue  # a plane without usable dimensions: nothing to read
        plane = np.unpackbits(np.frombuffer(bits, np.uint8), bitorder="little")[:n].reshape(rows, cols)
        out.append((g, (plane * 255).astype(np.uint8)))
    return out


def text_in_overlays(elems: list[Elem], rel: str) -> list[Finding]:
    """Legible text in any overlay plane (first frame of each)."""
    planes = overlay_planes(elems)
    if not planes:
        return []
    cleaner = _cleaner("redact-all-text")
    out = []
    for g, img in planes:
        for d in cleaner.find(img, {}, "MONOCHROME2"):
            if d.verdict.action == "redact" and d.reading.score >= LEGIBLE and d.reading.text.strip():
                out.append(Finding(rel, _box(f"overlay({g:04X},3000)", d.box), "overlay-text",
                                   "check:overlay-text"))
    return out


def check_image(data: bytes, rel: str) -> list[Finding]:
    """A PNG or JPEG: identifiers in its text, like DICOM frames."""
    import cv2

    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        return [Finding(rel, "<file>", "unreadable", "check:image-undecodable")]
    if img.dtype != np.uint8:
        img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB if img.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    return phi_in_frames([img], {}, "RGB" if img.ndim == 3 else "MONOCHROME2", rel, "pixels.frame")
