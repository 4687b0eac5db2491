"""What deid keeps beside the output holds what the output must not: the quarantine (raw
inputs) is 0700 folders and 0600 files, the audit log 0600, whatever the umask."""

from __future__ import annotations

import os
import stat

from typer.testing import CliRunner

from deid.cli import app
from helpers import make_ds, write

runner = CliRunner()


def _mode(p) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_quarantine_and_audit_log_are_private(tmp_path):
    write(make_ds(), tmp_path / "in" / "ok.dcm")
    (tmp_path / "in" / "sub").mkdir()
    (tmp_path / "in" / "sub" / "broken.dcm").write_bytes(b"DICM raw bytes of a patient")
    old = os.umask(0o022)
    try:
        res = runner.invoke(app, ["run", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "-q"])
    finally:
        os.umask(old)
    assert res.exit_code == 1, res.output
    q = tmp_path / "out.quarantine"
    folders = [q] + [p for p in q.rglob("*") if p.is_dir()]
    files = [p for p in q.rglob("*") if p.is_file()]
    assert {f.name for f in files} == {"broken.dcm", "broken.dcm.reason.json", "REASONS.jsonl"}
    assert {_mode(p) for p in folders} == {0o700} and {_mode(p) for p in files} == {0o600}
    assert {_mode(p) for p in tmp_path.glob("out.audit.sqlite*")} == {0o600}
