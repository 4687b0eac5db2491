"""`deid check` on pixels: burned-in text in DICOM frames, DICOM overlay planes and plain
images (PNG/JPEG), read with deid's own detectors and recognizers.

Frames and images use the `redact-phi` classification (text matching identity values or
a recognizer is a finding; unreadable boxes are not). Overlay planes are graphics drawn
over the image: any legible text in them is a finding, as the Basic Profile removes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from ..dicom.raw import Elem
from . import Finding

if TYPE_CHECKING:
    from PIL.Image import Image

    from ..pixels.cleaner import FrameCleaner
    from ..pixels.detect import Box

OVERLAY_DATA, OVERLAY_ROWS, OVERLAY_COLS = 0x3000, 0x0010, 0x0011
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
LEGIBLE = 0.8  # an overlay box counts as text when read at least this surely


def _cleaner(mode: str, identity_values: list[str] | None = None) -> FrameCleaner:
    from ..dicom.operators import IdentityValues
    from ..pixels.cleaner import FrameCleaner
    from ..policy.pixels import PixelPolicy

    identity = IdentityValues(identity_values) if identity_values else None
    return FrameCleaner(PixelPolicy(mode=mode, verify=False), mode, identity)


def _box(prefix: str, b: Box) -> str:
    return f"{prefix}.box[{b.x0},{b.y0},{b.x1},{b.y1}]"


def _phi(cleaner: FrameCleaner, frame: np.ndarray, ds: Any, photometric: str, rel: str, where: str) -> list[Finding]:
    """Boxes of one frame whose reading is an identifier (identity value or recognizer hit);
    unreadable boxes are not findings here."""
    return [
        Finding(rel, _box(where, d.box), d.verdict.why, d.verdict.rule_id)
        for d in cleaner.find(frame, ds, photometric)
        if d.verdict.action == "redact" and d.verdict.why not in ("unreadable", "text")
    ]


def phi_in_frames(
    frames: Iterable[np.ndarray], ds: Any, photometric: str, rel: str, identity_values: list[str] | None = None
) -> list[Finding]:
    """Identifiers burned into any frame of a DICOM image."""
    from ..pixels.probes import probes

    cleaner = _cleaner("redact-phi", identity_values)
    return [
        f for p in probes(np.asarray(frames)) for f in _phi(cleaner, p.image, ds, photometric, rel, f"pixels.{p.name}")
    ]


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

    cleaner = _cleaner("redact-all-text")
    out = []
    for g, frames in planes:
        for p in probes(frames):
            if not p.image.any():
                continue
            for d in cleaner.find(p.image, {}, "MONOCHROME2"):
                if d.verdict.action == "redact" and d.reading.score >= LEGIBLE and d.reading.text.strip():
                    out.append(
                        Finding(
                            rel, _box(f"overlay({g:04X},3000).{p.name}", d.box), "overlay-text", "check:overlay-text"
                        )
                    )
    return out


def check_image(data: bytes, rel: str) -> list[Finding]:
    """A PNG or JPEG: identifiers in its text (rendered the ways a viewer may show it) and
    in its metadata (PNG text chunks, JPEG comments, EXIF, XMP)."""
    import io

    from PIL import Image, ImageSequence

    try:
        with Image.open(io.BytesIO(data)) as im:
            meta = _metadata(im)
            frames = []  # every frame: APNG, animated GIF-like PNGs, MPO JPEGs hold more than one
            for i, frame in enumerate(ImageSequence.Iterator(im)):
                if i >= MAX_IMAGE_FRAMES:
                    raise ValueError("too many frames")
                frame.load()
                frames.append(_image_views(frame))
    except Exception as exc:  # corrupt, truncated, a decompression bomb, a mode Pillow refuses
        return [Finding(rel, "<file>", "unreadable", f"check:image-undecodable:{type(exc).__name__}")]
    cleaner = _cleaner("redact-phi")
    out: dict[str, Finding] = {}  # the same box found in two renderings of a frame counts once
    for i, views in enumerate(frames):
        for view, ds in views:
            for f in _phi(cleaner, view, ds, "RGB" if view.ndim == 3 else "MONOCHROME2", rel, f"pixels.frame[{i}]"):
                out.setdefault(f.location, f)
    return list(out.values()) + _metadata_findings(meta, rel)


def _image_views(im: Image) -> list[tuple[np.ndarray, dict[str, Any]]]:
    """Frames to read, each with the window the renderer may add: transparency composited
    over black and over white (dark text on a transparent background vanishes over black);
    deep images as stored, windowed also to their 0.5-99.5 percentile range (one hot pixel
    must not flatten the rest under min-max)."""
    from PIL import Image

    if im.mode in ("P", "PA"):
        im = im.convert("RGBA" if im.mode == "PA" or "transparency" in im.info else "RGB")
    if im.mode in ("LA", "RGBA", "La", "RGBa"):
        rgba = im.convert("RGBA")
        return [
            (np.asarray(Image.alpha_composite(Image.new("RGBA", im.size, bg), rgba).convert("RGB")), {})
            for bg in ((0, 0, 0, 255), (255, 255, 255, 255))
        ]
    if im.mode in ("1", "L", "RGB"):
        return [(np.asarray(im.convert("L" if im.mode == "1" else im.mode)), {})]
    if im.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        return [(np.asarray(im.convert("RGB")), {})]
    arr = np.asarray(im).astype(np.float64)  # I;16, I, F: deep grey
    lo, hi = (float(v) for v in np.percentile(arr, (0.5, 99.5)))
    return [(arr, {"WindowCenter": (lo + hi) / 2, "WindowWidth": max(2.0, hi - lo)})]


PERSON_KEYS = frozenset({"author", "artist", "xpauthor", "cameraownername", "ownername"})
# PNG's registered keywords (PNG spec 11.3.4.2) and Pillow's JPEG/XMP keys: safe to name in a
# location; any other keyword is free text (it may itself be a name) and is named by position
KNOWN_KEYS = frozenset(
    {
        "Title",
        "Author",
        "Description",
        "Copyright",
        "Creation Time",
        "Software",
        "Disclaimer",
        "Warning",
        "Source",
        "Comment",
        "comment",
        "xmp",
        "XML:com.adobe.xmp",
    }
)
EXIF_NAMES = {
    0x010E: "ImageDescription",
    0x013B: "Artist",
    0x8298: "Copyright",
    0x9C9B: "XPTitle",
    0x9C9C: "XPComment",
    0x9C9D: "XPAuthor",
    0x9C9E: "XPKeywords",
    0x9C9F: "XPSubject",
    0x9286: "UserComment",
    0xA430: "CameraOwnerName",
    0x010F: "Make",
    0x0110: "Model",
}
MAX_IMAGE_FRAMES = 64


def _metadata(im: Image) -> list[tuple[str, str]]:
    """(location, text) of text-valued metadata: PNG tEXt/iTXt/zTXt (keyword and value),
    JPEG COM, XMP, and EXIF with its Exif IFD. Locations never hold a free-text keyword."""
    out: list[tuple[str, str]] = []
    for n, (k, v) in enumerate(im.info.items()):
        if k in ("exif", "icc_profile", "dpi", "transparency", "gamma", "aspect", "duration", "loop"):
            continue
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        if not isinstance(v, str):
            continue
        key = str(k)
        if key in KNOWN_KEYS:
            out.append((key, v))
        else:
            out += [(f"text[{n}].keyword", key), (f"text[{n}]", v)]
    exif = im.getexif()
    tags = dict(exif)
    try:
        tags.update(exif.get_ifd(0x8769))
    except Exception:
        pass
    for tag, v in tags.items():
        if isinstance(v, bytes):
            v = _exif_text(tag, v)
        if isinstance(v, str) and v.strip():
            out.append((f"exif.{EXIF_NAMES.get(tag, f'0x{tag:04X}')}", v))
    return [(k, v) for k, v in out if v.strip()]


def _exif_text(tag: int, v: bytes) -> str:
    """EXIF bytes as text: XP* tags are UTF-16LE; UserComment starts with an 8-byte
    character code (EXIF 2.3, 4.6.5: ASCII, UNICODE, JIS, or undefined)."""
    if 0x9C9B <= tag <= 0x9C9F:
        return v.decode("utf-16-le", "replace").strip("\x00")
    if tag == 0x9286 and len(v) >= 8:
        code, body = v[:8], v[8:]
        if code.startswith(b"UNICODE"):
            le = len(body) > 1 and body[1:2] == b"\x00"
            return body.decode("utf-16-le" if le else "utf-16-be", "replace").strip("\x00")
        if code.startswith(b"JIS"):
            return body.decode("iso2022_jp", "replace").strip("\x00")
        return body.decode("utf-8", "replace").strip("\x00")
    return v.decode("utf-8", "replace").strip("\x00")


def _metadata_findings(meta: list[tuple[str, str]], rel: str) -> list[Finding]:
    from ..text.recognize import find

    out = []
    for key, text in meta:
        loc = f"metadata.{key}"
        if key.split(".")[-1].lower() in PERSON_KEYS:
            out.append(Finding(rel, loc, "identity", "check:image-metadata-person"))
            continue
        for sp in find(text):
            out.append(Finding(rel, f"{loc}[{sp.start}:{sp.end}]", sp.category, f"recognizer:{sp.rule}"))
    return out
