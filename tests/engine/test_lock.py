"""One run at a time per output folder and audit log: a second run is refused at once
(exit 2, one line naming the run that holds it); an audit log another program holds
locked is refused the same way, not a crash after a few seconds."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from typer.testing import CliRunner

from deid.cli import app
from helpers import make_ds, write

runner = CliRunner()
HOLDER = """
import sys
from pathlib import Path
from deid.engine.lock import hold
with hold(Path(sys.argv[1]), Path(sys.argv[2])):
    print("holding", flush=True)
    sys.stdin.read()
"""


def _args(tmp_path, *extra):
    write(make_ds(), tmp_path / "in" / "x.dcm")
    return ["run", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "-q", *extra]


def test_a_second_run_on_the_same_output_is_refused_naming_the_first(tmp_path):
    args = _args(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "out"), str(tmp_path / "out.audit.sqlite")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        res = runner.invoke(app, args)
        assert res.exit_code == 2, res.output
        assert f"in use by another deid run (process {holder.pid} on" in res.output
        assert len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output
        assert not (tmp_path / "out").exists()
    finally:
        holder.communicate("")
    res = runner.invoke(app, args)  # the holder is gone: the lock with it
    assert res.exit_code == 0, res.output
    assert not list(tmp_path.glob("*.lock"))


def test_an_audit_log_locked_by_another_program_is_a_clear_refusal(tmp_path):
    args = _args(tmp_path, "--audit", str(tmp_path / "audit.sqlite"))
    assert runner.invoke(app, args).exit_code == 0
    other = sqlite3.connect(tmp_path / "audit.sqlite", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        res = runner.invoke(app, args)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert res.exit_code == 2, res.output
    assert "is locked by another process" in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1
