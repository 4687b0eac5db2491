"""The supervised local pool: a corrupt file, a file whose handler raises, and a file
that hangs past the timeout are each quarantined with a reason while the rest of the
batch completes; the pool's outputs equal the inline run's."""
from __future__ import annotations

import hashlib
import time

from deid.audit.log import AuditLog, verify
from deid.engine import runner as engine_runner
from deid.engine.discover import discover
from deid.engine.runner import Job, run
from deid.handlers import Context
from deid.policy import load_pipeline
from deid.pseudonym import Pseudonymizer
from helpers import KEY, make_ds, to_bytes


def _batch(tmp_path, n=40):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(n):
        (src / f"im{i:03d}.dcm").write_bytes(to_bytes(make_ds(patient_id=f"P{i % 4}", SOPInstanceUID=f"1.2.{i}")))
    (src / "corrupt.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\xff")
    (src / "raise.dcm").write_bytes(to_bytes(make_ds(SOPInstanceUID="1.2.999")))
    (src / "hang.dcm").write_bytes(to_bytes(make_ds(SOPInstanceUID="1.2.998")))
    return src


def _run(tmp_path, src, name, workers, timeout=0.0):
    out = tmp_path / name
    job = Job(Context(load_pipeline(), Pseudonymizer(KEY)), out, tmp_path / f"{name}.quarantine")
    log = AuditLog(tmp_path / f"{name}.sqlite")
    log.start_run("t", "h", {}, "k")
    summary = run(discover([src]), job, log, workers=workers, timeout=timeout)
    log.finish_run()
    log.close()
    return summary, out


def test_corrupt_raising_and_hanging_inputs_are_quarantined_and_the_batch_completes(tmp_path, monkeypatch):
    real = engine_runner.prepare

    def flaky(item, job):
        if item.relpath == "raise.dcm":
            raise RuntimeError("boom")
        if item.relpath == "hang.dcm":
            time.sleep(3600)
        return real(item, job)

    monkeypatch.setattr(engine_runner, "prepare", flaky)  # inherited by the forked workers
    src = _batch(tmp_path)
    t0 = time.monotonic()
    summary, out = _run(tmp_path, src, "out", workers=2, timeout=3)
    assert time.monotonic() - t0 < 60
    assert summary.ok == 40 and summary.quarantined == 3
    codes = {p.name[: -len(".reason.json")]: p.read_text() for p in (tmp_path / "out.quarantine").glob("*.reason.json")}
    assert set(codes) == {"corrupt.dcm", "raise.dcm", "hang.dcm"}
    assert "timeout" in codes["hang.dcm"] and "internal-error" in codes["raise.dcm"]
    assert verify(tmp_path / "out.sqlite") == []


def test_pool_outputs_equal_inline_outputs(tmp_path):
    src = _batch(tmp_path, 30)
    for name in ("raise.dcm", "hang.dcm"):
        (src / name).unlink()
    _s1, a = _run(tmp_path, src, "inline", workers=1)
    _s2, b = _run(tmp_path, src, "pool", workers=3)

    def tree(d):
        return {p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in d.rglob("*")
                if p.is_file()}
    assert tree(a) == tree(b) and len(tree(a)) == 30
