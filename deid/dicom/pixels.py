"""The pixel stage's DICOM adapter: pixel data in and out of a RawFile (decode every
frame, encode redacted frames back, Burned In Annotation), and what the header says for
the format-free pixel core (deid/pixels/stage.py): how to render the frames, the identity
values to look for, the device signature its region rules key on, the ultrasound regions.

Decoding goes through pydicom's pixel handlers (pylibjpeg, openjpeg, pyjpegls, RLE),
fed a small data set of just the Image Pixel attributes, so the header path stays
byte-level. Encoding keeps the transfer syntax when a lossless encoder exists for it;
lossy syntaxes become their lossless sibling (JPEG 2000 -> JPEG 2000 Lossless, JPEG-LS
near-lossless -> JPEG-LS Lossless) or, for JPEG Baseline/Extended/Lossless, explicit VR
little endian. Lossy Image Compression attributes are kept as they were: the image
*was* lossy-compressed once, and re-storing it losslessly does not undo that.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core import PixelMode
from ..errors import InputError
from ..pixels.frames import Frames, RenderHints
from ..pixels.outcome import PixelOutcome
from .io import EXPLICIT_LE, META_TS, UNCOMPRESSED, quiet_pydicom, uid_bytes
from .raw import FLOAT_PIXEL_DATA, PIXEL_DATA, Elem, RawFile, has_pixels, parse_part10, write_part10

if TYPE_CHECKING:
    from ..policy.pixels import PixelPolicy
    from ..pseudonym import Pseudonymizer
    from .deidentify import Header

RLE = "1.2.840.10008.1.2.5"
J2K_LOSSLESS, J2K = "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"
JLS_LOSSLESS, JLS_NEAR = "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"
# syntax of the input -> syntax of a redacted output
TARGET = {RLE: RLE, J2K_LOSSLESS: J2K_LOSSLESS, J2K: J2K_LOSSLESS, JLS_LOSSLESS: JLS_LOSSLESS, JLS_NEAR: JLS_LOSSLESS}
T_BURNED_IN = 0x00280301
T_US_REGIONS = 0x00186011


@dataclass
class Pixels:
    ds: Any  # pydicom Dataset of the Image Pixel attributes
    frames: np.ndarray  # (n, rows, cols) or (n, rows, cols, 3), stored values
    photometric: str  # of `frames` (YBR inputs are decoded to RGB)
    transfer_syntax: str

    @property
    def color(self) -> bool:
        return self.frames.ndim == 4

    @property
    def hints(self) -> RenderHints:
        """How to render the frames: photometric, VOI window, rescale, palette, bits."""
        return RenderHints.from_mapping(self.ds, self.photometric)


def _subset(f: RawFile) -> list[Elem]:
    return [
        e
        for e in f.elems
        if e.tag >> 16 == 0x0028 or e.tag in (0x00080016, 0x00080018, PIXEL_DATA) or e.tag in FLOAT_PIXEL_DATA
    ]


J2K_SYNTAXES = (J2K_LOSSLESS, J2K, "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203")
JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"


def check_jp2_boxes(fragment: bytes) -> None:
    """A JPEG 2000 frame wrapped in a JP2 file must have boxes that each move on: a box
    length of 0 ("to the end", legal only for a last box) or 2-7 sends pydicom's
    parameter scan round forever (one bit flip makes such a file), so it is refused here,
    before any decoder sees it."""
    if not fragment.startswith(JP2_SIGNATURE):
        return
    offset = len(JP2_SIGNATURE)
    while offset + 8 <= len(fragment):
        length = int.from_bytes(fragment[offset : offset + 4], "big")
        if fragment[offset + 4 : offset + 8] == b"jp2c":
            return
        if length == 1 and offset + 16 <= len(fragment):  # XLBox: the length in the next 8 bytes
            length = int.from_bytes(fragment[offset + 8 : offset + 16], "big")
        if length < 8:
            raise InputError("pixels-undecodable: JPEG 2000 frame with a box of invalid length")
        offset += length


def _first_fragments(pixel_data: bytes, limit: int = 4096) -> list[bytes]:
    """The start of each fragment of encapsulated Pixel Data (Basic Offset Table skipped),
    at most `limit` fragments: enough to see a JP2 header."""
    out: list[bytes] = []
    pos = 0
    while pos + 8 <= len(pixel_data) and len(out) <= limit:
        tag, length = pixel_data[pos : pos + 4], int.from_bytes(pixel_data[pos + 4 : pos + 8], "little")
        if tag != b"\xfe\xff\x00\xe0":  # not an Item: the sequence delimiter, or damage
            break
        out.append(pixel_data[pos + 8 : pos + 8 + length])
        pos += 8 + length
    return out[1:]


def decode(f: RawFile) -> Pixels:
    import pydicom

    ts = f.transfer_syntax
    if ts in J2K_SYNTAXES:
        pd = next((e for e in f.elems if e.tag == PIXEL_DATA), None)
        for fragment in _first_fragments(pd.value if pd is not None else b""):
            check_jp2_boxes(fragment)
    data = write_part10([Elem.new(META_TS, "UI", uid_bytes(ts))], _subset(f), f.explicit)
    with quiet_pydicom():
        try:
            ds = pydicom.dcmread(io.BytesIO(data))
            arr = ds.pixel_array
        except Exception as exc:  # no decoder, corrupt stream, inconsistent attributes
            raise InputError(f"pixels-undecodable: {_name(ts)} ({type(exc).__name__})") from None
    n = int(ds.get("NumberOfFrames", 1) or 1)
    spp = int(ds.get("SamplesPerPixel", 1) or 1)
    if n == 1:
        arr = arr[None]
    if arr.ndim != (4 if spp == 3 else 3) or arr.shape[0] != n:
        raise InputError("pixels-undecodable: frame layout does not match the header")
    pi = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    if spp == 3 and pi.startswith("YBR"):
        pi = "RGB"  # pydicom converts YBR to RGB on decode
    return Pixels(ds, np.asarray(arr), pi, ts)


def encode(f: RawFile, px: Pixels, frames: np.ndarray, burned_in_no: bool) -> str:
    """Store `frames` as the file's pixel data; returns the output transfer syntax."""
    import pydicom

    ds = px.ds
    target = TARGET.get(px.transfer_syntax, px.transfer_syntax if px.transfer_syntax in UNCOMPRESSED else EXPLICIT_LE)
    ds.PhotometricInterpretation = px.photometric
    if px.color:
        ds.PlanarConfiguration = 0
    if burned_in_no:
        ds.BurnedInAnnotation = "NO"
    arr = frames if frames.shape[0] > 1 else frames[0]
    with quiet_pydicom():
        try:
            if target in UNCOMPRESSED:
                _store_native(ds, arr)
                ds.file_meta.TransferSyntaxUID = target
            else:
                ds.compress(target, arr, generate_instance_uid=False)
            buf = io.BytesIO()
            pydicom.dcmwrite(buf, ds, enforce_file_format=True)
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"pixels-encode-failed: {_name(target)} ({type(exc).__name__})") from None
    new = parse_part10(buf.getvalue(), lambda uid: True)
    replace = [e for e in new.elems if e.tag >> 16 == 0x0028 or e.tag == PIXEL_DATA]
    drop = {e.tag for e in replace} | {PIXEL_DATA} | {e.tag for e in f.elems if e.tag >> 16 == 0x0028}
    f.elems = sorted([e for e in f.elems if e.tag not in drop] + replace, key=lambda e: e.tag)
    if target != f.transfer_syntax:
        f.transfer_syntax, f.explicit = target, target != "1.2.840.10008.1.2"
    return target


def _store_native(ds: Any, arr: np.ndarray) -> None:
    bits = int(ds.BitsAllocated)
    if bits == 1:
        from pydicom.pixels.utils import pack_bits

        data = pack_bits(arr)
    else:
        signed = int(ds.get("PixelRepresentation", 0)) == 1
        dtype = {8: "i1" if signed else "u1", 16: "<i2" if signed else "<u2", 32: "<i4" if signed else "<u4"}.get(bits)
        if dtype is None:
            raise InputError(f"pixels-encode-failed: BitsAllocated {bits} not supported")
        data = arr.astype(dtype).tobytes()
    if len(data) % 2:
        data += b"\x00"
    ds.PixelData = data
    ds["PixelData"].VR = "OB" if bits <= 8 else "OW"


def set_burned_in_no(f: RawFile) -> None:
    """Burned In Annotation = NO, on a file whose pixels needed no change (byte-identical)."""
    f.elems = sorted(
        [e for e in f.elems if e.tag != T_BURNED_IN] + [Elem.new(T_BURNED_IN, "CS", b"NO")], key=lambda e: e.tag
    )


def _name(uid: str) -> str:
    try:
        from pydicom.uid import UID

        return UID(uid).name
    except Exception:
        return "unknown transfer syntax"


def header_info(h: Header) -> dict[str, Any]:
    """The device signature device region rules key on (pixels/regions.py), and the size."""
    info: dict[str, Any] = {
        kw: h.text(tag).strip()
        for kw, tag in (
            ("Modality", 0x00080060),
            ("Manufacturer", 0x00080070),
            ("ManufacturerModelName", 0x00081090),
            ("ImageType", 0x00080008),
        )
    }
    for kw, tag in (("Rows", 0x00280010), ("Columns", 0x00280011)):
        el = h.by_tag.get(tag)
        info[kw] = int.from_bytes(el.value[:2], "little") if el is not None and el.length >= 2 else 0
    return info


def us_regions(f: RawFile) -> list[tuple[int, int, int, int]]:
    """RegionLocationMinX0/MinY0/MaxX1/MaxY1 of each SequenceOfUltrasoundRegions item."""
    seq = next((e for e in f.elems if e.tag == T_US_REGIONS and e.items is not None), None)
    out = []
    for item in (seq.items or []) if seq else []:
        vals = {
            e.tag: int.from_bytes(e.value[:4], "little")
            for e in item
            if e.tag in (0x00186018, 0x0018601A, 0x0018601C, 0x0018601E) and e.length >= 4
        }
        if len(vals) == 4:
            out.append((vals[0x00186018], vals[0x0018601A], vals[0x0018601C], vals[0x0018601E]))
    return out


def clean_pixels(
    f: RawFile, before: Header, pp: PixelPolicy, pseudo: Pseudonymizer, preview: bool = False
) -> PixelOutcome:
    """Burned-in text removal for one DICOM file, after the header step, on the same
    RawFile, with the *input* header (identity values to look for, device signature).
    Pixel data that needs no change is left byte-identical."""
    from ..pixels.cleaner import FrameCleaner
    from ..pixels.regions import device_boxes, outside_regions
    from ..pixels.stage import previews, redact_frames
    from .operators import IdentityValues

    out = PixelOutcome()
    info = header_info(before)
    mode = PixelMode(pp.mode_for(info["Modality"]))
    if mode == PixelMode.OFF or not has_pixels(f.elems):
        return out
    h, w = info["Rows"], info["Columns"]
    identity = IdentityValues(before.pixel_identity_values()) if mode == PixelMode.REDACT_PHI else None
    cleaner = FrameCleaner(pp, mode, identity)
    rule_boxes = device_boxes(info, w, h) if pp.device_regions else []
    outside = outside_regions(us_regions(f), w, h) if pp.blank_outside_us_regions else None
    if not cleaner.detectors and not rule_boxes and outside is None:
        return out  # regions-only and no rule applies: nothing to decode
    px = decode(f)
    if px.frames.shape[1:3] != (h, w):
        raise InputError("pixels-undecodable: decoded frame size does not match Rows/Columns")
    frames = Frames(px.frames, px.hints)
    done = redact_frames(
        frames,
        pp,
        mode,
        pseudo,
        identity,
        rule_boxes=rule_boxes,
        outside=outside,
        modality=info["Modality"],
        cleaner=cleaner,
    )
    out.events = done.events
    if done.changed and px.frames.dtype.kind == "f":
        # scanned, and text was found; there is no encoder for Float Pixel Data here, and
        # the file must not go out with the text in it
        raise InputError("pixels-float-unsupported: text found in Float Pixel Data, which deid cannot re-encode")
    if done.changed:
        encode(f, px, done.frames, burned_in_no=mode.finds_text)
    elif mode.finds_text:
        set_burned_in_no(f)
    out.counts = done.counts
    if preview:
        out.previews = previews(done.frames, frames.hints, done.per_frame)
    return out
