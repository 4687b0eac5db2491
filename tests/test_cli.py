"""End to end through the CLI: exit codes, quarantine, atomic output, audit, and no PHI anywhere."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from typer.testing import CliRunner

from deid.cli import app
from helpers import make_ds, write

runner = CliRunner()
# Planted identifying values: none may appear in output, audit, logs or CLI output.
PLANTED = [
    "QUIXOTE^ALONSO",
    "QUIXOTE",
    "ALONSO",
    "MRN-77123",
    "19410213",
    "ACC-55421",
    "La Mancha General",
    "SANCHO^PANZA",
    "Calle Mayor 12",
    "555-0142-77",
]


def _input(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    ds = make_ds(
        patient_id="MRN-77123",
        name="QUIXOTE^ALONSO",
        PatientBirthDate="19410213",
        AccessionNumber="ACC-55421",
        InstitutionName="La Mancha General",
        ReferringPhysicianName="SANCHO^PANZA",
        PatientAddress="Calle Mayor 12",
        PatientTelephoneNumbers="555-0142-77",
        StudyDescription="CT for QUIXOTE ALONSO born 19410213",
    )
    item = Dataset()
    item.RequestedProcedureDescription = "Quixote head CT"
    item.RequestingPhysician = "SANCHO^PANZA"
    ds.RequestAttributesSequence = Sequence([item])
    ds.private_block(0x0009, "HOSP PRIV", create=True).add_new(0x01, "LO", "QUIXOTE^ALONSO")
    write(ds, src / "pat" / "img1.dcm")
    write(make_ds(patient_id="MRN-77123", name="QUIXOTE^ALONSO"), src / "pat" / "img2.dcm")
    good = (src / "pat" / "img1.dcm").read_bytes()
    (src / "broken").mkdir()
    # cut inside a value, so the file is truncated whatever its (random) UIDs' lengths: a
    # cut at a fixed share of the file landed on an element boundary ~1 run in 75 and parsed
    (src / "broken" / "truncated.dcm").write_bytes(good[: good.index(b"La Mancha General") + 5])
    (src / "broken" / "notes.rtf").write_text("QUIXOTE^ALONSO MRN-77123")  # a kind no handler takes
    return src


def _grep(data: bytes) -> list[str]:
    low = data.lower()
    return [p for p in PLANTED if p.lower().encode() in low]


def test_run_exit_codes_quarantine_and_no_phi_anywhere(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    src = _input(tmp_path)
    before = {p: p.read_bytes() for p in src.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(src), "--out", str(out), "-p", "dicom-research"])
    assert res.exit_code == 1, res.output  # quarantined inputs -> 1
    assert {p: p.read_bytes() for p in src.rglob("*") if p.is_file()} == before  # inputs untouched
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["pat/img1.dcm", "pat/img2.dcm"]
    q = tmp_path / "out.quarantine"
    assert (q / "broken" / "truncated.dcm.reason.json").is_file()
    assert (q / "broken" / "notes.rtf.reason.json").is_file()
    audit = tmp_path / "out.audit.sqlite"
    assert audit.is_file() and not (out / "out.audit.sqlite").exists()
    # no planted value anywhere: outputs, audit DB (+WAL), CLI output, logs
    for p in out.rglob("*"):
        if p.is_file():
            assert _grep(p.read_bytes()) == [], p
    for p in tmp_path.glob("out.audit.sqlite*"):
        assert _grep(p.read_bytes()) == [], p
    assert _grep(res.output.encode()) == []
    assert _grep(caplog.text.encode()) == []
    for p in q.rglob("*.reason.json"):
        assert _grep(p.read_bytes()) == []
    # the audit names what was removed, by location and rule
    db = sqlite3.connect(audit)
    rows = db.execute("SELECT location, action, rule_id, fingerprint FROM events WHERE item='pat/img1.dcm'").fetchall()
    locs = {r[0]: r for r in rows}
    assert locs["PatientName"][1] == "pseudonym" and locs["PatientName"][2] == "override:1"
    assert locs["RequestAttributesSequence[0].RequestingPhysician"][1] == "remove"
    assert locs["(0009,1001)"][2] == "ps3.15:basic:private"
    assert all(len(r[3]) in (0, 24) for r in rows)
    assert db.execute("SELECT COUNT(*) FROM events WHERE action='quarantine'").fetchone()[0] == 2


def test_exit_zero_when_all_clean_and_two_inputs_land_under_their_names(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write(make_ds(), a / "x.dcm")
    write(make_ds(), b / "y.dcm")
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(a), str(b), "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert (out / "a" / "x.dcm").is_file() and (out / "b" / "y.dcm").is_file()


def test_usage_errors_exit_2(tmp_path):
    write(make_ds(), tmp_path / "in" / "x.dcm")
    assert runner.invoke(app, ["run", str(tmp_path / "in"), "--out", str(tmp_path / "in" / "o")]).exit_code == 2
    assert (
        runner.invoke(
            app, ["run", str(tmp_path / "in"), "--out", str(tmp_path / "o"), "-p", "no-such-pipeline"]
        ).exit_code
        == 2
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("dicom:\n  options: [retain_everything]\n")
    res = runner.invoke(app, ["policy", "validate", str(bad)])
    assert res.exit_code == 2 and "retain_everything" in res.output


def test_pseudonymized_naming(tmp_path):
    write(make_ds(patient_id="MRN-77123", name="QUIXOTE^ALONSO"), tmp_path / "in" / "QUIXOTE_ALONSO" / "a.dcm")
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(tmp_path / "in"), "--out", str(out), "-q", "--naming", "pseudonymized"])
    assert res.exit_code == 0
    (f,) = [p for p in out.rglob("*") if p.is_file()]
    assert "QUIXOTE" not in str(f) and f.parts[-3].startswith("P-")


def test_policy_show_lists_every_row_with_its_source():
    res = runner.invoke(app, ["policy", "show", "-p", "dicom-research", "--json"])
    assert res.exit_code == 0
    import json

    rows = json.loads(res.output)
    assert len(rows) == 621
    by_tag = {r["tag"]: r for r in rows}
    assert by_tag["(0010,0010)"]["rule_id"] == "override:1"
    assert by_tag["(0008,0020)"]["action"] == "shift-date"
    assert by_tag["(0008,1030)"]["rule_id"].startswith("ps3.15:clean_descriptors")


def test_console_script_help():
    proc = subprocess.run([sys.executable, "-m", "deid.cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "Exit codes" in proc.stdout


def test_input_path_naming_the_patient_is_not_mirrored(tmp_path):
    write(make_ds(patient_id="MRN-77123", name="QUIXOTE^ALONSO"), tmp_path / "in" / "QUIXOTE_ALONSO" / "a.dcm")
    write(make_ds(patient_id="MRN-1", name="OTHER^PERSON"), tmp_path / "in" / "plain" / "b.dcm")
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(tmp_path / "in"), "--out", str(out), "-q"])
    assert res.exit_code == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert "plain/b.dcm" in files and len(files) == 2
    assert not any("quixote" in f.lower() for f in files)
    for p in tmp_path.glob("out.audit.sqlite*"):
        assert b"QUIXOTE" not in p.read_bytes().upper()


def test_preamble_and_file_meta_are_not_copied(tmp_path):
    from helpers import to_bytes

    ds = make_ds()
    ds.file_meta.SourceApplicationEntityTitle = "HOSPSECRET1"
    ds.file_meta.SendingApplicationEntityTitle = "HOSPSECRET2"
    data = bytearray(to_bytes(ds))
    data[0:16] = b"SECRETPREAMBLE!!"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.dcm").write_bytes(bytes(data))
    out = tmp_path / "out"
    assert runner.invoke(app, ["run", str(tmp_path / "in"), "--out", str(out), "-q"]).exit_code == 0
    got = (out / "x.dcm").read_bytes()
    assert b"SECRET" not in got and got[:128] == b"\x00" * 128


def test_long_file_name_is_quarantined_without_aborting(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / ("n" * 240 + ".dcm")).write_bytes(b"not dicom")
    write(make_ds(), src / "ok.dcm")
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(src), "--out", str(out), "-q"])
    assert res.exit_code == 1, res.output
    assert (out / "ok.dcm").is_file()
