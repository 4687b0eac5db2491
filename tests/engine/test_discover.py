"""Nothing is silently skipped: links (to files, to folders, dangling, in a loop), FIFOs
and folders that cannot be listed are each an error the run counts, audits and gives a
reason for (exit 1); an input with no files at all is a usage error (exit 2)."""

from __future__ import annotations

import os

from typer.testing import CliRunner

from deid.cli import app
from helpers import file_rows, make_ds, reasons, write

runner = CliRunner()


def _tree(tmp_path):
    src = tmp_path / "in"
    write(make_ds(), src / "ok.dcm")
    write(make_ds(), src / "locked" / "inside.dcm")
    write(make_ds(patient_id="RAW"), tmp_path / "elsewhere" / "raw.dcm")
    (src / "to_file.dcm").symlink_to(tmp_path / "elsewhere" / "raw.dcm")
    (src / "to_folder").symlink_to(tmp_path / "elsewhere")
    (src / "dangling.dcm").symlink_to(tmp_path / "nowhere.dcm")
    (src / "loop_a").symlink_to(src / "loop_b")
    (src / "loop_b").symlink_to(src / "loop_a")
    os.mkfifo(src / "pipe.dcm")
    return src


def _unlistable(monkeypatch, folder):
    """A folder this user cannot list (tests may run as root, who can list anything)."""
    real = os.scandir

    def scandir(path="."):
        if os.fspath(path) == os.fspath(folder):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_links_fifos_and_unreadable_folders_are_counted_errors(tmp_path, monkeypatch):
    src = _tree(tmp_path)
    _unlistable(monkeypatch, src / "locked")
    res = runner.invoke(app, ["run", str(src), "--out", str(tmp_path / "out"), "-q", "-w", "1"])
    assert res.exit_code == 1, res.output
    assert "inputs 8 = written 1 + quarantined 0 + errors 7 (balanced)" in res.stdout
    why = {item: r["code"] for item, r in reasons(tmp_path / "out.quarantine").items()}
    assert why == {
        "to_file.dcm": "symlink",
        "to_folder": "symlink",
        "dangling.dcm": "symlink",
        "loop_a": "symlink",
        "loop_b": "symlink",
        "pipe.dcm": "not-a-regular-file",
        "locked": "unreadable-folder",
    }
    rows = file_rows(tmp_path / "out.audit.sqlite")
    assert {i for i, (a, _d) in rows.items() if a == "error"} == set(why)
    assert all(d for a, d in rows.values())
    assert not (tmp_path / "out.quarantine" / "to_file.dcm").exists()  # a link is never followed, nor copied


def test_an_input_with_no_files_is_a_usage_error(tmp_path):
    (tmp_path / "empty").mkdir()
    res = runner.invoke(app, ["run", str(tmp_path / "empty"), "--out", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 2
    assert "no input files found" in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
