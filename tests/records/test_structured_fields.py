"""Structured records: EHR export column names, a doubled byte-order mark, HL7 with its
own separators, name columns under headers nobody mapped, and values found in one record
looked for in the same patient's later records. Every value here is synthetic."""

from __future__ import annotations

import codecs
import csv
import io

import pytest

from deid.policy import build_pipeline, load_pipeline
from deid.pseudonym import Pseudonymizer
from deid.records.formats.delimited import scrub_delimited
from deid.records.formats.hl7v2 import scrub_hl7
from deid.records.scrub import Scrubber
from helpers import KEY


def scrubber(ner: str = "lac") -> Scrubber:
    pipe = load_pipeline() if ner == "lac" else build_pipeline({"name": "t", "records": {"ner": "off"}}, "t")
    return Scrubber(pipe.records, Pseudonymizer(KEY), pipe.dicom.date_shift_days, "file:x")


def run_csv(text: str, data: bytes | None = None, ner: str = "lac") -> list[list[str]]:
    out, _events = scrub_delimited(data if data is not None else text.encode(), scrubber(ner), ",")
    return list(csv.reader(io.StringIO(out.decode("utf-8-sig").lstrip("\ufeff"))))


@pytest.mark.parametrize(
    "column,category",
    [
        ("PAT_NAME", "patient-name"),
        ("PAT_FIRST_NAME", "patient-name"),
        ("PAT_LAST_NAME", "patient-name"),
        ("CONTACT_PERSON", "name"),
        ("PROV_NAME", "name"),
        ("CONTACT_PHONE", "phone"),
        ("HOME_PHONE", "phone"),
        ("ADD_LINE_1", "address"),
        ("ZIP", "address"),
        ("EMAIL_ADDRESS", "email"),
        ("PAT_MRN_ID", "patient-id"),
        ("BIRTH_DATE", "birth-date"),
        ("DEPARTMENT_NAME", None),
        ("ETHNICITY", "safe"),
        ("CONTACT_DATE", "date"),
        ("HOSP_ADMSN_TIME_DTTM", "date"),  # Epic's encounter date is no contact person
    ],
)
def test_ehr_export_column_names(column, category):
    assert load_pipeline().records.category_of(column) == category


def test_epic_style_export_loses_every_name_and_contact():
    text = (
        "PAT_MRN_ID,PAT_FIRST_NAME,PAT_LAST_NAME,CONTACT_PERSON,CONTACT_PHONE,ADD_LINE_1,DEPARTMENT_NAME\n"
        "E1001,Deanna,Hernandez,Quintus Arbogast,410-555-0199,12 Elm Street,CARDIOLOGY\n"
    )
    row = run_csv(text)[1]
    for planted in ("E1001", "Deanna", "Hernandez", "Quintus", "410-555-0199", "12 Elm Street"):
        assert planted not in ",".join(row), planted
    assert row[-1] == "CARDIOLOGY"


def test_doubled_byte_order_mark_does_not_hide_the_name_column():
    data = codecs.BOM_UTF8 + "\ufeffname,note\nDeanna Hernandez,stable\n".encode()
    rows = run_csv("", data)
    assert "Deanna" not in rows[1][0] and rows[1][1] == "stable"


def test_unknown_header_whose_values_are_names_is_a_name_column():
    people = ["Deanna Hernandez", "Thomas Walker", "Maria Lopez", "James Carter", "Linda Brooks", "王小明"]
    text = "col_a,col_b\n" + "".join(f"{p},{i}\n" for i, p in enumerate(people))
    rows = run_csv(text)
    for p, row in zip(people, rows[1:]):
        assert row[0] != p and row[0].startswith("N-"), p
        assert row[1].isdigit()


def test_hl7_with_its_own_separators_reads_the_name_and_keeps_one_pseudonym():
    def message(f: str, c: str, r: str, e: str, s: str) -> bytes:
        return (
            f"MSH{f}{c}{r}{e}{s}{f}LAB{f}HOSP{f}DEID{f}X{f}20240101120000{f}{f}ADT{c}A01{f}1{f}P{f}2.5\r"
            f"PID{f}1{f}{f}MRN123{c}{c}{c}HOSP{c}MR{f}{f}HERNANDEZ{c}DEANNA{f}{f}19300314\r"
            f"NTE{f}1{f}{f}Patient Deanna Hernandez called\r"
        ).encode()

    default, _ = scrub_hl7(message("|", "^", "~", "\\", "&"), scrubber())
    odd, _ = scrub_hl7(message("#", "$", "%", "@", "!"), scrubber())
    d, o = default.decode().split("\r"), odd.decode().split("\r")
    assert "Hernandez" not in odd.decode() and "Deanna" not in odd.decode()
    assert d[1].split("|")[5] == o[1].split("#")[5]  # PID-5: the same patient pseudonym
    assert d[2].split("|")[3] == o[2].split("#")[3]  # and the same in the note


def test_a_value_found_in_a_note_is_replaced_in_the_same_patients_later_records():
    text = (
        "mrn,note\n"
        "M77,Seen by Dr. Quorrel; 患者王小明入院\n"
        "M77,Quorrel called back. 王小明复诊\n"
        "M88,Quorrel is a word here\n"
    )
    rows = run_csv(text, ner="off")
    assert "Quorrel" not in rows[2][1] and "王小明" not in rows[2][1]
    assert "Quorrel" in rows[3][1]  # another patient: not carried over


def test_dicom_keywords_as_column_names_are_decided_by_ps315_and_their_vr():
    """A PACS worklist exported to CSV names its columns by DICOM keyword: each attribute
    the Basic Profile does not keep is decided by name (values no recognizer knows, such
    as a caret name or an accession number, were kept); descriptions stay free text."""
    header = "PatientName,AccessionNumber,StudyInstanceUID,PatientBirthDate,InstitutionName,StudyDescription,Modality"
    row = "Qiao^Wenhua,A33826060,1.2.840.99.1.5,19300314,Harbor View Clinic,CHEST PA,CR"
    got = dict(zip(header.split(","), run_csv(f"{header}\n{row}\n", ner="off")[1]))
    for col, original in zip(header.split(","), row.split(",")):
        if col in ("StudyDescription", "Modality"):
            assert got[col] == original  # no identifier in them: kept
        else:
            assert original not in got[col], col
    assert got["PatientBirthDate"] == "1930"  # generalised as a birth date, not shifted as any date


@pytest.mark.parametrize(
    "column,value,kept",
    [
        ("StudyDate", "2024-01-01 John Smith 13800138000", "2024-01-01"),
        ("admission date", "2024-01-01 John Smith 13800138000", "2024-01-01"),
        ("SelectorASValue", "12, Zhang Wei 110101199003077777", "12, "),
        ("age", "45 call 13800138000", "45 call "),
    ],
)
def test_a_date_or_age_column_holding_more_is_read_as_free_text(column, value, kept):
    """Decided by name, a date is shifted and an age grouped; what else the cell holds was
    kept with it (the name, the phone, the ID). Now only a bare date or age is decided by
    name; anything more is free text: the date still moves, the rest is recognised."""
    got = run_csv(f'{column}\n"{value}"\n', ner="off")[1][0]
    for secret in ("Smith", "13800138000", "Zhang Wei", "110101199003077777"):
        assert secret not in got, got
    if kept[0] == "2":
        assert not got.startswith(kept)  # the date moved
    else:
        assert got.startswith(kept)


def test_issuer_of_patient_id_does_not_become_the_patient_key():
    """IssuerOfPatientID first: as a patient ID it keyed every patient of the hospital to
    one pseudonym and one date offset."""
    header = "IssuerOfPatientID,PatientID,PatientName"
    rows = run_csv(f"{header}\nHOSP_A,MRN001,DOE^JOHN\nHOSP_A,MRN002,ROE^JANE\n", ner="off")[1:]
    assert rows[0][2] != rows[1][2]  # two patients, two pseudonyms
    assert rows[0][2] == rows[0][1] and rows[1][2] == rows[1][1]  # each the patient's own


def test_a_raw_column_header_in_brackets_is_still_matched_by_pattern():
    """Only deid's own tag labels ([PHONE], [电话]) stop a key from naming its column: with
    free text off, a column no name decides is kept as it is."""
    pipe = build_pipeline({"name": "t", "records": {"ner": "off", "free_text": False}}, "t")
    sc = Scrubber(pipe.records, Pseudonymizer(KEY), pipe.dicom.date_shift_days, "file:x")
    out, _events = scrub_delimited("[HOME_PHONE],[PHONE]\n13812345678,13812345678\n".encode(), sc, ",")
    got = out.decode("utf-8-sig").splitlines()[1].split(",")
    assert got[0] != "13812345678" and got[1] == "13812345678"  # [PHONE] is deid's own label
