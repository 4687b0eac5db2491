"""`deid audit show` prints every field with control characters escaped: an audit log can
be edited, and a name can hold a terminal escape sequence or a newline."""

from __future__ import annotations

from typer.testing import CliRunner

from deid.audit.events import AuditEvent
from deid.audit.log import AuditLog, FileRecord
from deid.cli import app

runner = CliRunner()


def test_terminal_escapes_in_a_log_are_shown_escaped(tmp_path):
    log = AuditLog(tmp_path / "a.sqlite")
    log.start_run("p\x1b]0;owned\x07", "h", {}, "k")
    log.record(
        FileRecord("evil\x1b[2J\x1b[31mname\n.dcm", "ok", "fp", "out\u202e.dcm"),
        [AuditEvent("Loc\x9b31m", "remove", "identity", "rule", "", "\r")],
    )
    log.finish_run()
    log.close()
    res = runner.invoke(app, ["audit", "show", str(tmp_path / "a.sqlite")])
    assert res.exit_code == 0, res.output
    for raw in ("\x1b", "\x07", "\x9b", "\u202e", "\r"):
        assert raw not in res.output
    assert "evil\\x1b[2J\\x1b[31mname\\x0a.dcm" in res.output and "out\\u202e.dcm" in res.output
    assert len([line for line in res.output.splitlines() if line.startswith(("1\t", "2\t"))]) == 2
