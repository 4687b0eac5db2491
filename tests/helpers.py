"""Builders shared by tests. Every value here is synthetic."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from deid.policy import build_pipeline

REPO = Path(__file__).resolve().parent.parent
PRESIDIO = REPO / "tests" / "data" / "presidio"  # MIT, see its SOURCE.md
KEY = b"test-key-0123456789abcdef-0123456789"


def pipeline(options=(), overrides=(), **dicom):
    return build_pipeline(
        {"name": "test", "dicom": {"options": list(options), "overrides": list(overrides), **dicom}}, "test"
    )


def make_ds(
    patient_id="PID-1001", name="DOE^JANE", study_uid=None, sop_uid=None, sop_class="1.2.840.10008.5.1.4.1.1.2", **extra
) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid or generate_uid()
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = name
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19700412"
    ds.StudyDate = "20240102"
    ds.StudyTime = "101500"
    ds.Modality = "CT"
    for k, v in extra.items():
        setattr(ds, k, v)
    return ds


def to_bytes(ds: Dataset) -> bytes:
    """Part 10 bytes; written by hand so probes may carry command-group (0000) elements."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset, write_file_meta_info

    meta = ds.file_meta
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    buf = DicomBytesIO()
    buf.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(buf, meta, enforce_standard=True)
    body = DicomBytesIO()
    body.is_little_endian, body.is_implicit_VR = True, meta.TransferSyntaxUID == "1.2.840.10008.1.2"
    write_dataset(body, ds)
    return buf.getvalue() + body.getvalue()


def write(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_bytes(ds))
    return path


def read(path_or_bytes) -> Dataset:
    if isinstance(path_or_bytes, (bytes, bytearray)):
        return pydicom.dcmread(io.BytesIO(path_or_bytes))
    return pydicom.dcmread(path_or_bytes)


def deidentify_samples(root: Path) -> Path:
    """sample_data's images and records de-identified together by `deid run -p records`
    (one run, so records and images share pseudonyms); returns the output folder."""
    import shutil

    from typer.testing import CliRunner

    from deid.cli import app

    src = root / "in"
    for part in ("dicom", "records"):
        shutil.copytree(REPO / "sample_data" / part, src / part)
    out = root / "out"
    res = CliRunner().invoke(
        app, ["run", str(src), "--out", str(out), "-p", "records", "-q"], env={"DEID_KEY": KEY.decode()}
    )  # never the user's key, at any fixture scope
    assert res.exit_code == 0, res.output
    return out


def jp2_box_length_zero() -> bytes:
    """A JPEG 2000 DICOM whose one frame is a JP2 file with a box of length 0 after its
    signature: pydicom's parameter scan loops on it forever (one bit flip makes such a
    file). Synthetic, no pixels worth reading."""
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEG2000Lossless

    ds = make_ds(PatientName="LOOP^JPEG")
    ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    frame = b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00\x00\x00\x00ftyp" + b"\x00" * 20
    ds.PixelData = encapsulate([frame])
    ds["PixelData"].VR = "OB"
    return to_bytes(ds)


def reasons(qdir: Path) -> dict[str, dict]:
    """REASONS.jsonl of a quarantine folder, by item."""
    import json

    path = qdir / "REASONS.jsonl"
    return {r["item"]: r for r in map(json.loads, path.read_text().splitlines())} if path.is_file() else {}


def file_rows(audit: Path) -> dict[str, tuple[str, str]]:
    """item -> (action, detail) of every file row in an audit log."""
    import sqlite3

    db = sqlite3.connect(audit)
    try:
        return {i: (a, d) for i, a, d in db.execute("SELECT item, action, detail FROM events WHERE location='<file>'")}
    finally:
        db.close()
