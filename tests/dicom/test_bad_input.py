"""Bad input gets a clear reason and nothing leaks: wrong charsets, huge private blocks, junk files."""

from __future__ import annotations

import pytest
from pydicom.dataelem import RawDataElement  # noqa: F401  (documents what the reader yields)

from deid.core import Context, Item
from deid.dicom.handler import DicomHandler
from deid.policy import load_pipeline
from deid.pseudonym import Pseudonymizer
from helpers import make_ds, read, to_bytes

NAME_GB = "李^建国".encode("gb18030")


def _run(tmp_path, data: bytes, pipe="dicom-research"):
    p = tmp_path / "in.dcm"
    p.write_bytes(data)
    return DicomHandler().process(Item(str(p), "in.dcm"), Context(load_pipeline(pipe), Pseudonymizer(b"k" * 32)))


def test_gb18030_bytes_under_a_latin1_declaration_still_removed(tmp_path):
    ds = make_ds(SpecificCharacterSet="ISO_IR 100", name="PLACEHOLDER^NAME", StudyDescription="PLACEHOLDER CT")
    data = to_bytes(ds)
    # put GB18030 bytes where the file says Latin-1 (a common HIS export bug); same length swap
    data = data.replace(b"PLACEHOLDER^NAME", NAME_GB + b" " * (16 - len(NAME_GB)))
    res = _run(tmp_path, data)
    assert res.status == "ok", res.reason
    assert NAME_GB not in res.data and "建国".encode("gb18030") not in res.data


def test_huge_private_block_is_removed(tmp_path):
    ds = make_ds()
    blk = ds.private_block(0x0029, "BIG VENDOR BLOB", create=True)
    blk.add_new(0x10, "OB", b"\x01PHI-IN-BLOB" * (2 * 1024 * 1024 // 12))  # ~2 MB
    for i in range(0x11, 0xFF):
        blk.add_new(i, "LO", f"VALUE{i}")
    res = _run(tmp_path, to_bytes(ds))
    assert res.status == "ok"
    assert b"PHI-IN-BLOB" not in res.data and b"BIG VENDOR" not in res.data
    assert len(res.data) < 4096


@pytest.mark.parametrize(
    "data,code",
    [
        (b"", "not-dicom"),
        (b"hello, this is not DICOM at all" * 10, "not-dicom"),
        (b"\x00" * 128 + b"DICM", "truncated"),
        (b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\x40\x00" + b"1.2", "unreadable"),
    ],
)
def test_junk_is_quarantined_with_a_reason(tmp_path, data, code):
    res = _run(tmp_path, data)
    assert res.status == "quarantined"
    assert res.reason.split(":")[0] in {code, "not-dicom", "unreadable", "truncated", "not-composite"}
    assert res.data is None


def test_truncated_in_the_middle_is_quarantined(tmp_path):
    ds = make_ds(StudyDescription="x" * 40)
    ds.PixelData = b"\x00\x01" * 4096
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 64, 64, 16, 16, 15
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PixelRepresentation = 1, "MONOCHROME2", 0
    data = to_bytes(ds)
    for cut in (len(data) - 1, len(data) // 2, 400):
        res = _run(tmp_path, data[:cut])
        assert res.status == "quarantined", cut
        assert res.reason.startswith(("truncated", "unreadable", "not-composite")), res.reason


def test_reasons_never_quote_values(tmp_path):
    ds = make_ds(name="SECRETNAME^X")
    data = to_bytes(ds)
    res = _run(tmp_path, data[: len(data) - 5])
    assert "SECRETNAME" not in res.reason


def test_pixel_data_bytes_untouched(tmp_path):
    ds = make_ds()
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 16, 12, 11
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PixelRepresentation = 1, "MONOCHROME2", 0
    pixels = b"".join((v * 61).to_bytes(2, "little") for v in range(64))  # all within Bits Stored
    ds.PixelData = pixels
    res = _run(tmp_path, to_bytes(ds))
    assert read(res.data).PixelData == pixels


def test_sequence_stored_as_un_is_still_walked(tmp_path):
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    inner = Dataset()
    inner.PatientName = "HIDDEN^INSIDE"
    ds = make_ds(PatientAge="097Y")
    ds.AnatomicRegionSequence = Sequence([inner])
    data = to_bytes(ds)
    # store the sequence and the age as UN, as a PACS that did not know them would
    data = data.replace(b"\x08\x00\x18\x22SQ", b"\x08\x00\x18\x22UN").replace(
        b"\x10\x00\x10\x10AS\x04\x00", b"\x10\x00\x10\x10UN\x00\x00\x04\x00\x00\x00"
    )
    res = _run(tmp_path, data)
    assert res.status == "ok", res.reason
    assert b"HIDDEN" not in res.data and b"097Y" not in res.data


def test_length_overrun_into_a_name_is_quarantined(tmp_path):
    ds = make_ds(Modality="CT")
    data = to_bytes(ds)
    i = data.index(b"\x08\x00\x60\x00CS\x02\x00")  # Modality, length 2
    data = data[: i + 6] + b"\x40\x00" + data[i + 8 :]  # now it swallows the next 64 bytes
    res = _run(tmp_path, data)
    assert res.status == "quarantined"
