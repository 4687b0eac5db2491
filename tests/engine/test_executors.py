"""The same folder through the inline, local and dask executors (a real LocalCluster of
2 workers): byte-identical outputs and equivalent audit logs."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest
from typer.testing import CliRunner

from deid.cli import app
from helpers import make_ds, to_bytes

runner = CliRunner()


def _tree(d):
    return {
        p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in d.rglob("*") if p.is_file()
    }


def _events(db):
    con = sqlite3.connect(db)
    try:
        return sorted(con.execute("SELECT item, location, action, category, rule_id, fingerprint FROM events"))
    finally:
        con.close()


def test_inline_local_and_dask_agree(tmp_path):
    pytest.importorskip("dask.distributed")
    src = tmp_path / "in"
    src.mkdir()
    for i in range(24):
        (src / f"im{i:02d}.dcm").write_bytes(to_bytes(make_ds(patient_id=f"P{i % 3}", SOPInstanceUID=f"1.2.{i}")))
    (src / "visits.csv").write_text("mrn,phone,note\nP1,13812345678,seen 2024-03-01\n")
    (src / "broken.dcm").write_bytes(b"not dicom at all")
    trees, audits = {}, {}
    for engine in ("inline", "local", "dask"):
        out = tmp_path / engine
        args = ["run", str(src), "--out", str(out), "-q", "--engine", engine, "-p", "records"]
        res = runner.invoke(app, args + ([] if engine == "inline" else ["-w", "2"]))
        assert res.exit_code == 1, res.output  # broken.dcm quarantined
        trees[engine] = _tree(out)
        audits[engine] = _events(tmp_path / f"{engine}.audit.sqlite")
    assert len(trees["inline"]) == 25
    assert trees["inline"] == trees["local"] == trees["dask"]
    assert audits["inline"] == audits["local"] == audits["dask"]


def test_dry_run_counts_and_writes_nothing(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(5):
        (src / f"im{i}.dcm").write_bytes(to_bytes(make_ds(SOPInstanceUID=f"1.2.{i}")))
    (src / "v.csv").write_text("mrn,phone\nP1,13812345678\n")
    res = runner.invoke(app, ["run", str(src), "--out", str(tmp_path / "out"), "--dry-run", "-w", "1"])
    assert res.exit_code == 0, res.output
    assert "would write 6" in res.output and "records" in res.output and "pseudonym" in res.output
    assert not any(tmp_path.glob("out*"))


def test_an_unreachable_dask_scheduler_is_a_configuration_error(monkeypatch):
    """--scheduler pointing nowhere is exit 2 with one line (it was exit 4, an internal
    error), after distributed's own connect timeout; here Client fails at once."""
    distributed = pytest.importorskip("dask.distributed")
    from deid.engine.executors.dask import DaskExecutor
    from deid.errors import DeidError

    def unreachable(*args, **kwargs):
        raise OSError("Timed out trying to connect")

    monkeypatch.setattr(distributed, "Client", unreachable)
    with pytest.raises(DeidError, match="cannot reach the Dask scheduler at --scheduler tcp://127.0.0.1:1: OSError"):
        DaskExecutor(None, 1, "tcp://127.0.0.1:1").run([], lambda o: None)
