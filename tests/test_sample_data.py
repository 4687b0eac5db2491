"""The README's main job: bundled sample data, both pipelines, no planted value survives."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from typer.testing import CliRunner

from deid.cli import app
from helpers import deidentify_samples

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
MANIFEST = json.loads((SAMPLE / "manifest.json").read_text("utf-8"))
runner = CliRunner()


def _needles() -> list[bytes]:
    out = set()
    for f in MANIFEST["files"].values():
        for v in f["identifiers"].values():
            for s in str(v).split("="):
                for enc in ("utf-8", "gb18030"):
                    b = s.encode(enc)
                    if len(b) >= 4:
                        out.add(b)
    return sorted(out)


@pytest.mark.parametrize("pipe", ["dicom-basic", "dicom-research"])
def test_sample_data_main_job_is_clean(tmp_path, pipe):
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(SAMPLE / "dicom"), "--out", str(out), "-p", pipe])
    assert res.exit_code == 0, res.output
    expected = {
        k[len("dicom/") :] for k, v in MANIFEST["files"].items() if v["expect"] == "ok" and k.startswith("dicom/")
    }
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert written == expected
    needles = _needles()
    assert len(needles) > 20
    for rel in written:
        data = (out / rel).read_bytes()
        leaked = [n for n in needles if n in data]
        assert leaked == [], f"{rel}: {len(leaked)} planted values survived"
        pydicom.dcmread(out / rel)
    for p in tmp_path.glob("out.audit.sqlite*"):
        data = p.read_bytes()
        assert [n for n in needles if n in data] == []
    _burned_in_text_removed(out)


def _burned_in_text_removed(out: Path) -> None:
    """Name, ID and hospital burned into the CXR (English) and the MR (Chinese) are gone
    (>= 90 % of their stroke pixels changed); the R marker is kept, untouched."""
    checked = 0
    for rel, f in MANIFEST["files"].items():
        if "burned_in" not in f:
            continue
        before = pydicom.dcmread(SAMPLE / rel).pixel_array
        after = pydicom.dcmread(out / rel[len("dicom/") :]).pixel_array
        for line in f["burned_in"]:
            x0, y0, x1, y1 = line["box"]
            box_in, box_out = before[y0:y1, x0:x1], after[y0:y1, x0:x1]
            if line["text"] == "R":
                assert (box_in == box_out).all(), f"{rel}: the R marker was touched"
            else:
                strokes = box_in == box_in.max()
                assert (box_in != box_out)[strokes].mean() >= 0.9, f"{rel}: a burned-in line survived"
            checked += 1
    assert checked == 6


def test_sample_broken_inputs_are_quarantined(tmp_path):
    res = runner.invoke(app, ["run", str(SAMPLE / "broken"), "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 1
    assert not any(p.is_file() for p in (tmp_path / "o").rglob("*"))
    reasons = sorted(
        json.loads(p.read_text())["reason"].split(":")[0] for p in (tmp_path / "o.quarantine").glob("*.reason.json")
    )
    assert reasons == ["not-dicom", "truncated"]


def test_sample_records_are_clean_and_link_to_the_images(tmp_path):
    """Records and images of one run: no planted value survives in any format or
    encoding, every file keeps its format, and a patient's MRN in a CSV/JSONL/HL7/FHIR
    record gets the same pseudonym as the PatientID of their DICOM images."""
    out = deidentify_samples(tmp_path)
    expected = {k for k, v in MANIFEST["files"].items() if v["expect"] == "ok"}
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert written == expected
    needles = _needles()
    for rel in written:
        data = (out / rel).read_bytes()
        assert [n for n in needles if n in data] == [], rel
    for p in tmp_path.glob("out.audit.sqlite*"):
        assert [n for n in needles if n in p.read_bytes()] == []
    cxr = pydicom.dcmread(out / "dicom/patient1/cxr.dcm")
    mr = pydicom.dcmread(out / "dicom/patient2/mr.dcm")
    visit = json.loads((out / "records/visits.jsonl").read_text().splitlines()[0])
    bundle = json.loads((out / "records/patient_bundle.json").read_text())
    hl7_pid = (out / "records/adt_a01.hl7").read_bytes().decode().split("\r")[1].split("|")
    register = (out / "records/newborn_register.csv").read_bytes().decode("gb18030").splitlines()
    assert visit["mrn"] == bundle["entry"][0]["resource"]["identifier"][0]["value"] == str(cxr.PatientID)
    assert hl7_pid[3].split("^")[0] == str(cxr.PatientID)
    assert register[1].split(",")[0] == str(mr.PatientID)
    assert (out / "records/student_list.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # BOM kept
