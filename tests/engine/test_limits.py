"""Every decode runs under a time limit that fires, in every engine and in `deid check`.

The hang: a JPEG 2000 file whose JP2 box length is 0, on which pydicom's parameter scan
loops for ever. deid's pixel stage now refuses such a frame before pydicom sees it
(tests/pixels/test_pixel_safety.py), so here that check is switched off -- in this
process and, through a sitecustomize on PYTHONPATH, in every process a run starts -- and
the loop really runs: the file is quarantined as `timeout`, or is a finding, and the
batch ends."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from typer.testing import CliRunner

from deid.cli import app
from deid.limits import TimeLimit, time_limit
from helpers import file_rows, jp2_box_length_zero, make_ds, reasons, to_bytes

runner = CliRunner()


@pytest.fixture(autouse=True)
def real_loop(tmp_path, monkeypatch):
    """Let pydicom's loop happen: no JP2 box check here or in child processes."""
    import os

    from deid.dicom import pixels

    monkeypatch.setattr(pixels, "check_jp2_boxes", lambda fragment: None)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import deid.dicom.pixels as _pixels\n_pixels.check_jp2_boxes = lambda fragment: None\n"
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])))


def _inputs(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "loop.dcm").write_bytes(jp2_box_length_zero())
    (src / "fine.dcm").write_bytes(to_bytes(make_ds()))
    return src


@pytest.mark.parametrize("engine", ["inline", "local", "dask"])
def test_a_decoder_loop_is_stopped_in_every_engine(tmp_path, engine):
    if engine == "dask":
        pytest.importorskip("dask.distributed")
    src = _inputs(tmp_path)
    args = ["run", str(src), "--out", str(tmp_path / "out"), "-q", "--engine", engine, "--timeout", "3"]
    res = runner.invoke(app, args + ([] if engine == "inline" else ["-w", "1"]))
    assert res.exit_code == 1, res.output
    assert reasons(tmp_path / "out.quarantine")["loop.dcm"]["code"] == "timeout"
    assert (tmp_path / "out" / "fine.dcm").is_file()
    assert file_rows(tmp_path / "out.audit.sqlite")["loop.dcm"][0] == "quarantine"


def test_workers_1_with_a_timeout_returns(tmp_path):
    """The command from the report: `deid run --workers 1 --timeout N` never returned."""
    src = _inputs(tmp_path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "deid.cli",
            "run",
            str(src),
            "--out",
            str(tmp_path / "out"),
            "--workers",
            "1",
            "--timeout",
            "3",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    assert reasons(tmp_path / "out.quarantine")["loop.dcm"]["code"] == "timeout"


def test_check_pixels_stops_a_decoder_loop_and_reports_it(tmp_path):
    src = _inputs(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "deid.cli", "check", str(src / "loop.dcm"), "--pixels", "--timeout", "3"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    assert "loop.dcm\t<file>\tunreadable\tcheck:timeout-3s" in proc.stdout


def test_the_limit_fires_in_a_worker_thread_and_leaves_nothing_behind():
    caught = []

    def spin():
        try:
            with time_limit(0.2):
                while True:
                    pass
        except TimeLimit:
            caught.append("limit")
        with time_limit(5):  # a later block in the same thread is not hit by the old limit
            caught.append(sum(range(1000)))

    t = threading.Thread(target=spin)
    t.start()
    t.join(30)
    assert caught == ["limit", 499500]
