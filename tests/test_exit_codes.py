"""Exit codes and output a script can trust: usage and configuration errors are exit 2 with
one line (never a traceback, never exit 1, which means "some inputs quarantined"); an
internal error has its own code (4) and prints no value; a run whose accounting does not
balance exits 4; machine output is never wrapped, and `run --format json` is one object."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import deid.engine.runner as engine_runner
from deid.audit.log import AuditLog
from deid.cli import app
from helpers import KEY, make_ds, write

runner = CliRunner()


def _src(tmp_path):
    write(make_ds(), tmp_path / "in" / "x.dcm")
    return str(tmp_path / "in")


def _one_line_error(res, code=2):
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output and not isinstance(res.exception, (RuntimeError, OSError))
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), res.output
    return lines[0]


@pytest.mark.parametrize(
    "case",
    [
        "key-file-is-a-folder",
        "out-is-a-file",
        "out-parent-not-a-folder",
        "quarantine-not-a-folder",
        "vault-folder-cannot-be-made",
        "preview-is-a-file",
    ],
)
def test_configuration_errors_are_exit_2_with_one_line(tmp_path, case):
    src = _src(tmp_path)
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "keys").mkdir()
    out = str(tmp_path / "out")
    extra = {
        "key-file-is-a-folder": ["--key-file", str(tmp_path / "keys")],
        "out-is-a-file": [],
        "out-parent-not-a-folder": [],
        "quarantine-not-a-folder": [],
        "preview-is-a-file": ["--preview", str(tmp_path / "a-file")],
        "vault-folder-cannot-be-made": [
            "--vault",
            str(tmp_path / "a-file" / "v.sqlite"),
            "--vault-key-file",
            str(tmp_path / "v.key"),
        ],
    }[case]
    if case == "out-is-a-file":
        out = str(tmp_path / "a-file")
    if case == "out-parent-not-a-folder":
        out = str(tmp_path / "a-file" / "out")
    if case == "quarantine-not-a-folder":
        (tmp_path / "out.quarantine").write_text("x")
    _one_line_error(runner.invoke(app, ["run", src, "--out", out, "-q", *extra]))


def test_an_internal_error_is_exit_4_and_prints_no_value(tmp_path, monkeypatch):
    def boom(_s, _o):
        raise RuntimeError("QUIXOTE^ALONSO MRN-77123")  # an exception message may quote a value

    monkeypatch.setattr(engine_runner, "_count", boom)
    res = runner.invoke(app, ["run", _src(tmp_path), "--out", str(tmp_path / "out"), "-q", "--engine", "inline"])
    line = _one_line_error(res, 4)
    assert "internal error (RuntimeError)" in line and "QUIXOTE" not in res.output and "77123" not in res.output


def test_accounting_that_does_not_balance_is_exit_4(tmp_path, monkeypatch):
    """An input counted but with no file row in the audit log: the books do not balance."""
    real = AuditLog.record

    def lose_one(self, file, events, path_fp=""):
        if file.item != "x.dcm":
            real(self, file, events, path_fp)

    write(make_ds(), tmp_path / "in" / "y.dcm")
    monkeypatch.setattr(AuditLog, "record", lose_one)
    res = runner.invoke(
        app, ["run", _src(tmp_path), "--out", str(tmp_path / "out"), "-q", "--engine", "inline", "--format", "json"]
    )
    assert res.exit_code == 4, res.output
    summary = json.loads(res.stdout)
    assert summary["accounting"]["balanced"] is False
    assert "audit log: 1 'write' file rows, the run counted 2" in summary["accounting"]["problems"]


def _piped(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "deid.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "DEID_KEY": KEY.decode(), "COLUMNS": "80"},
        **kw,
    )


def test_machine_output_is_never_wrapped_and_json_is_one_object(tmp_path):
    deep = tmp_path / "in" / ("a-rather-long-folder-name-for-a-series-" * 3).strip("-") / "x.dcm"
    write(make_ds(), deep)
    found = _piped("check", str(tmp_path / "in"))
    assert found.returncode == 1
    lines = found.stdout.splitlines()
    assert lines and all(len(line.split("\t")) == 4 for line in lines) and max(map(len, lines)) > 80
    help_ = _piped("run", "--help")
    assert "…" not in help_.stdout and "~/.config/deid/key" in help_.stdout
    res = _piped("run", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "-q", "--format", "json")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert (summary["inputs"], summary["written"], summary["exit_code"]) == (1, 1, 0)
    assert summary["accounting"] == {"balanced": True, "problems": []}


def test_an_unknown_option_is_a_usage_error_not_an_internal_one():
    # typer >= 0.2x raises its own click's usage errors (not click.ClickException)
    res = runner.invoke(app, ["run", "--no-such-option"])
    assert res.exit_code == 2 and "internal error" not in res.output, res.output


@pytest.mark.parametrize("raised", ["KeyboardInterrupt", "click-130"])
def test_ctrl_c_before_the_command_starts_is_exit_3(monkeypatch, raised):
    """click turns a Ctrl-C while options are parsed into 130 (and Python into -SIGINT):
    deid's documented code for an interruption is 3, whenever it lands."""
    import click

    import deid.cli as cli

    def app() -> None:
        if raised == "KeyboardInterrupt":
            raise KeyboardInterrupt
        raise click.exceptions.Exit(130)

    monkeypatch.setattr(cli, "app", app)
    previous = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit) as exc:
            cli.main()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert exc.value.code == 3
