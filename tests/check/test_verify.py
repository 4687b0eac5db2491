"""`verify:` in a pipeline: `deid run` checks each output with `deid check` before writing
it; an output that still identifies someone is quarantined, never written, and the audit
log says where (location and category, no value)."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from deid.audit.log import iter_events
from deid.cli import app
from deid.errors import PolicyError
from deid.policy import build_pipeline, load_pipeline, shipped_pipelines
from helpers import make_ds, write

runner = CliRunner()


def _pipeline(tmp_path, verify, overrides=(), pixels=None):
    raw = {
        "name": "verify-test",
        "dicom": {
            "overrides": [
                {"keyword": "PatientName", "action": "pseudonym"},
                {"keyword": "PatientID", "action": "pseudonym"},
                *overrides,
            ]
        },
        "pixels": pixels or {"mode": "off"},
        "verify": verify,
    }
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return path


def _run(tmp_path, pipeline, src):
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(src), "--out", str(out), "-p", str(pipeline), "-q", "--engine", "inline"])
    return res, out


def _inputs(tmp_path):
    src = tmp_path / "in"
    write(make_ds(InstitutionName="SYNTHETIC GENERAL HOSPITAL"), src / "kept.dcm")
    write(make_ds(patient_id="PID-2002", name="ROE^RICHARD"), src / "plain.dcm")
    return src


def test_an_output_that_still_names_the_hospital_is_quarantined_not_written(tmp_path):
    keep = [{"keyword": "InstitutionName", "action": "keep"}]
    res, out = _run(tmp_path, _pipeline(tmp_path, True, keep), _inputs(tmp_path))
    assert res.exit_code == 1, res.output
    assert not (out / "kept.dcm").exists() and (out / "plain.dcm").exists()
    reasons = [json.loads(line) for line in (tmp_path / "out.quarantine/REASONS.jsonl").read_text().splitlines()]
    assert reasons == [
        {
            "item": "kept.dcm",
            "code": "verify-failed",
            "status": "quarantined",
            "reason": "verify-failed: 1 findings on the output (identity)",
        }
    ]
    failed = [e for e in iter_events(tmp_path / "out.audit.sqlite") if e["action"] == "verify-failed"]
    assert [(e["item"], e["location"], e["category"]) for e in failed] == [("kept.dcm", "InstitutionName", "identity")]
    assert "SYNTHETIC" not in json.dumps(list(iter_events(tmp_path / "out.audit.sqlite")))


def test_without_verify_the_same_output_is_written(tmp_path):
    keep = [{"keyword": "InstitutionName", "action": "keep"}]
    res, out = _run(tmp_path, _pipeline(tmp_path, False, keep), _inputs(tmp_path))
    assert res.exit_code == 0, res.output
    assert (out / "kept.dcm").exists()


def test_allow_names_what_the_policy_keeps_on_purpose(tmp_path):
    keep = [{"keyword": "InstitutionName", "action": "keep"}]
    res, out = _run(tmp_path, _pipeline(tmp_path, {"allow": ["InstitutionName"]}, keep), _inputs(tmp_path))
    assert res.exit_code == 0, res.output
    assert (out / "kept.dcm").exists()


def test_allow_matches_the_attribute_at_any_depth_but_a_sequence_does_not_allow_its_items():
    from deid.policy.verify import VerifyPolicy

    vp = VerifyPolicy(enabled=True, allow=frozenset({"InstitutionName", "RequestAttributesSequence"}))
    assert not vp.counts("identity", "ReferencedStudySequence[0].InstitutionName")
    assert vp.counts("identity", "RequestAttributesSequence[0].RequestedProcedureID")
    assert not VerifyPolicy(enabled=True, allow=frozenset({"private-tag"})).counts("private-tag", "(0019,1010)")


def test_a_check_that_raises_quarantines_the_output(tmp_path, monkeypatch):
    import deid.check.verify as verify

    def boom(*_a, **_k):
        raise ValueError("synthetic failure")

    monkeypatch.setattr(verify, "check_bytes", boom)
    res, out = _run(tmp_path, _pipeline(tmp_path, True), _inputs(tmp_path))
    assert res.exit_code == 1, res.output
    assert not list(out.rglob("*.dcm"))
    codes = {
        json.loads(line)["reason"] for line in (tmp_path / "out.quarantine/REASONS.jsonl").read_text().splitlines()
    }
    assert codes == {"verify-error: ValueError"}


def test_fail_on_high_lets_a_kept_private_number_through_but_not_a_name(tmp_path):
    src = tmp_path / "in"
    ds = make_ds()
    ds.private_block(0x0019, "SYNTH 1.0", create=True).add_new(0x10, "DS", "2.5")
    write(ds, src / "private.dcm")
    keep = [{"tag_pattern": "(0019,xxxx)", "action": "keep"}]
    res, out = _run(tmp_path, _pipeline(tmp_path, {"fail_on": "high"}, keep), src)
    assert res.exit_code == 0, res.output
    assert (out / "private.dcm").exists()
    res, out = _run(tmp_path / "any", _pipeline(tmp_path, True, keep), src)
    assert res.exit_code == 1 and not (out / "private.dcm").exists()


@pytest.mark.slow
def test_verify_pixels_finds_the_original_name_burned_into_an_unredacted_output(tmp_path):
    from pixels.synth import fonts_available, to_dataset, ultrasound_case

    if not fonts_available():
        pytest.skip("fonts-wqy-zenhei and fonts-dejavu are needed to draw the test text")
    s = ultrasound_case(7, chinese=False)
    src = tmp_path / "in"
    write(to_dataset(s, bits=8, modality="OT"), src / "us.dcm")
    res, out = _run(tmp_path, _pipeline(tmp_path, {"pixels": True}), src)  # pixels: off, so text stays
    assert res.exit_code == 1, res.output
    failed = [e for e in iter_events(tmp_path / "out.audit.sqlite") if e["action"] == "verify-failed"]
    assert failed and all(e["location"].startswith("pixels.frame[0].box[") for e in failed)
    assert "identity" in {e["category"] for e in failed}
    assert not (out / "us.dcm").exists()


def test_verify_is_validated():
    for bad in ("yes", {"pixels": "on"}, {"fail_on": "some"}, {"other": 1}, {"allow": "InstitutionName"}):
        with pytest.raises(PolicyError):
            build_pipeline({"name": "x", "verify": bad}, "x.yaml")
    assert not build_pipeline({"name": "x"}, "x.yaml").verify.enabled


def test_every_shipped_pipeline_verifies_its_output():
    for name in shipped_pipelines():
        assert load_pipeline(name).verify.enabled, name
