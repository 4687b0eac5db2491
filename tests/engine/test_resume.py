"""Crash safety and resume, by fault injection: `deid run` killed (SIGKILL) at random
points several times, then run again until it completes. Every input ends up exactly
once in the output or the quarantine, no temp file remains, the audit chain verifies,
and the outputs are byte-identical to an uninterrupted run with the same key."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deid.audit.log import verify
from helpers import KEY, make_ds, to_bytes

N = 1200


def _inputs(root: Path) -> Path:
    src = root / "in"
    for i in range(N):
        d = src / f"p{i % 12:02d}"
        d.mkdir(parents=True, exist_ok=True)
        ds = make_ds(
            patient_id=f"PID-{i % 12}",
            name=f"DOE^JANE{i % 12}",
            InstanceNumber=i,
            StudyInstanceUID=f"1.2.3.{i % 12}",
            SOPInstanceUID=f"1.2.3.{i % 12}.{i}",
        )
        (d / f"im{i:04d}.dcm").write_bytes(to_bytes(ds))
    (src / "broken.dcm").write_bytes(b"DICM" + b"\0" * 10)  # one input that is quarantined
    return src


def _cmd(src: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "deid.cli", "run", str(src), "--out", str(out), "-q", *extra]


def _env() -> dict:
    return {**os.environ, "DEID_KEY": KEY.decode()}


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.mark.parametrize("workers", ["1", "2"])
def test_killed_runs_resume_to_the_same_result(tmp_path, workers):
    src = _inputs(tmp_path)
    ref = tmp_path / "ref"
    t0 = time.perf_counter()
    assert subprocess.run(_cmd(src, ref, "-w", workers), env=_env()).returncode == 1  # broken.dcm
    whole = time.perf_counter() - t0
    out = tmp_path / "out"
    rng = random.Random(int(workers))
    kills = 0
    for _ in range(4):  # each kill lands somewhere in what is left of the work
        proc = subprocess.Popen(_cmd(src, out, "-w", workers), env=_env(), start_new_session=True)
        time.sleep(rng.uniform(0.3, 0.8) * whole)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers, as an OOM kill would
            kills += 1
        proc.wait()
    final = subprocess.run(_cmd(src, out, "-w", workers), env=_env(), capture_output=True, text=True)
    assert final.returncode == 1, final.stdout + final.stderr
    assert kills >= 1
    written = _tree(out)
    assert not [p for p in written if p.endswith(".part")]
    assert written == _tree(ref)  # byte-identical outputs
    q = tmp_path / "out.quarantine"
    assert not [p for p in q.rglob("*.part")]
    assert sorted(p.name for p in q.glob("*.dcm")) == ["broken.dcm"]
    lines = [json.loads(x) for x in (q / "REASONS.jsonl").read_text().splitlines()]
    assert [x["item"] for x in lines] == ["broken.dcm"] and all(x["code"] for x in lines)  # once, however often redone
    assert len(written) + 1 == N + 1  # every input exactly once
    assert verify(tmp_path / "out.audit.sqlite") == []


def test_ctrl_c_stops_cleanly_with_exit_3_and_resumes(tmp_path):
    src = _inputs(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.Popen(_cmd(src, out), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:  # interrupt once work is under way
        if len(list(out.rglob("*.dcm"))) >= 50:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=60)
    if proc.returncode == 3:
        assert "interrupted" in stdout
    else:  # it finished first on a fast machine
        assert proc.returncode == 1
    again = subprocess.run(_cmd(src, out), env=_env(), capture_output=True, text=True)
    assert again.returncode == 1 and "run the same command again" not in again.stdout
    if proc.returncode == 3:
        assert "already done are skipped" in again.stderr
    assert len([p for p in out.rglob("*.dcm")]) == N
    assert verify(tmp_path / "out.audit.sqlite") == []


def test_restart_ignores_the_interrupted_run(tmp_path):
    src = _inputs(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.Popen(_cmd(src, out), env=_env(), start_new_session=True)
    time.sleep(0.8)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    again = subprocess.run(_cmd(src, out, "--restart"), env=_env(), capture_output=True, text=True)
    assert again.returncode == 1 and "skipped" not in again.stderr + again.stdout
