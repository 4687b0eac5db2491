"""Finding (not changing) burned-in identifiers: in any frames (a DICOM image's, through
its adapter in deid/dicom/findings.py) and in plain images (PNG/JPEG, their metadata too),
read with deid's own detectors and recognizers. `deid check` and the `verify:` step.

Frames and images use the `redact-phi` classification (text matching identity values or
a recognizer is a finding; unreadable boxes are not).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from ..findings import Finding

if TYPE_CHECKING:
    from PIL.Image import Image

    from .cleaner import FrameCleaner
    from .detect import Box
    from .frames import IdentityMatcher

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def cleaner(mode: str, identity: IdentityMatcher | None = None) -> FrameCleaner:
    """A frame cleaner that only finds: `mode`'s classification, no verify pass."""
    from ..policy.pixels import PixelPolicy
    from .cleaner import FrameCleaner

    return FrameCleaner(PixelPolicy(mode=mode, verify=False), mode, identity)


def box_location(prefix: str, b: Box) -> str:
    return f"{prefix}.box[{b.x0},{b.y0},{b.x1},{b.y1}]"


def _phi(cleaner: FrameCleaner, frame: np.ndarray, ds: Any, photometric: str, rel: str, where: str) -> list[Finding]:
    """Boxes of one frame whose reading is an identifier (identity value or recognizer hit);
    unreadable boxes are not findings here."""
    return [
        Finding(rel, box_location(where, d.box), d.verdict.why, d.verdict.rule_id)
        for d in cleaner.find(frame, ds, photometric)
        if d.verdict.action == "redact" and d.verdict.why not in ("unreadable", "text")
    ]


def phi_in_frames(
    frames: Iterable[np.ndarray], ds: Any, photometric: str, rel: str, identity: IdentityMatcher | None = None
) -> list[Finding]:
    """Identifiers burned into any frame of an image (`identity`: the patient's values,
    compiled; None: the recognizers only)."""
    from .probes import probes

    finder = cleaner("redact-phi", identity)
    return [
        f for p in probes(np.asarray(frames)) for f in _phi(finder, p.image, ds, photometric, rel, f"pixels.{p.name}")
    ]


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
    finder = cleaner("redact-phi")
    out: dict[str, Finding] = {}  # the same box found in two renderings of a frame counts once
    for i, views in enumerate(frames):
        for view, ds in views:
            for f in _phi(finder, view, ds, "RGB" if view.ndim == 3 else "MONOCHROME2", rel, f"pixels.frame[{i}]"):
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
