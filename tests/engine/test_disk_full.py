"""A full disk stops the run cleanly (exit 3, like an interrupt): every input is written,
set aside, or left for the resumed run, never lost; no temp file is left; the same
command finishes the work once there is space again."""

from __future__ import annotations

import errno
import json

import pytest
from typer.testing import CliRunner

import deid.engine.sinks.folder as folder_sink
from deid.audit.log import AuditFull, AuditLog, verify
from deid.cli import app
from helpers import file_rows, make_ds, to_bytes

runner = CliRunner()
N = 12


def _inputs(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(N):
        (src / f"im{i:02d}.dcm").write_bytes(to_bytes(make_ds(patient_id=f"P{i % 3}", SOPInstanceUID=f"1.2.{i}")))
    (src / "broken.dcm").write_bytes(b"DICM" + b"\0" * 10)
    return src


def _full_after(monkeypatch, n: int) -> None:
    """Outputs from im{n} on find the disk full (in forked workers too)."""
    real = folder_sink.atomic_write

    def write(path, data, dir_mode=None):
        if path.name.startswith("im") and int(path.name[2:4]) >= n:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data, dir_mode)

    monkeypatch.setattr(folder_sink, "atomic_write", write)


def _audit_full_after(monkeypatch, n: int) -> None:
    """The audit log's disk fills up after n files."""
    real = AuditLog.record

    def record(self, file, events, path_fp=""):
        if sum(self.counts.values()) >= n:
            raise AuditFull("audit log: the disk is full")
        real(self, file, events, path_fp)

    monkeypatch.setattr(AuditLog, "record", record)


@pytest.mark.parametrize("engine,fill", [("inline", _full_after), ("local", _full_after), ("local", _audit_full_after)])
def test_disk_full_stops_with_exit_3_and_the_rerun_finishes(tmp_path, monkeypatch, engine, fill):
    src, out = _inputs(tmp_path), tmp_path / "out"
    args = ["run", str(src), "--out", str(out), "-q", "--engine", engine, "-w", "2", "--format", "json"]
    with monkeypatch.context() as m:
        fill(m, 5)
        res = runner.invoke(app, args)
    assert res.exit_code == 3, res.output
    first = json.loads(res.stdout)
    assert first["interrupted"] and "full" in first["stop_reason"] and first["accounting"]["balanced"]
    assert first["written"] + first["quarantined"] + first["errors"] + first["left"] == first["inputs"] == N + 1
    assert first["left"] > 0
    rows = file_rows(tmp_path / "out.audit.sqlite")
    assert not [p for p in tmp_path.rglob("*.part")]
    for p in out.rglob("*.dcm"):  # an output on disk is one the audit log records as written...
        assert rows.get(p.name, ("",))[0] == "write" or p.name not in rows, p
    res = runner.invoke(app, args)  # ... or one the resumed run writes again
    assert res.exit_code == 1, res.output  # broken.dcm
    second = json.loads(res.stdout)
    assert second["accounting"]["balanced"] and second["left"] == 0
    assert second["done_earlier"] + second["written"] + second["quarantined"] == N + 1
    assert sorted(p.name for p in out.rglob("*.dcm")) == [f"im{i:02d}.dcm" for i in range(N)]
    assert verify(tmp_path / "out.audit.sqlite") == []
