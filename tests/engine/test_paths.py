"""Paths deid writes never carry PHI and never crash it: a folder named after the patient
(`Hernandez_Deanna_MRN50349106/`), a birth-date folder (`19300314/`), a GBK-encoded
`张三_胸片.dcm` and a Latin-1 name are replaced by keyed names in the output, the
quarantine, REASONS.jsonl, the reason files, the audit log, `audit show` and the report;
the run and every rerun complete."""

from __future__ import annotations

import os
import sqlite3

import pytest
from typer.testing import CliRunner

from deid.cli import app
from deid.engine.paths import judge
from helpers import make_ds, to_bytes

runner = CliRunner()
PHI = ["Hernandez", "Deanna", "50349106", "19300314", "张三", "Müller"]
RAW = [p.encode("utf-8") for p in PHI] + ["张三".encode("gbk"), "Müller".encode("latin-1")]


def _inputs(tmp_path) -> bytes:
    src = os.fsencode(tmp_path / "in")
    good = to_bytes(make_ds(patient_id="PID-7", name="OTHER^NAME"))
    files = {
        b"Hernandez_Deanna_MRN50349106/broken.dcm": b"DICM not really",
        b"Hernandez_Deanna_MRN50349106/ok.dcm": good,
        b"19300314/ct.dcm": good,
        "张三_胸片.dcm".encode("gbk"): good,
        "Müller_Hans.dcm".encode("latin-1"): b"not dicom either",
        b"plain/keep.dcm": good,
    }
    for rel, data in files.items():
        path = src + b"/" + rel
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
    return src


def _names(root: str) -> list[bytes]:
    """Every file and folder name below root, as bytes (no decoding can hide one)."""
    out = []
    for dirpath, dirs, files in os.walk(os.fsencode(root)):
        out += [os.path.join(dirpath, n) for n in dirs + files]
    return out


def _leaks(blob: bytes) -> list[bytes]:
    return [r for r in RAW if r in blob]


def test_identifying_and_undecodable_names_never_reach_any_written_path(tmp_path):
    src = _inputs(tmp_path)
    out = tmp_path / "out"
    args = ["run", os.fsdecode(src), "--out", str(out), "-q"]
    res = runner.invoke(app, args)
    assert res.exit_code == 1, res.output  # two inputs cannot be parsed
    assert "inputs 6 = written 4 + quarantined 2 + errors 0 (balanced)" in res.stdout
    written = _names(str(out)) + _names(str(tmp_path / "out.quarantine"))
    for name in written:
        assert not _leaks(os.path.basename(name)), name
        name.decode("utf-8")  # every name written is text
    assert any(n.endswith(b"plain/keep.dcm") for n in written)  # nothing identifying: kept as is
    for f in (tmp_path / "out.quarantine").rglob("*"):
        if f.is_file() and f.suffix in (".json", ".jsonl"):
            assert not _leaks(f.read_bytes()), f
    for f in tmp_path.glob("out.audit.sqlite*"):
        assert not _leaks(f.read_bytes()), f
    assert not _leaks(res.stdout_bytes)
    show = runner.invoke(app, ["audit", "show", str(tmp_path / "out.audit.sqlite")])
    assert show.exit_code == 0 and "broken.dcm" in show.stdout and not _leaks(show.stdout_bytes)
    report = runner.invoke(
        app, ["audit", "report", str(tmp_path / "out.audit.sqlite"), "--out", str(tmp_path / "r.html")]
    )
    assert report.exit_code == 0 and not _leaks((tmp_path / "r.html").read_bytes())
    again = runner.invoke(app, args + ["--restart"])  # and every rerun completes
    assert again.exit_code == 1, again.output
    db = sqlite3.connect(tmp_path / "out.audit.sqlite")
    items = [i for (i,) in db.execute("SELECT DISTINCT item FROM events")]
    assert len(items) == 6 and all(i.isprintable() for i in items)


@pytest.mark.parametrize("name", ["H-89470668FE9B.dcm", "H-000012345678", "P-716DCAE99AA0"])
def test_deids_own_keyed_names_are_not_judged_identifying_whatever_digits_they_hold(name):
    """A keyed name is hex: some hold a run of eight digits, which the ID rule alone
    would take for a number; the gate must pass deid's own output names."""
    assert judge(name, last=True) == ""
    assert judge("89470668" + name[-4:].replace("A", "1"), last=True) == "id-number"  # the bare digits still are
    assert judge("123456789012.dcm", last=True) == "id-number"  # twelve digits: an ID, not a keyed name
