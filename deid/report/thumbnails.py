"""Thumbnails of de-identified OUTPUT images for the HTML report, boxes outlined.

The report decodes only files its run wrote, never inputs: it may be read by people who
must not see what was redacted. A path inside the output folder is not proof
enough (a folder of raw inputs with the same layout matches every path), so `open_output`
hands out a file only when its bytes hash to the SHA-256 the run recorded for that output
(the `engine:output-digest` event); the same open handle is then decoded, so the bytes
checked are the bytes shown. Frame 0 only (the audit's box locations are per frame).
pydicom decodes just that frame, so a long multi-frame output costs one frame. Anything
that cannot be decoded gets no thumbnail and a short note, never an error: the report
must build for any run.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np

from ..dicom.io import looks_like_dicom, quiet_pydicom

LONG_SIDE = 256
# at most 9 digits a coordinate: an edited log cannot hand cv2 a number it overflows on
BOX = re.compile(r"^pixels\.frame\[0\]\.box\[(\d{1,9}),(\d{1,9}),(\d{1,9}),(\d{1,9})\]$")
REDACTED, KEPT = 254, 255  # palette indices of the outlines: red for redacted boxes, green for kept text
_PALETTE = [v for g in range(254) for v in (g * 255 // 253,) * 3] + [230, 40, 40, 60, 170, 60]
MANUFACTURER, MODEL = 0x00080070, 0x00081090
# what the thumbnail read needs from the header; nothing else is parsed or kept
_TAGS = [MANUFACTURER, MODEL, 0x00280002, 0x00280004, 0x00280008, 0x00281050, 0x00281051, 0x00281052, 0x00281053]

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Thumb:
    png: bytes | None  # PNG bytes, or None with `note` saying why
    note: str = ""
    width: int = 0
    height: int = 0


def frame0_box(location: str) -> Box | None:
    """(x0, y0, x1, y1) of a `pixels.frame[0].box[...]` location, else None."""
    m = BOX.match(location)
    return tuple(int(v) for v in m.groups()) if m else None  # type: ignore[return-value]


NOT_IN_FOLDER = "the output file is not in the output folder"
NO_DIGEST = "no output digest recorded (log from an older deid)"
DIFFERS = "the file at this path is not the one this run wrote (digest differs)"
UNREADABLE = "the output file could not be read"


class Outputs(Protocol):
    """Where a run's outputs are read back from: its sink (engine/sinks: Sink.open), e.g.
    the output folder. `open` raises FileNotFoundError for a name it does not hold."""

    def open(self, rel: str) -> BinaryIO: ...


def open_output(outputs: Outputs, relpath: str, digest: str | None) -> tuple[BinaryIO | None, str]:
    """(the output open at byte 0, "") when the sink holds it and its SHA-256 is `digest`
    ("sha256=<hex>", as the run recorded it); else (None, why). Nothing is decoded before
    the digest matched; the caller closes the file."""
    if digest is None:
        return None, NO_DIGEST
    try:
        fh = outputs.open(relpath)
    except FileNotFoundError:
        return None, NOT_IN_FOLDER
    except OSError:
        return None, UNREADABLE
    try:
        h = hashlib.sha256()  # in chunks: hashlib.file_digest is Python 3.11+, deid runs on 3.10
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
        actual = "sha256=" + h.hexdigest()
        fh.seek(0)
    except Exception:
        fh.close()
        return None, UNREADABLE
    if actual != digest:
        fh.close()
        return None, DIFFERS
    return fh, ""


def is_dicom(fh: BinaryIO) -> bool:
    """Whether the open file is DICOM; leaves it at byte 0."""
    try:
        head = fh.read(132)
        fh.seek(0)
    except OSError:
        return False
    return looks_like_dicom(head)


def device(fh: BinaryIO) -> tuple[str, str] | None:
    """(Manufacturer, ManufacturerModelName) of an open DICOM output; the only header
    values the report shows. None when the header cannot be read. Leaves it at byte 0."""
    import pydicom

    with quiet_pydicom():
        try:
            ds = pydicom.dcmread(fh, stop_before_pixels=True, specific_tags=[MANUFACTURER, MODEL])
        except Exception:
            return None
        finally:
            fh.seek(0)
    return _text(ds.get("Manufacturer")), _text(ds.get("ManufacturerModelName"))


def _text(value: object) -> str:
    s = "" if value is None else str(value)
    return "".join(c for c in s if c.isprintable()).strip()[:64]


def thumbnail(src: Path | BinaryIO, redacted: list[Box], kept: list[Box]) -> Thumb:
    """PNG of frame 0 of the output (a path, or a file `open_output` checked), long side
    LONG_SIDE px, redacted boxes red, kept text green; boxes are clipped to the image."""
    import cv2
    from PIL import Image
    from pydicom.dataset import Dataset
    from pydicom.pixels import pixel_array

    from ..pixels.render import views

    ds = Dataset()
    source = src if hasattr(src, "read") else str(src)
    with quiet_pydicom():
        try:
            frame = np.asarray(pixel_array(source, ds_out=ds, specific_tags=_TAGS, index=0))
        except AttributeError:  # pydicom's answer to a data set without Pixel Data (SR, RT plan, ...)
            return Thumb(None, "no thumbnail: the output holds no image")
        except Exception as exc:  # no decoder, corrupt stream
            return Thumb(None, f"no thumbnail: the output image could not be decoded ({type(exc).__name__})")
    if frame.ndim == 3 and frame.shape[-1] != 3:
        frame = frame[0]  # a decoder that kept the frame axis
    if frame.ndim not in (2, 3) or frame.size == 0:
        return Thumb(None, "no thumbnail: unexpected frame layout")
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    if frame.ndim == 3 and photometric.startswith("YBR"):
        photometric = "RGB"  # pydicom converts YBR to RGB on decode
    try:
        view = views(frame, ds, photometric, ("display",))[0][1]
    except Exception as exc:
        return Thumb(None, f"no thumbnail: the output image could not be rendered ({type(exc).__name__})")
    h, w = view.shape[:2]
    scale = min(1.0, LONG_SIDE / max(h, w))
    tw, th = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(view, (tw, th), interpolation=cv2.INTER_AREA) if scale < 1 else view
    # one byte per pixel: grey levels 0..253, then the two outline colours (a palette PNG
    # is a third of an RGB one, and the report carries hundreds of these)
    idx = (small.astype(np.uint16) * 253 // 255).astype(np.uint8)
    for boxes, colour in ((kept, KEPT), (redacted, REDACTED)):
        for box in boxes:
            clipped = _clip(box, w, h)
            if clipped is None:
                continue  # wholly outside the image (an edited log): nothing to outline
            x0, y0, x1, y1 = clipped
            p0 = (int(x0 * scale), int(y0 * scale))
            p1 = (max(p0[0], int(x1 * scale) - 1), max(p0[1], int(y1 * scale) - 1))
            cv2.rectangle(idx, p0, p1, colour, 1 if scale < 0.5 else 2)
    img = Image.fromarray(idx, "L")
    img.putpalette(_PALETTE)
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return Thumb(buf.getvalue(), "", tw, th)


def _clip(box: Box, w: int, h: int) -> Box | None:
    """The box inside a w x h image, corners in order; None when none of it is inside."""
    x0, x1 = sorted((min(max(box[0], 0), w), min(max(box[2], 0), w)))
    y0, y1 = sorted((min(max(box[1], 0), h), min(max(box[3], 0), h)))
    return None if x0 >= w or y0 >= h or x1 <= 0 or y1 <= 0 else (x0, y0, x1, y1)
