"""Record files through `deid run`: every format keeps its shape and encoding, planted
values are gone, one patient has one pseudonym and one date offset across a CSV, a JSONL,
an HL7 message, a FHIR Bundle and a DICOM file, and bad input is quarantined with a reason
that names where, never what. Every value here is synthetic."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pydicom
from typer.testing import CliRunner

from deid.cli import app
from helpers import make_ds, to_bytes

runner = CliRunner()
MRN = "ZY20240301"
PLANTED = [
    "王小明",
    "李娟",
    "110101199003074514",
    "11010119900307451X",
    "13812345678",
    "138 1234 5678",
    "13912345678",
    "建国路88号",
    "黄晓燕",
    "John Smith",
    "555-123-4567",
    "j.smith@example.org",
    "4663 Howell Stream",
    "SMITH^JOHN",
    "123-45-6789",
    MRN,
]

CSV_GB = (
    "住院号,新生儿姓名,性别,出生日期,母亲姓名,母亲身份证号,联系电话,家庭住址,备注\r\n"
    f"{MRN},王小明,男,2024-03-01,李娟,110101199003074514,138 1234 5678,北京市朝阳区建国路88号3栋2单元501室,"
    "患儿黄疸，母亲李娟陪护，电话13912345678\r\n"
    "ZY20240302,黄晓燕,女,2024年3月5日,陈静,11010119900307451X,010-88886666,上海市浦东新区世纪大道100号,"
    "出生后高热3天\r\n"
)


def _run(tmp_path, files: dict[str, bytes], *extra):
    src = tmp_path / "in"
    src.mkdir(exist_ok=True)
    for name, data in files.items():
        (src / name).write_bytes(data)
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(src), "--out", str(out), "-q", *extra])
    return res, out


def _events(tmp_path):
    con = sqlite3.connect(tmp_path / "out.audit.sqlite")
    try:
        return con.execute("select * from events").fetchall()
    finally:
        con.close()


def test_csv_gb18030_keeps_shape_and_encoding_and_links_to_dicom(tmp_path):
    dcm = make_ds(patient_id=MRN, name="WANG^XIAOMING", StudyDate="20240301")
    res, out = _run(tmp_path, {"newborn.csv": CSV_GB.encode("gb18030"), "ct.dcm": to_bytes(dcm)})
    assert res.exit_code == 0, res.output
    raw = (out / "newborn.csv").read_bytes()
    text = raw.decode("gb18030")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == CSV_GB.split("\r\n")[0].split(",")
    assert len(rows) == 3 and all(len(r) == 9 for r in rows)
    assert "\r\n" in text
    for value in PLANTED:
        assert value not in text
    ct = pydicom.dcmread(out / "ct.dcm")
    assert rows[1][0] == str(ct.PatientID) and rows[1][1] == str(ct.PatientID)  # one patient, one pseudonym
    assert rows[1][4] in rows[1][8]  # the mother's name in the note: the same pseudonym
    assert rows[1][2] == "男" and "黄疸" in rows[1][8] and "高热" in rows[2][8]  # clinical words kept
    assert rows[1][7] == "北京市" and rows[2][7] == "上海市"  # address generalized to province/city
    assert rows[1][5] == rows[2][5] == "[RESIDENT_ID]"  # wrong checksum too: removed by field name


def test_date_offset_of_a_record_equals_that_patients_images(tmp_path):
    dcm = make_ds(patient_id=MRN, StudyDate="20240301")
    rows = f"mrn,visit date,note\n{MRN},2024-03-01,seen on 2024-03-01\n"
    res, out = _run(tmp_path, {"visits.csv": rows.encode(), "ct.dcm": to_bytes(dcm)}, "-p", "dicom-research")
    assert res.exit_code == 0, res.output
    ct = pydicom.dcmread(out / "ct.dcm")
    shifted = f"{ct.StudyDate[:4]}-{ct.StudyDate[4:6]}-{ct.StudyDate[6:]}"
    row = list(csv.reader(io.StringIO((out / "visits.csv").read_text())))[1]
    assert row[1] == shifted and row[2] == f"seen on {shifted}"


def test_jsonl_hl7_and_fhir_keep_their_format_and_share_the_pseudonym(tmp_path):
    mrn = "12345678"
    jsonl = (
        json.dumps(
            {
                "patient": {"name": "John Smith", "mrn": mrn, "phone": "555-123-4567"},
                "notes": ["Call j.smith@example.org", "SS# 123-45-6789"],
            }
        )
        + "\n"
    )
    hl7 = (
        "MSH|^~\\&|LAB|HOSP|DEID|X|20240101120000||ADT^A01|1|P|2.5\r"
        f"PID|1||{mrn}^^^HOSP^MR||SMITH^JOHN^Q||19300314|M|||4663 Howell Stream^^Robertbury^PR^93673"
        "||(555)123-4567\rNTE|1||Patient John Smith called from 555-123-4567\r"
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "p1",
                    "identifier": [{"system": "urn:mrn", "value": mrn}],
                    "name": [{"family": "Smith", "given": ["John"]}],
                    "telecom": [{"system": "email", "value": "j.smith@example.org"}],
                    "birthDate": "1930-03-14",
                }
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "subject": {"reference": "Patient/p1"},
                    "effectiveDateTime": "2024-03-14",
                    "valueString": "reviewed by Dr. Alice Wong",
                }
            },
        ],
    }
    res, out = _run(
        tmp_path, {"a.jsonl": jsonl.encode(), "m.hl7": hl7.encode(), "b.json": json.dumps(bundle, indent=2).encode()}
    )
    assert res.exit_code == 0, res.output
    for name in ("a.jsonl", "m.hl7", "b.json"):
        body = (out / name).read_text()
        for value in PLANTED + ["Alice Wong", "Smith", mrn]:
            assert value not in body, (name, value)
    line = json.loads((out / "a.jsonl").read_text())
    fhir = json.loads((out / "b.json").read_text())
    patient, obs = (e["resource"] for e in fhir["entry"])
    pseud = line["patient"]["mrn"]
    assert line["patient"]["name"] == pseud == patient["identifier"][0]["value"] == patient["name"][0]["family"]
    assert obs["subject"]["reference"] == f"Patient/{patient['id']}"  # the Bundle still links up
    assert patient["telecom"][0]["system"] == "email" and patient["birthDate"] == "1930"
    segs = (out / "m.hl7").read_bytes().decode().split("\r")
    pid = segs[1].split("|")
    assert pid[3].split("^")[0] == pseud and pid[3].endswith("^^^HOSP^MR")
    assert pid[5] == pseud and pid[7] == "1930" and pid[11].split("^")[2:4] == ["Robertbury", "PR"]
    assert segs[0].split("|")[6] != "20240101120000"  # MSH-7 shifted


def test_malformed_row_quarantines_the_file_with_a_location_only(tmp_path):
    bad = "姓名,电话\n王小明,13812345678\n李娟,13912345678,extra\n"
    res, out = _run(tmp_path, {"bad.csv": bad.encode()})
    assert res.exit_code == 1
    assert not (out / "bad.csv").exists()
    reason = json.loads(next((tmp_path / "out.quarantine").glob("*.reason.json")).read_text())["reason"]
    assert reason.startswith("malformed-row: row 2") and "李娟" not in reason and "1391" not in reason


def test_malformed_row_dropped_when_the_policy_says_so(tmp_path):
    pipe = tmp_path / "p.yaml"
    pipe.write_text("name: drop\nrecords:\n  malformed: drop-row\n")
    bad = "姓名,电话\n王小明,13812345678\n李娟,13912345678,extra\n"
    res, out = _run(tmp_path, {"bad.csv": bad.encode()}, "--pipeline", str(pipe))
    assert res.exit_code == 0, res.output
    rows = list(csv.reader(io.StringIO((out / "bad.csv").read_text())))
    assert len(rows) == 2 and "王小明" not in rows[1][0]
    assert any(e for e in _events(tmp_path) if "drop-row" in e)


def test_undecodable_and_broken_json_are_quarantined(tmp_path):
    res, out = _run(
        tmp_path,
        {"x.csv": b"name,phone\n\x80\x80\x80\n", "y.json": b'{"name": "x",', "z.jsonl": b'{"a": 1}\nnot json\n'},
    )
    assert res.exit_code == 1
    reasons = sorted(
        json.loads(p.read_text())["reason"].split(":")[0] for p in (tmp_path / "out.quarantine").glob("*.reason.json")
    )
    assert reasons == ["malformed-json", "malformed-jsonl", "undecodable-text"]
    assert not any(out.rglob("*.*")) if out.exists() else True


def test_two_runs_same_key_same_output_and_no_value_in_the_audit(tmp_path):
    files = {"newborn.csv": CSV_GB.encode("gb18030")}
    _run(tmp_path / "a", files) if (tmp_path / "a").mkdir() is None else None
    _run(tmp_path / "b", files) if (tmp_path / "b").mkdir() is None else None
    a = (tmp_path / "a" / "out" / "newborn.csv").read_bytes()
    assert a == (tmp_path / "b" / "out" / "newborn.csv").read_bytes()
    audit = (tmp_path / "a" / "out.audit.sqlite").read_bytes()
    for value in PLANTED:
        for enc in ("utf-8", "gb18030"):
            assert value.encode(enc) not in audit
