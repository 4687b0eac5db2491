"""Quasi-identifiers read from an output folder: DICOM headers and record rows joined per
person (the keyed pseudonym in PatientID and the record's patient-id field), a series of
one patient counted once, files of no kind this reads counted as not measured."""

from __future__ import annotations

from deid.policy import build_pipeline
from deid.risk.measures import measure
from deid.risk.quasi import read_release
from helpers import make_ds, write

PIPE = build_pipeline(
    {
        "name": "t",
        "risk": {
            "quasi": [
                {"name": "sex", "fields": ["性别", "PatientSex"], "hierarchy": "category"},
                {"name": "birth-date", "fields": ["birth-date", "PatientBirthDate"], "hierarchy": "date"},
            ],
            "person": ["patient-id", "PatientID"],
        },
    },
    "t",
)


def test_images_and_records_of_one_person_are_one_person(tmp_path):
    study = "1.2.826.0.1.3680043.8.498.1"
    for i in range(3):  # a series of one patient: one person, not a class of three
        write(make_ds("P-A", sop_uid=f"{study}.{i}", study_uid=study, PatientSex="F"), tmp_path / f"a/{i}.dcm")
    write(make_ds("P-B", PatientSex="M", PatientBirthDate="19700412"), tmp_path / "b.dcm")
    (tmp_path / "visits.csv").write_text("病案号,性别,出生日期\nP-A,F,19700412\nP-C,M,1970-04-12\n", "utf-8")
    (tmp_path / "note.txt").write_text("free text is not measured", "utf-8")
    table = read_release([tmp_path], PIPE)
    assert len(table) == 6 and table.unread == 1
    assert {s.kind for s in table.sources} == {"dicom", "csv"}
    m = measure(table)
    assert (m.records, m.persons, m.unread) == (6, 3, 1)
    # P-A: F, 19700412 (images and record agree); P-B: M, 19700412; P-C: M, 1970-04-12 (written otherwise)
    assert (m.k, m.classes) == (1, 3)


def test_a_dicom_file_without_a_person_is_its_study(tmp_path):
    study = "1.2.826.0.1.3680043.8.498.2"
    for i in range(4):
        write(make_ds("", sop_uid=f"{study}.{i}", study_uid=study, PatientSex="F"), tmp_path / f"{i}.dcm")
    m = measure(read_release([tmp_path], PIPE))
    assert (m.records, m.persons, m.k) == (4, 1, 1)


def test_a_csv_without_quasi_identifiers_is_not_in_the_table(tmp_path):
    (tmp_path / "lab.csv").write_text("病案号,结果\nP-A,5.1\n", "utf-8")
    table = read_release([tmp_path], PIPE)
    assert len(table) == 0 and table.unread == 0


def test_a_table_that_cannot_be_parsed_fails_a_target(tmp_path):
    """Fail closed: a CSV that does not parse may hold quasi-identifiers nobody measured."""
    (tmp_path / "ok.csv").write_text("性别\nF\nF\n", "utf-8")
    (tmp_path / "bad.csv").write_bytes(b"\xff\xfe\x00garbage\x00")
    table = read_release([tmp_path], PIPE)
    m = measure(table, target=2)
    assert (m.k, m.failed, m.unread) == (2, 1, 1)
    assert not m.meets
