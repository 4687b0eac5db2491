"""`deid check --pixels` on plain images (PNG/JPEG) and on DICOM overlay planes: text that
identifies someone is a finding at its box; images without it are clean."""

from __future__ import annotations

import json

import numpy as np
import pydicom
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from deid.cli import app
from deid.dicom.findings import overlay_planes
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
    assert [(r["file"], r["location"], r["category"]) for r in rows] == [("broken.png", "<file>", "unreadable")]
    assert rows[0]["rule"].startswith("check:image-undecodable")


def test_a_crafted_png_header_is_a_finding_not_a_crash(tmp_path):
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 0, 0, 0, 0)
    (tmp_path / "bomb.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")
    )
    Image.fromarray(_text_image("Tel 13812345678")).save(tmp_path / "after.png")
    res, rows = _check(tmp_path, "--pixels")
    assert res.exit_code == 1 and (res.exception is None or isinstance(res.exception, SystemExit))
    assert {(r["file"], r["category"]) for r in rows} == {("bomb.png", "unreadable"), ("after.png", "phone")}


def test_dark_text_on_a_transparent_background_is_read(tmp_path):
    rgba = Image.new("RGBA", (640, 200), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).text((30, 80), "Tel 13812345678", fill=(0, 0, 0, 255), font=ImageFont.truetype(FONT, 28))
    rgba.save(tmp_path / "rgba.png")
    rgba.convert("LA").save(tmp_path / "la.png")
    res, rows = _check(tmp_path, "--pixels")
    assert {(r["file"], r["category"]) for r in rows} == {("rgba.png", "phone"), ("la.png", "phone")}


def test_a_16_bit_png_with_one_hot_pixel_is_still_read(tmp_path):
    deep = _text_image("Tel 13812345678").astype(np.uint16) * 16  # 12-bit range
    deep[0, 0] = 65535
    Image.fromarray(deep).save(tmp_path / "deep.png")
    res, rows = _check(tmp_path, "--pixels")
    assert [(r["file"], r["category"]) for r in rows] == [("deep.png", "phone")]


def test_identifiers_in_image_metadata_are_findings(tmp_path):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "call 13812345678")
    info.add_text("Software", "synthetic scanner 1.0")
    Image.fromarray(_text_image("")).save(tmp_path / "meta.png", pnginfo=info)
    exif = Image.Exif()
    exif[0x013B] = "SYNTHETIC PHOTOGRAPHER"
    Image.fromarray(_text_image("")).convert("RGB").save(tmp_path / "meta.jpg", exif=exif)
    res, rows = _check(tmp_path, "--pixels")
    got = {(r["file"], r["location"].split("[")[0], r["category"]) for r in rows}
    assert got == {("meta.png", "metadata.Comment", "phone"), ("meta.jpg", "metadata.exif.Artist", "identity")}
    assert "SYNTHETIC PHOTOGRAPHER" not in res.stdout and "13812345678" not in res.stdout


def test_a_free_text_png_keyword_is_scanned_and_never_named_in_the_location(tmp_path):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Patient ZHANG 13812345678", "x")
    Image.fromarray(_text_image("")).save(tmp_path / "k.png", pnginfo=info)
    res, rows = _check(tmp_path, "--pixels")
    assert [(r["location"].split("[", 2)[:2], r["category"]) for r in rows] == [
        (["metadata.text", "0].keyword"], "phone")
    ]
    assert "ZHANG" not in res.stdout and "13812345678" not in res.stdout


def test_a_unicode_exif_user_comment_is_decoded(tmp_path):
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + "Tel 13812345678".encode("utf-16-le")
    Image.fromarray(_text_image("")).convert("RGB").save(tmp_path / "c.jpg", exif=exif)
    res, rows = _check(tmp_path, "--pixels")
    assert [(r["location"].split("[")[0], r["category"]) for r in rows] == [("metadata.exif.UserComment", "phone")]


def test_text_in_a_later_animation_frame_is_found(tmp_path):
    first, second = Image.fromarray(_text_image("")), Image.fromarray(_text_image("Tel 13812345678"))
    first.save(tmp_path / "anim.png", save_all=True, append_images=[second])
    res, rows = _check(tmp_path, "--pixels")
    assert {(r["location"].split(".box")[0], r["category"]) for r in rows} == {("pixels.frame[1]", "phone")}


def _with_overlay(path, *texts: str):
    """A de-identified-looking CT whose overlay plane (6000,3000) has one frame per text."""
    rows, cols = 200, 640
    ds = make_ds(PatientName="P-0123456789AB", PatientID="P-0123456789AB", PatientIdentityRemoved="YES")
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = rows, cols, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = np.full((rows, cols), 400, np.uint16).tobytes()
    bits = np.stack([(_text_image(t, (cols, rows)) > 127) for t in texts]).astype(np.uint8)
    ds.add_new(0x60000010, "US", rows)
    ds.add_new(0x60000011, "US", cols)
    if len(texts) > 1:
        ds.add_new(0x60000015, "IS", f"{len(texts)}.0")  # as some writers put it
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60003000, "OW", np.packbits(bits.ravel(), bitorder="little").tobytes())
    for tag in ("PatientBirthDate", "StudyDate"):
        delattr(ds, tag)
    return write(ds, path)


def test_overlay_planes_unpack_as_pydicom_reads_them(tmp_path):
    p = _with_overlay(tmp_path / "o.dcm", "DOE JOHN")
    [(group, frames)] = overlay_planes(read_file(p.read_bytes()).elems)
    assert group == 0x6000 and frames.shape == (1, 200, 640)
    assert np.array_equal(frames[0] > 0, pydicom.dcmread(p).overlay_array(0x6000) > 0)


def test_text_in_an_overlay_is_a_finding(tmp_path):
    _with_overlay(tmp_path / "named.dcm", "DOE JOHN 4711")
    _with_overlay(tmp_path / "empty.dcm", "")
    before = (tmp_path / "named.dcm").read_bytes()
    res, rows = _check(tmp_path, "--pixels")
    assert res.exit_code == 1
    overlay = [r for r in rows if r["category"] == "overlay-text"]
    assert overlay and {r["file"] for r in overlay} == {"named.dcm"}
    assert all(r["location"].startswith("overlay(6000,3000).frame[0].box[") for r in overlay)
    assert not [r for r in rows if r["file"] == "empty.dcm"]
    assert "DOE" not in res.stdout
    assert (tmp_path / "named.dcm").read_bytes() == before  # check writes nothing


def test_text_in_a_later_overlay_frame_is_found(tmp_path):
    _with_overlay(tmp_path / "multi.dcm", "", "DOE JOHN 4711")
    res, rows = _check(tmp_path, "--pixels")
    assert res.exit_code == 1
    assert {r["location"].split(".box")[0] for r in rows if r["category"] == "overlay-text"} == {
        "overlay(6000,3000).frame[1]"
    }
