"""Pixel data in and out of a RawFile: decode every frame, encode redacted frames back.

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

import numpy as np

from ..dicom.io import EXPLICIT_LE, META_TS, UNCOMPRESSED, quiet_pydicom, uid_bytes
from ..dicom.raw import FLOAT_PIXEL_DATA, PIXEL_DATA, Elem, RawFile, parse_part10, write_part10
from ..errors import InputError

RLE = "1.2.840.10008.1.2.5"
J2K_LOSSLESS, J2K = "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"
JLS_LOSSLESS, JLS_NEAR = "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"
# syntax of the input -> syntax of a redacted output
TARGET = {RLE: RLE, J2K_LOSSLESS: J2K_LOSSLESS, J2K: J2K_LOSSLESS, JLS_LOSSLESS: JLS_LOSSLESS,
          JLS_NEAR: JLS_LOSSLESS}
T_BURNED_IN = 0x00280301


@dataclass
class Pixels:
    ds: object                 # pydicom Dataset of the Image Pixel attributes
    frames: np.ndarray         # (n, rows, cols) or (n, rows, cols, 3), stored values
    photometric: str           # of `frames` (YBR inputs are decoded to RGB)
    transfer_syntax: str

    @property
    def color(self) -> bool:
        return self.frames.ndim == 4


def _subset(f: RawFile) -> list[Elem]:
    return [e for e in f.elems if e.tag >> 16 == 0x0028 or e.tag in (0x00080016, 0x00080018, PIXEL_DATA)
            or e.tag in FLOAT_PIXEL_DATA]


J2K_SYNTAXES = (J2K_LOSSLESS, J2K, "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202",
                "1.2.840.10008.1.2.4.203")
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
        length = int.from_bytes(fragment[offset:offset + 4], "big")
        if fragment[offset + 4:offset + 8] == b"jp2c":
            return
        if length == 1 and offset + 16 <= len(fragment):  # XLBox: the length in the next 8 bytes
            length = int.from_bytes(fragment[offset + 8:offset + 16], "big")
        if length < 8:
            raise InputError("pixels-undecodable: JPEG 2000 frame with a box of invalid length")
        offset += length


def _first_fragments(pixel_data: bytes, limit: int = 4096) -> list[bytes]:
    """The start of each fragment of encapsulated Pixel Data (Basic Offset Table skipped),
    at most `limit` fragments: enough to see a JP2 header."""
    out, pos = [], 0
    while pos + 8 <= len(pixel_data) and len(out) <= limit:
        tag, length = pixel_data[pos:pos + 4], int.from_bytes(pixel_data[pos + 4:pos + 8], "little")
        if tag != b"\xfe\xff\x00\xe0":  # not an Item: the sequence delimiter, or damage
            break
        out.append(pixel_data[pos + 8:pos + 8 + length])
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
    target = TARGET.get(px.transfer_syntax, px.transfer_syntax if px.transfer_syntax in UNCOMPRESSED
                        else EXPLICIT_LE)
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


def _store_native(ds, arr: np.ndarray) -> None:
    bits = int(ds.BitsAllocated)
    if bits == 1:
        from pydicom.pixels.utils import pack_bits

        data = pack_bits(arr)
    else:
        signed = int(ds.get("PixelRepresentation", 0)) == 1
        dtype = {8: "i1" if signed else "u1", 16: "<i2" if signed else "<u2",
                 32: "<i4" if signed else "<u4"}.get(bits)
        if dtype is None:
            raise InputError(f"pixels-encode-failed: BitsAllocated {bits} not supported")
        data = arr.astype(dtype).tobytes()
    if len(data) % 2:
        data += b"\x00"
    ds.PixelData = data
    ds["PixelData"].VR = "OB" if bits <= 8 else "OW"


def set_burned_in_no(f: RawFile) -> None:
    """Burned In Annotation = NO, on a file whose pixels needed no change (byte-identical)."""
    f.elems = sorted([e for e in f.elems if e.tag != T_BURNED_IN] + [Elem.new(T_BURNED_IN, "CS", b"NO")],
                     key=lambda e: e.tag)


def _name(uid: str) -> str:
    try:
        from pydicom.uid import UID

        return UID(uid).name
    except Exception:
        return "unknown transfer syntax"
