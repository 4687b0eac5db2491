"""Inputs a careful reviewer threw at the record pipeline: values hiding where a walker
might not look (top-level JSON values, object keys, Bundle URLs, HL7 escapes, lines
that are not segments, headerless CSVs, file names), encodings that are not what they
seem, and clinical text that must not be redacted. Every value is synthetic."""

from __future__ import annotations

import json
import sqlite3

import pydicom
import pytest
from typer.testing import CliRunner

from deid.cli import app
from deid.text.recognize import find
from helpers import make_ds, to_bytes

runner = CliRunner()


def _run(tmp_path, files: dict[str, bytes], *extra):
    src = tmp_path / "in"
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(src), "--out", str(out), "-q", "-w", "1", "-p", "records", *extra])
    audit = b"".join(p.read_bytes() for p in tmp_path.glob("out.audit.sqlite*"))
    return res, out, audit


def _reasons(tmp_path) -> dict[str, str]:
    return {
        p.name[: -len(".reason.json")]: json.loads(p.read_text())["reason"]
        for p in (tmp_path / "out.quarantine").rglob("*.reason.json")
    }


def test_json_values_anywhere_and_keys(tmp_path):
    files = {
        "a.json": json.dumps(["Patient: John Smith, SSN 123-45-6789", 13812345678]).encode(),
        "b.json": json.dumps({"patients": {"13812345678": {"phone": "13912345678"}}}).encode(),
        "c.json": json.dumps({"code": "110101199003074514", "type": "13812345678"}).encode(),
        "d.json": json.dumps(
            {
                "resourceType": "Bundle",
                "identifier": {"value": "MRN777"},
                "entry": [
                    {
                        "request": {"url": "Patient?identifier=MRN777&phone=555-123-4567"},
                        "resource": {
                            "resourceType": "Patient",
                            "id": "x",
                            "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "MRN777"}],
                        },
                    }
                ],
            }
        ).encode(),
    }
    res, out, audit = _run(tmp_path, files)
    assert res.exit_code == 0, res.output
    body = b"".join((out / n).read_bytes() for n in files)
    for value in (
        b"John Smith",
        b"123-45-6789",
        b"13812345678",
        b"13912345678",
        b"110101199003074514",
        b"MRN777",
        b"555-123-4567",
    ):
        assert value not in body and value not in audit, value


def test_hl7_escapes_non_segments_and_more_fields(tmp_path):
    good = (
        "MSH|^~\\&|A|B|C|D|20240101120000||ADT^A01|1|P|2.5\r"
        "PID|1||MRN1^^^H^MR||DOE^JANE||19300101|F|||||||||||123-45-6789\r"
        "PID|2||MRN2||ROE^JOHN|SMITH^MARY\rMRG|MRN0\rNTE|1||SSN 321\\X2D\\54\\X2D\\9876, call 555\\X2D\\123\\X2D\\4567\r"
    )
    broken = "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rNTE|1||x\rcall John Roe at 555-123-4567\r"
    res, out, audit = _run(tmp_path, {"good.hl7": good.encode(), "broken.hl7": broken.encode()})
    assert res.exit_code == 1
    text = (out / "good.hl7").read_bytes().decode()
    for value in ("6789", "SMITH", "MARY", "MRN0", "9876", "4567"):
        assert value not in text, value
    assert "\r\r" not in text and not text.endswith("\r\r")
    assert _reasons(tmp_path)["broken.hl7"].startswith("malformed-hl7: message 1 line 3")
    assert b"John Roe" not in audit and b"555-123" not in audit


def test_encodings_that_are_not_what_they_seem_are_quarantined(tmp_path):
    res, out, _audit = _run(
        tmp_path,
        {
            "latin.csv": "name\nMr. Müller, François\n".encode("cp1252"),
            "wide.txt": "Patient John Smith".encode("utf-16-le"),
        },
    )
    assert res.exit_code == 1 and not any(out.rglob("*.*"))
    assert {r.split(":")[0] for r in _reasons(tmp_path).values()} == {"undecodable-text"}


def test_headerless_semicolon_and_tab_files(tmp_path):
    files = {
        "nohead.csv": "张三,13812345678,110101199003074514\n李四,13912345678,11010119900307451X\n".encode(),
        "semi.csv": "name;phone\n王小明;13812345678\n".encode(),
        "tab.tsv": 'note\tphone\nwound 5" long\t13812345678\n'.encode(),
    }
    res, out, audit = _run(tmp_path, files)
    assert res.exit_code == 0, res.output
    nohead = (out / "nohead.csv").read_text().splitlines()
    assert len(nohead) == 2 and "13812345678" not in nohead[0] and "张三" not in nohead[0]
    assert "13812345678".encode() not in audit and "张三".encode() not in audit
    assert (out / "semi.csv").read_text().splitlines()[1].count(";") == 1
    assert "王小明" not in (out / "semi.csv").read_text()
    assert (out / "tab.tsv").read_text().splitlines()[1].startswith('wound 5" long\t')


def test_identifying_file_names_are_not_kept(tmp_path):
    res, out, audit = _run(tmp_path, {"ZY20210001_张三/张三_13812345678.csv": "a,b\n1,2\n".encode()})
    assert res.exit_code == 0, res.output
    names = [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()]
    assert len(names) == 1 and names[0].startswith("R-") and "张三".encode() not in audit
    assert b"13812345678" not in audit


def test_every_date_in_a_date_field_moves(tmp_path):
    res, out, _a = _run(tmp_path, {"v.csv": "住院号,入院日期\nZY1,2021-03-04至2021-03-10\n".encode()})
    row = (out / "v.csv").read_text().splitlines()[1]
    assert "2021-03-04" not in row and "2021-03-10" not in row and "至" in row


@pytest.mark.parametrize(
    "text,value",
    [
        ("ref 12345678.", "12345678"),
        ("联系555-123-4567", "555-123-4567"),
        ("微信：zhangsan_88", "zhangsan_88"),
        ("病理号2021-12345", "2021-12345"),
        ("Accession #: ACC-2021-99887", "ACC-2021-99887"),
        ("手机138\u200b1234\u200b5678", "138\u200b1234\u200b5678"),
        ("seen 04.03.2021", "04.03.2021"),
        ("seen 15 March", "15 March"),
        ("于21-3-10复查", "21-3-10"),
    ],
)
def test_recognizer_finds(text, value):
    assert any(text[s.start : s.end] == value for s in find(text)), [text[s.start : s.end] for s in find(text)]


@pytest.mark.parametrize(
    "text",
    [
        "Patient: Denies chest pain.",
        "Nurse: Vitals stable.",
        "青霉素800000U静滴",
        "Plt 250000/uL",
        "患者易疲劳，严重贫血，曾服用华法林。",
    ],
)
def test_clinical_text_not_redacted(text):
    assert [text[s.start : s.end] for s in find(text)] == []


def test_name_fragments_are_matched_as_names_only(tmp_path):
    rows = "姓名,name,note\n李正常,May Hope,心电图正常。We may hope for May. Hope was told.\n"
    res, out, _a = _run(tmp_path, {"n.csv": rows.encode()})
    note = (out / "n.csv").read_text().splitlines()[1].split(",", 2)[2]
    assert "心电图正常" in note and "may hope" in note and "May." not in note


def test_fhir_patient_key_is_the_mr_identifier_like_dicom(tmp_path):
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "p",
                    "name": [{"family": "Doe", "given": ["Jane"]}],
                    "identifier": [
                        {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "123-45-6789"},
                        {"type": {"coding": [{"code": "MR"}]}, "value": "MRN777"},
                    ],
                }
            }
        ],
    }
    res, out, _a = _run(
        tmp_path,
        {"b.json": json.dumps(bundle).encode(), "ct.dcm": to_bytes(make_ds(patient_id="MRN777", name="DOE^JANE"))},
    )
    assert res.exit_code == 0, res.output
    patient = json.loads((out / "b.json").read_text())["entry"][0]["resource"]
    assert patient["name"][0]["family"] == str(pydicom.dcmread(out / "ct.dcm").PatientID)


def test_audit_locations_hold_no_key_or_header_values(tmp_path):
    res, _out, _a = _run(tmp_path, {"k.json": json.dumps({"13812345678": {"x": "y"}}).encode()})
    locs = [r[0] for r in sqlite3.connect(tmp_path / "out.audit.sqlite").execute("select location from events")]
    assert locs and not any("1381" in loc for loc in locs)


def test_a_renamed_json_key_keeps_its_place_and_a_title_before_a_surname_is_read(tmp_path):
    doc = {"first": 1, "Mr Brown": {"x": 2}, "note": "ok", "last": 4}
    res, out, _audit = _run(tmp_path, {"k.json": json.dumps(doc).encode()})
    assert res.exit_code == 0, res.output
    keys = list(json.loads((out / "k.json").read_text("utf-8")))
    assert keys[0] == "first" and keys[-1] == "last" and len(keys) == 4
    assert "Brown" not in keys[1] and keys[1].startswith("Mr ") and keys[2] == "note"


def test_a_key_that_was_a_phone_number_does_not_make_its_value_a_phone(tmp_path):
    """{"13812345678": "mother"}: the key becomes [PHONE]; the output check read the tag as
    a column named *PHONE* and the word under it as a phone, and quarantined the file."""
    res, out, _audit = _run(tmp_path, {"a.json": json.dumps({"contacts": {"13812345678": "mother"}}).encode()})
    assert res.exit_code == 0, res.output
    assert json.loads((out / "a.json").read_text()) == {"contacts": {"[PHONE]": "mother"}}
