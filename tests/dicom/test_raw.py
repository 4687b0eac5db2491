"""The byte-level reader/writer: what passes through untouched, what is walked, what fails closed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ImplicitVRLittleEndian

from deid.dicom.deidentify import deidentify_bytes
from deid.dicom.raw import parse_part10
from deid.errors import InputError
from deid.pseudonym import Pseudonymizer
from helpers import make_ds, pipeline, read, to_bytes

TEST_FILES = Path(os.path.dirname(pydicom.__file__)) / "data" / "test_files"


def deid(data: bytes, options=()) -> bytes:
    pipe = pipeline(options)
    return deidentify_bytes(data, pipe.dicom, Pseudonymizer(b"k" * 32), "t")[0]


PIXELS = b"".join((v * 200).to_bytes(2, "little") for v in range(16))  # all within Bits Stored


def _with_pixels(ds: Dataset) -> Dataset:
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 4, 4, 16, 12, 11
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PixelRepresentation = 1, "MONOCHROME2", 0
    ds.PixelData = PIXELS
    return ds


def test_implicit_vr_stays_implicit_and_is_cleaned():
    ds = _with_pixels(make_ds(name="IMPLICIT^PATIENT", InstitutionName="NORTH WARD HOSPITAL"))
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    out = deid(to_bytes(ds))
    got = read(out)
    assert got.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian
    assert b"IMPLICIT" not in out and b"NORTH WARD" not in out
    assert got.PixelData == PIXELS and got.Rows == 4


def test_kept_elements_are_copied_byte_for_byte():
    ds = _with_pixels(make_ds(ImageType=["ORIGINAL", "PRIMARY", "AXIAL"], SliceThickness="1.25"))
    data = to_bytes(ds)
    f = parse_part10(data, lambda ts: True)
    kept = {e.tag: data[e.start : e.end] for e in f.elems if e.tag in (0x00080008, 0x00180050, 0x7FE00010)}
    out = deid(data)
    assert len(kept) == 3
    for raw in kept.values():
        assert raw in out


def test_sequence_stored_as_un_with_implicit_content_is_walked():
    """PS3.5 6.2.2: an SQ written as UN holds implicit VR little endian items."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    inner = Dataset()
    inner.PatientName = "NESTED^IMPLICIT"
    inner.CodeValue = "T-12345"
    buf = DicomBytesIO()
    buf.is_little_endian, buf.is_implicit_VR = True, True
    write_dataset(buf, inner)
    item = b"\xfe\xff\x00\xe0" + len(buf.getvalue()).to_bytes(4, "little") + buf.getvalue()
    elem = b"\x08\x00\x18\x22UN\x00\x00" + len(item).to_bytes(4, "little") + item  # AnatomicRegionSequence
    data = to_bytes(make_ds())
    at = data.index(b"\x10\x00\x10\x00PN")  # PatientName, the first element after (0008,2218)
    out = deid(data[:at] + elem + data[at:])
    assert b"NESTED" not in out
    got = read(out)
    assert got.AnatomicRegionSequence[0].CodeValue == "T-12345"


def test_encapsulated_pixel_data_passes_through_unchanged():
    src = TEST_FILES / "JPEG2000.dcm"
    before = pydicom.dcmread(src)
    out = deid(src.read_bytes())
    after = read(out)
    assert after.file_meta.TransferSyntaxUID == before.file_meta.TransferSyntaxUID
    assert after.PixelData == before.PixelData
    assert after.PatientIdentityRemoved == "YES"


@pytest.mark.parametrize("cut", ["nested", "pixel"])
def test_truncation_inside_a_sequence_or_pixels_fails_closed(cut):
    inner = Dataset()
    inner.CodeValue = "X" * 40
    ds = _with_pixels(make_ds())
    ds.AnatomicRegionSequence = Sequence([inner])
    data = to_bytes(ds)
    at = data.index(b"X" * 40) + 10 if cut == "nested" else len(data) - 7
    with pytest.raises(InputError) as err:
        deid(data[:at])
    assert str(err.value).startswith(("truncated", "unreadable"))


def test_invalid_vr_fails_closed():
    data = to_bytes(make_ds(StudyDescription="ABCD"))
    i = data.index(b"\x08\x00\x30\x10LO")  # StudyDescription
    with pytest.raises(InputError):
        deid(data[: i + 4] + b"l0" + data[i + 6 :])


def test_header_path_does_not_import_pydicom(tmp_path):
    """Importing pydicom (and numpy) costs more than de-identifying a hundred headers:
    the common path (little-endian, ASCII values) must not need it when pixels are not
    cleaned (pixels: off, or objects without Pixel Data)."""
    p = tmp_path / "a.dcm"
    p.write_bytes(to_bytes(_with_pixels(make_ds())))
    code = (
        "import sys\n"
        "from deid.core import Context, Item\n"
        "from deid.dicom.handler import DicomHandler\n"
        "from deid.policy import build_pipeline\n"
        "from deid.pseudonym import Pseudonymizer\n"
        "pipe = build_pipeline({'dicom': {'options': ['retain_long_modified_dates', 'clean_descriptors']},"
        " 'pixels': {'mode': 'off'}}, 't')\n"
        f"r = DicomHandler().process(Item({str(p)!r}, 'a.dcm'), Context(pipe,"
        " Pseudonymizer(b'k' * 32)))\n"
        "assert r.status == 'ok', r.reason\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydicom', 'numpy')))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "[]"


def test_trailing_padding_is_removed():
    ds = make_ds()
    ds.add_new(0xFFFCFFFC, "OB", b"STALE-BYTES-FROM-AN-EARLIER-EXPORT")
    out = deid(to_bytes(ds))
    assert b"STALE-BYTES" not in out
