"""Bits of native Pixel Data outside Bits Stored (where retired overlays lived): `deid check`
finds them, `deid run` writes them canonical (zero, or the sign extension) without changing
any pixel value a reader that honours Bits Stored sees."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from deid.core import Context, Item
from deid.dicom.bits import stray_bits
from deid.dicom.findings import check_dicom
from deid.dicom.handler import DicomHandler
from deid.dicom.io import read_file
from deid.policy import build_pipeline
from deid.pseudonym import Pseudonymizer
from helpers import make_ds, read, to_bytes

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
OFF = build_pipeline({"name": "t", "pixels": {"mode": "off"}}, "t")


def _image(values: np.ndarray, stored: int, signed: bool = False, high: int | None = None, allocated: int = 16):
    ds = make_ds()
    ds.Rows, ds.Columns = values.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = allocated, stored, stored - 1 if high is None else high
    ds.PixelRepresentation = int(signed)
    ds.PixelData = values.tobytes()
    return to_bytes(ds)


def _name_in_bit(bit: int, base: np.ndarray) -> np.ndarray:
    layer = Image.new("L", base.shape[::-1], 0)
    ImageDraw.Draw(layer).text((10, 20), "DOE JOHN", fill=255, font=ImageFont.truetype(FONT, 24))
    return base | ((np.asarray(layer) > 127).astype(base.dtype) << bit)


def _run(tmp_path, data: bytes, pipe=OFF):
    p = tmp_path / "in.dcm"
    p.write_bytes(data)
    return DicomHandler().process(Item(str(p), "in.dcm"), Context(pipe, Pseudonymizer(b"k" * 32)))


def test_a_name_in_the_high_bits_is_found_and_cleared(tmp_path):
    rng = np.random.default_rng(3)
    base = rng.integers(0, 4096, (64, 200)).astype("<u2")
    data = _image(_name_in_bit(15, base), stored=12)
    found = check_dicom(data, "in.dcm")
    assert [f.category for f in found if f.location == "PixelData"] == ["pixel-unused-bits"]
    res = _run(tmp_path, data)
    assert res.status == "ok", res.reason
    out = np.frombuffer(read(res.data).PixelData, "<u2")
    assert not (out & 0xF000).any()
    assert np.array_equal(out, base.ravel())  # every stored value as it was
    assert [(e.location, e.action, e.category) for e in res.events if e.rule_id == "deid:unused-pixel-bits"] == [
        ("PixelData", "clean", "graphics")
    ]
    assert not [f for f in check_dicom(res.data, "out.dcm") if f.location == "PixelData"]


def test_sign_extended_pixels_are_canonical_and_left_byte_identical(tmp_path):
    vals = np.array([[-2048, -1, 0, 2047]] * 4, "<i2")  # 12-bit signed, sign-extended to 16
    data = _image(vals, stored=12, signed=True)
    assert stray_bits(read_file(data)) == 0
    res = _run(tmp_path, data)
    assert read(res.data).PixelData == vals.tobytes()


def test_signed_pixels_with_junk_high_bits_get_the_sign_extension(tmp_path):
    vals = np.array([[-2048, -1, 0, 2047]] * 4, "<i2")
    junk = (vals.view("<u2") & 0x0FFF) | 0x5000  # high nibble overwritten
    data = _image(junk.astype("<u2"), stored=12, signed=True)
    assert stray_bits(read_file(data)) == 16
    res = _run(tmp_path, data)
    assert np.array_equal(np.frombuffer(read(res.data).PixelData, "<i2"), vals.ravel())
    assert np.array_equal(read(res.data).pixel_array, read(data).pixel_array)  # readers that mask see no change


def test_eight_bit_allocated_six_stored_goes_through_the_general_path(tmp_path):
    base = np.arange(64, dtype=np.uint8).reshape(8, 8) % 64
    data = _image(base | 0x80, stored=6, allocated=8)
    assert stray_bits(read_file(data)) == 64
    res = _run(tmp_path, data)
    assert np.array_equal(np.frombuffer(read(res.data).PixelData, np.uint8)[:64], base.ravel())


def test_a_layout_deid_cannot_rewrite_is_quarantined(tmp_path):
    base = np.full((8, 8), 0x0FF0, "<u2")  # stored in bits 4..15 (High Bit 15, 12 stored)
    data = _image(base | 0x0001, stored=12, high=15)
    res = _run(tmp_path, data)
    assert res.status == "quarantined" and res.reason.startswith("pixels-unused-bits:")


def test_keep_overlays_keeps_them(tmp_path):
    pipe = build_pipeline({"name": "t", "pixels": {"mode": "off"}, "dicom": {"keep_overlays": True}}, "t")
    data = _image(np.full((8, 8), 0x8001, "<u2"), stored=12)
    res = _run(tmp_path, data, pipe)
    assert read(res.data).PixelData == np.full((8, 8), 0x8001, "<u2").tobytes()


def test_every_frame_in_the_buffer_is_cleaned_whatever_number_of_frames_says(tmp_path):
    frames = np.zeros((2, 8, 8), "<u2")
    frames[1] |= 0x8000  # only the second frame carries hidden bits
    ds = make_ds()
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.add_new(0x00280008, "IS", "2.0")
    ds.PixelData = frames.tobytes()
    data = to_bytes(ds)
    assert stray_bits(read_file(data)) == 64
    res = _run(tmp_path, data)
    assert not (np.frombuffer(read(res.data).PixelData, "<u2") & 0xF000).any()


def test_a_high_bit_that_does_not_fit_is_quarantined_and_check_keeps_its_other_findings(tmp_path):
    data = _image(np.zeros((8, 8), "<u2"), stored=12, high=3)  # High Bit below Bits Stored - 1
    res = _run(tmp_path, data)
    assert res.status == "quarantined" and res.reason.startswith("pixels-bad-high-bit:")
    found = check_dicom(data, "in.dcm")
    assert ("PixelData", "pixel-unused-bits") in {(f.location, f.category) for f in found}
    assert "identity" in {f.category for f in found}  # the header findings are still there
