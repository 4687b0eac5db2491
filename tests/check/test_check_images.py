"""`deid check --pixels` on plain images (PNG/JPEG) and on DICOM overlay planes: text that
identifies someone is a finding at its box; images without it are clean."""
from __future__ import annotations

import json

import numpy as np
import pydicom
import pytest
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from deid.check.pixels import overlay_planes
from deid.cli import app
from deid.dicom.io import read_file
from helpers import make_ds, write

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
runner = CliRunner()


def _text_image(text: str, size=(640, 200)) -> np.ndarray:
    img = Image.new("L", size, 20)
    ImageDraw.Draw(img).text((30, 80), text, fill=235, font=ImageFont.truetype(FONT, 28))
    return np.asarray(img)


def _check(*args):
    res = runner.invoke(app, ["check", *map(str, args), "--format", "json"])
    return res, [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]


def test_png_and_jpeg_with_a_phone_number_are_findings_only_with_pixels(tmp_path):
    Image.fromarray(_text_image("Tel 13812345678")).save(tmp_path / "photo.png")
    Image.fromarray(_text_image("Tel 13987654321")).convert("RGB").save(tmp_path / "scan.jpg", quality=95)
    Image.fromarray(_text_image("")).save(tmp_path / "blank.png")
    res, rows = _check(tmp_path, "--pixels")
    assert res.exit_code == 1
    found = {(r["file"], r["category"]) for r in rows}
    assert found == {("photo.png", "phone"), ("scan.jpg", "phone")}
    assert all(r["location"].startswith("pixels.frame[0].box[") for r in rows)
    assert "1381234" not in res.stdout and "1398765" not in res.stdout
    res, rows = _check(tmp_path)
    assert (res.exit_code, rows) == (0, [])
    assert "3 PNG/JPEG images not read (add --pixels)" in res.stderr


def test_an_image_that_cannot_be_decoded_is_a_finding(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    res, rows = _check(tmp_path, "--pixels")
    assert res.exit_code == 1
    assert rows == [{"file": "broken.png", "location": "<file>", "category": "unreadable",
                     "rule": "check:image-undecodable", "excerpt": ""}]


def _with_overlay(path, text: str):
    """A de-identified-looking CT whose overlay plane (6000,3000) carries `text`."""
    rows, cols = 200, 640
    ds = make_ds(PatientName="P-0123456789AB", PatientID="P-0123456789AB", PatientIdentityRemoved="YES")
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = rows, cols, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = np.full((rows, cols), 400, np.uint16).tobytes()
    bits = (_text_image(text, (cols, rows)) > 127).astype(np.uint8)
    ds.add_new(0x60000010, "US", rows)
    ds.add_new(0x60000011, "US", cols)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60003000, "OW", np.packbits(bits.ravel(), bitorder="little").tobytes())
    for tag in ("PatientBirthDate", "StudyDate"):
        delattr(ds, tag)
    return write(ds, path)


def test_overlay_planes_unpack_in_little_endian_bit_order(tmp_path):
    p = _with_overlay(tmp_path / "o.dcm", "DOE JOHN")
    [(group, plane)] = overlay_planes(read_file(p.read_bytes()).elems)
    expect = _text_image("DOE JOHN", (640, 200)) > 127
    assert group == 0x6000 and np.array_equal(plane > 0, expect)


def test_text_in_an_overlay_is_a_finding(tmp_path):
    _with_overlay(tmp_path / "named.dcm", "DOE JOHN 4711")
    _with_overlay(tmp_path / "empty.dcm", "")
    res, rows = _check(tmp_path, "--pixels")
    assert res.exit_code == 1
    overlay = [r for r in rows if r["category"] == "overlay-text"]
    assert overlay and {r["file"] for r in overlay} == {"named.dcm"}
    assert all(r["location"].startswith("overlay(6000,3000).box[") for r in overlay)
    assert not [r for r in rows if r["file"] == "empty.dcm"]
    assert "DOE" not in res.stdout
    assert pydicom.dcmread(tmp_path / "named.dcm").get((0x6000, 0x3000)) is not None  # nothing was changed
