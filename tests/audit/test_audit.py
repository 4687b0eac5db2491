"""Audit log: hash chain verifies fresh, fails after any edit/delete; export works."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest
from typer.testing import CliRunner

from deid.audit import AuditEvent, AuditLog, FileRecord, verify
from deid.cli import app

runner = CliRunner()


@pytest.fixture
def log_path(tmp_path):
    p = tmp_path / "a.sqlite"
    log = AuditLog(p)
    for run in range(2):
        log.start_run("dicom-basic", "h" * 64, {"deid": "t"}, "kid")
        for i in range(3):
            evs = [
                AuditEvent("PatientName", "remove", "identity", "ps3.15:basic:(0010,0010)", "f" * 24),
                AuditEvent("StudyDate", "shift-date", "date", "ps3.15:x", "e" * 24),
            ]
            log.record(FileRecord(f"r{run}/f{i}.dcm", "ok", "a" * 24, f"r{run}/f{i}.dcm"), evs)
        log.finish_run()
    log.close()
    return p


def test_fresh_log_verifies(log_path):
    assert verify(log_path) == []
    res = runner.invoke(app, ["audit", "verify", str(log_path)])
    assert res.exit_code == 0 and "intact" in res.output


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE events SET action='keep' WHERE seq=4",
        "UPDATE events SET fingerprint='0' WHERE seq=1",
        "DELETE FROM events WHERE seq=5",
        "DELETE FROM events WHERE seq=(SELECT MAX(seq) FROM events)",
        "UPDATE runs SET files_quarantined=0, files_ok=99",
    ],
)
def test_any_alteration_fails_verify(log_path, tmp_path, sql):
    bad = tmp_path / "bad.sqlite"
    shutil.copy(log_path, bad)
    db = sqlite3.connect(bad)
    db.execute(sql)
    db.commit()
    db.close()
    assert verify(bad)
    assert runner.invoke(app, ["audit", "verify", str(bad)]).exit_code == 1


def test_show_and_export(log_path):
    res = runner.invoke(app, ["audit", "show", str(log_path), "--file", "r0/f1.dcm"])
    assert res.exit_code == 0 and "PatientName" in res.output
    res = runner.invoke(app, ["audit", "export", str(log_path), "--format", "jsonl"])
    lines = [json.loads(x) for x in res.output.splitlines() if x.strip()]
    assert len(lines) == 18 and lines[0]["seq"] == 1
    res = runner.invoke(app, ["audit", "export", str(log_path), "--format", "csv"])
    assert res.output.splitlines()[0].startswith("seq,run_id,item,location")


def test_not_an_audit_log(tmp_path):
    p = tmp_path / "x.sqlite"
    p.write_text("hello")
    res = runner.invoke(app, ["audit", "verify", str(p)])
    assert res.exit_code == 2


def test_a_durable_log_is_on_disk_at_each_commit(tmp_path):
    """The gateway deletes a spool entry right after the commit that records it: its log
    syncs every commit (FULL); a run's log may lose its last commits to a power cut (NORMAL),
    which a resumed run redoes."""
    for durable, level in ((True, 2), (False, 1)):
        log = AuditLog(tmp_path / f"{durable}.sqlite", durable=durable)
        assert log.db.execute("PRAGMA synchronous").fetchone()[0] == level
        log.close()
