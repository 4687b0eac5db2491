"""Keyed consistency: one study stays one study; patients differ; reruns are byte-identical."""

from __future__ import annotations

from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from deid.core import Context, Item
from deid.dicom.handler import DicomHandler
from deid.policy import load_pipeline
from deid.pseudonym import Pseudonymizer
from helpers import make_ds, read, write


def _process(path: Path, key: bytes, pipe="dicom-research") -> bytes:
    res = DicomHandler().process(Item(str(path), path.name), Context(load_pipeline(pipe), Pseudonymizer(key)))
    assert res.status == "ok", res.reason
    return res.data


def _study(tmp_path: Path) -> tuple[Path, Path, Path]:
    study = generate_uid()
    a = make_ds(study_uid=study, patient_id="PID-1", name="ALPHA^ANN")
    b = make_ds(study_uid=study, patient_id="PID-1", name="ALPHA^ANN")
    ref = Dataset()
    ref.ReferencedSOPClassUID = a.SOPClassUID
    ref.ReferencedSOPInstanceUID = a.SOPInstanceUID
    series = Dataset()
    series.SeriesInstanceUID = a.SeriesInstanceUID
    series.ReferencedInstanceSequence = Sequence([ref])
    b.ReferencedSeriesSequence = Sequence([series])  # not in Table E.1-1: kept, UIDs inside remapped
    b.ReferencedImageSequence = Sequence([ref])  # X/Z/U*: kept with UIDs remapped
    b.SeriesInstanceUID = a.SeriesInstanceUID
    c = make_ds(patient_id="PID-2", name="BETA^BOB")
    return write(a, tmp_path / "a.dcm"), write(b, tmp_path / "b.dcm"), write(c, tmp_path / "c.dcm")


def test_one_study_stays_one_study_and_references_resolve(tmp_path):
    pa, pb, _ = _study(tmp_path)
    key = b"k" * 32
    a, b = read(_process(pa, key)), read(_process(pb, key))
    orig_a = read(pa)
    assert a.StudyInstanceUID == b.StudyInstanceUID != orig_a.StudyInstanceUID
    assert a.SeriesInstanceUID == b.SeriesInstanceUID
    ref = b.ReferencedSeriesSequence[0]
    assert ref.SeriesInstanceUID == a.SeriesInstanceUID
    assert ref.ReferencedInstanceSequence[0].ReferencedSOPInstanceUID == a.SOPInstanceUID
    assert b.ReferencedImageSequence[0].ReferencedSOPInstanceUID == a.SOPInstanceUID
    assert a.file_meta.MediaStorageSOPInstanceUID == a.SOPInstanceUID
    assert a.SOPInstanceUID.startswith("2.25.") and len(a.SOPInstanceUID) <= 64
    assert a.PatientID == b.PatientID and a.PatientID.startswith("P-")
    assert a.StudyDate == b.StudyDate != orig_a.StudyDate  # same patient, same offset


def test_two_patients_get_different_pseudonyms_and_offsets(tmp_path):
    pa, _, pc = _study(tmp_path)
    key = b"k" * 32
    a, c = read(_process(pa, key)), read(_process(pc, key))
    assert a.PatientID != c.PatientID
    assert a.PatientName != c.PatientName
    # both had StudyDate 20240102: different patients, different offsets
    assert a.StudyDate != c.StudyDate
    p = Pseudonymizer(key)
    assert p.date_offset("id:PID-1", -1095, -1) != p.date_offset("id:PID-2", -1095, -1)


def test_rerun_same_key_is_byte_identical_other_key_differs(tmp_path):
    pa, _, _ = _study(tmp_path)
    one, two = _process(pa, b"k" * 32), _process(pa, b"k" * 32)
    assert one == two
    other = _process(pa, b"z" * 32)
    assert other != one
    assert read(other).PatientID != read(one).PatientID


def test_date_shift_keeps_intervals_and_validity(tmp_path):
    ds = make_ds(
        StudyDate="20240229",
        SeriesDate="20240301",
        AcquisitionDateTime="20240301083000.5+0800",
        PatientBirthDate="19500101",
    )
    p = write(ds, tmp_path / "d.dcm")
    out = read(_process(p, b"k" * 32))
    import datetime as dt

    d1 = dt.datetime.strptime(out.StudyDate, "%Y%m%d")
    d2 = dt.datetime.strptime(out.SeriesDate, "%Y%m%d")
    assert (d2 - d1).days == 1  # interval kept across a leap day
    assert out.AcquisitionDateTime.endswith("083000.5+0800")
    assert out.StudyDate != "20240229"
    assert out.LongitudinalTemporalInformationModified == "MODIFIED"


def test_age_over_89_is_generalized(tmp_path):
    ds = make_ds(PatientAge="093Y", PatientSex="F")
    out = read(_process(write(ds, tmp_path / "age.dcm"), b"k" * 32))
    assert out.PatientAge == "090Y" and out.PatientSex == "F"
    ds = make_ds(PatientAge="045Y")
    out = read(_process(write(ds, tmp_path / "age2.dcm"), b"k" * 32))
    assert out.PatientAge == "045Y"
