"""A pipeline's own output passes its own verify: what the records pipeline writes
(tags such as [学校], pseudonyms such as N-…) is never read back as PHI. Before this
test, every synthetic Chinese note with a school and a class was quarantined: the school
rule matched across two adjacent tags ('校][学校' in '[学校][学校]'). Notes are synthetic
(tests/records/synth.py), in both languages, with seeds unlike the other tests'."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from deid.cli import app
from deid.text.recognize import find
from helpers import KEY
from records.synth import notes


@pytest.mark.parametrize(
    "text",
    [
        "就读于[学校][学校]。",
        "家住[地址][地址]，电话[电话]",
        "seen at [LOCATION] [LOCATION] by [NAME]",
        "[邮箱][IP][网址]",
    ],
)
def test_deids_own_tags_are_never_found_as_phi(text):
    assert find(text) == []


def test_a_real_value_beside_a_tag_is_still_found():
    spans = find("就读于[学校]，联系电话13912345678")
    assert [s.category for s in spans] == ["phone"]


@pytest.mark.parametrize("lang,seed", [("zh", 7100), ("en", 7200)])
def test_records_pipeline_output_passes_its_own_verify(tmp_path, lang, seed):
    src = tmp_path / "in"
    src.mkdir()
    batch = notes(lang, 40, seed=seed)
    for i, n in enumerate(batch):
        (src / f"note{i:02d}.txt").write_text(n.text, "utf-8")
    res = CliRunner().invoke(
        app,
        ["run", str(src), "--out", str(tmp_path / "out"), "-p", "records", "-q", "--workers", "1", "--format", "json"],
        env={"DEID_KEY": KEY.decode()},
    )
    summary = json.loads(res.output[res.output.index("{") :])
    reasons = tmp_path / "out.quarantine" / "REASONS.jsonl"
    assert summary["quarantined"] == 0, reasons.read_text("utf-8") if reasons.exists() else res.output
    assert summary["written"] == len(batch) and res.exit_code == 0


@pytest.mark.parametrize(
    "text,name", [("患者张伟[电话]已出院", "张伟"), ("Seen by Dr. Whitcombe [NAME] today", "Whitcombe")]
)
def test_a_name_right_beside_a_tag_is_still_found(text, name):
    assert [text[s.start : s.end] for s in find(text) if s.category == "name"] == [name]
