"""`deid check`: raw sample data has findings in headers, pixels and records; the output of
`deid run` on it has none; a tampered output file is caught at exactly the tampered
locations. Findings never carry a value unless --show-excerpts asks for a masked one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from typer.testing import CliRunner

from deid.cli import app
from helpers import deidentify_samples

SAMPLE = Path(__file__).resolve().parent.parent.parent / "sample_data"
runner = CliRunner()


def _check(*args):
    res = runner.invoke(app, ["check", *map(str, args), "--format", "json", "-p", "records"])
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    return res.exit_code, rows


@pytest.fixture(scope="module")
def deidentified(tmp_path_factory):
    return deidentify_samples(tmp_path_factory.mktemp("check"))


def test_raw_sample_data_has_findings_in_headers_pixels_and_records():
    code, rows = _check(SAMPLE / "dicom", SAMPLE / "records", "--pixels")
    assert code == 1
    kinds = {r["category"] for r in rows}
    assert {"identity", "not-deidentified", "private-tag"} <= kinds
    assert any(r["location"].startswith("pixels.frame[0].box[") for r in rows)
    assert any(r["file"].endswith("newborn_register.csv") and r["category"] == "resident-id" for r in rows)
    blob = json.dumps(rows, ensure_ascii=False)
    manifest = json.loads((SAMPLE / "manifest.json").read_text("utf-8"))
    for entry in manifest["files"].values():
        for value in entry["identifiers"].values():
            if len(str(value)) >= 4:
                assert str(value) not in blob  # locations and categories only, never the value


def test_deidentified_output_is_clean(deidentified):
    code, rows = _check(deidentified, "--pixels")
    assert (code, rows) == (0, [])


def test_tampered_output_is_caught_where_it_was_tampered(deidentified, tmp_path):
    out = tmp_path / "tampered"
    shutil.copytree(deidentified, out)
    ct = out / "dicom/patient1/ct.dcm"
    ds = pydicom.dcmread(ct)
    ds.private_block(0x0011, "TAMPER 1.0", create=True).add_new(0x01, "LO", "DOE^JOHN")
    ds.save_as(ct)
    csv = out / "records/newborn_register.csv"
    text = csv.read_bytes().decode("gb18030").rstrip("\r\n") + "，身份证号110101199003074514\r\n"
    csv.write_bytes(text.encode("gb18030"))
    cxr = out / "dicom/patient1/cxr.dcm"
    ds = pydicom.dcmread(cxr)
    arr = ds.pixel_array.copy()
    from PIL import Image, ImageDraw, ImageFont

    layer = Image.new("L", arr.shape[::-1], 0)
    ImageDraw.Draw(layer).text(
        (150, 240),
        "Tel 13812345678",
        fill=255,
        font=ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 22),
    )
    arr[np.asarray(layer) > 127] = arr.max()
    ds.PixelData = arr.tobytes()
    ds.save_as(cxr)
    code, rows = _check(out, "--pixels")
    assert code == 1
    where = {
        (r["file"], r["location"].split("[")[0] if r["file"].endswith(".csv") else r["location"][:20]) for r in rows
    }
    assert any(r["file"] == "dicom/patient1/ct.dcm" and r["category"] == "private-tag" for r in rows)
    assert any(
        r["file"] == "records/newborn_register.csv"
        and r["category"] == "resident-id"
        and r["location"].startswith("row[6].备注")
        for r in rows
    )
    assert any(
        r["file"] == "dicom/patient1/cxr.dcm"
        and r["location"].startswith("pixels.frame[0]")
        and r["category"] == "phone"
        for r in rows
    )
    assert {r["file"] for r in rows} == {
        "dicom/patient1/ct.dcm",
        "records/newborn_register.csv",
        "dicom/patient1/cxr.dcm",
    }, where


def test_excerpts_only_when_asked_and_masked():
    res = runner.invoke(
        app, ["check", str(SAMPLE / "records" / "newborn_register.csv"), "--format", "json", "--show-excerpts"]
    )
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert res.exit_code == 1 and rows  # records carry no excerpts (no values leave the scrubber)
    res = runner.invoke(app, ["check", str(SAMPLE / "dicom"), "--format", "json", "--show-excerpts"])
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    shown = [r["excerpt"] for r in rows if r["excerpt"]]
    assert shown and all("*" in e for e in shown)


def test_fail_on_high_ignores_findings_that_are_not_direct_identifiers(deidentified, tmp_path):
    out = tmp_path / "o"
    shutil.copytree(deidentified / "dicom", out)
    ct = out / "patient1/ct.dcm"
    ds = pydicom.dcmread(ct)
    ds.private_block(0x0011, "TAMPER 1.0", create=True).add_new(0x01, "DS", "1.5")  # a private tag, no identifier
    ds.save_as(ct)
    assert _check(out)[0] == 1
    assert runner.invoke(app, ["check", str(out), "--fail-on", "high"]).exit_code == 0
    assert runner.invoke(app, ["check", str(SAMPLE / "dicom"), "--fail-on", "high"]).exit_code == 1
