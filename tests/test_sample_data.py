"""The README's main job: bundled sample data, both pipelines, no planted value survives."""
from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from typer.testing import CliRunner

from deid.cli import app

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
    expected = {k[len("dicom/"):] for k, v in MANIFEST["files"].items() if v["expect"] == "ok"}
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


def test_sample_broken_inputs_are_quarantined(tmp_path):
    res = runner.invoke(app, ["run", str(SAMPLE / "broken"), "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 1
    assert not any(p.is_file() for p in (tmp_path / "o").rglob("*"))
    reasons = sorted(json.loads(p.read_text())["reason"].split(":")[0]
                     for p in (tmp_path / "o.quarantine").glob("*.reason.json"))
    assert reasons == ["not-dicom", "truncated"]
