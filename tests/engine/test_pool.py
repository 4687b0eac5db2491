"""The supervised local pool: a corrupt file, a file whose handler raises, and a file
that hangs past the timeout are each quarantined with a reason while the rest of the
batch completes; the pool's outputs equal the inline run's."""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import pytest

from deid.audit.log import AuditLog, verify
from deid.core import Context
from deid.engine import work as engine_work
from deid.engine.discover import discover
from deid.engine.job import Job
from deid.engine.runner import run
from deid.engine.sinks import FolderSink
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


def _run(tmp_path, src, name, workers, timeout=0.0, engine="local"):
    out = tmp_path / name
    job = Job(Context(load_pipeline(), Pseudonymizer(KEY)), FolderSink(out, tmp_path / f"{name}.quarantine"))
    log = AuditLog(tmp_path / f"{name}.sqlite")
    log.start_run("t", "h", {}, "k")
    summary = run(discover([src]), job, log, workers=workers, timeout=timeout, engine=engine)
    log.finish_run()
    log.close()
    return summary, out


def test_corrupt_raising_and_hanging_inputs_are_quarantined_and_the_batch_completes(tmp_path, monkeypatch):
    real = engine_work.prepare

    def flaky(item, job):
        if item.relpath == "raise.dcm":
            raise RuntimeError("boom")
        if item.relpath == "hang.dcm":
            time.sleep(3600)
        return real(item, job)

    monkeypatch.setattr(engine_work, "prepare", flaky)  # inherited by the forked workers
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
    _s1, a = _run(tmp_path, src, "inline", workers=1, engine="inline")
    _s2, b = _run(tmp_path, src, "pool", workers=3)

    def tree(d):
        return {
            p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in d.rglob("*") if p.is_file()
        }

    assert tree(a) == tree(b) and len(tree(a)) == 30


def test_a_worker_stuck_in_native_code_is_killed_and_only_its_item_is_blamed(tmp_path, monkeypatch):
    """A hang the in-worker limit cannot reach (SIGALRM blocked, as in native code): the
    worker is killed after the limit and its grace. Only the item it was on is quarantined;
    the items it had finished before (written, maybe not yet reported) are written and
    audited, each output with its digest."""
    import hashlib
    import signal
    import sqlite3

    from deid.engine.executors import pool

    real = engine_work.prepare

    def stuck(item, job):
        if item.relpath == "h.dcm":
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(3600)
        return real(item, job)

    monkeypatch.setattr(engine_work, "prepare", stuck)
    monkeypatch.setattr(pool, "KILL_GRACE", 1.0)
    src = tmp_path / "in"
    src.mkdir()
    for i in range(6):
        (src / f"a{i}.dcm").write_bytes(to_bytes(make_ds(patient_id="P1", SOPInstanceUID=f"1.2.{i}")))
    (src / "h.dcm").write_bytes(to_bytes(make_ds(SOPInstanceUID="1.2.99")))
    summary, out = _run(tmp_path, src, "out", workers=2, timeout=2)
    assert (summary.ok, summary.quarantined) == (6, 1)
    db = sqlite3.connect(tmp_path / "out.sqlite")
    rows = dict(db.execute("SELECT item, action FROM events WHERE location='<file>'"))
    assert rows == {**{f"a{i}.dcm": "write" for i in range(6)}, "h.dcm": "quarantine"}
    digests = dict(db.execute("SELECT item, detail FROM events WHERE location='<output>'"))
    for i in range(6):
        assert digests[f"a{i}.dcm"] == "sha256=" + hashlib.sha256((out / f"a{i}.dcm").read_bytes()).hexdigest()
    assert "timeout" in (tmp_path / "out.quarantine" / "h.dcm.reason.json").read_text()
    assert sorted(p.name for p in (tmp_path / "out.quarantine").glob("*.dcm")) == ["h.dcm"]


class Panic(BaseException):
    """What a native decoder's panic looks like from Python (pyo3's PanicException)."""


def test_a_native_panic_quarantines_its_input_not_the_worker(tmp_path, monkeypatch):
    real = engine_work.prepare

    def panicking(item, job):
        if item.relpath.startswith("im00"):
            raise Panic("index out of bounds")
        return real(item, job)

    monkeypatch.setattr(engine_work, "prepare", panicking)
    summary, _out = _run(tmp_path, _batch(tmp_path, 12), "out", workers=2)
    assert summary.reasons == {"internal-error": 10, "truncated": 1}  # im000-im009; corrupt.dcm
    assert "internal-error: Panic" in (tmp_path / "out.quarantine" / "im000.dcm.reason.json").read_text()


def test_check_reports_a_native_panic_as_a_finding(monkeypatch):
    import deid.dicom.findings as check_dicom
    from deid.check.scan import check_bytes

    def panicking(*_a, **_k):
        raise Panic("index out of bounds")

    monkeypatch.setattr(check_dicom, "check_dicom", panicking)
    found = check_bytes(to_bytes(make_ds()), "x.dcm", None)
    assert [(f.category, f.rule) for f in found] == [("unreadable", "check:internal-error:Panic")]


def test_a_write_that_raises_is_blamed_on_its_own_item_and_prints_nothing(tmp_path, monkeypatch, capfd):
    """Not an OSError (a bug in a sink): that item is an error with the class name (it
    killed its worker, and the item the worker was preparing took the blame), nothing
    reaches stderr (a traceback could show a path), the batch goes on."""
    src = tmp_path / "in"
    src.mkdir()
    for i in range(6):
        (src / f"im{i}.dcm").write_bytes(to_bytes(make_ds(patient_id="P1", SOPInstanceUID=f"1.2.{i}")))
    real = FolderSink.put

    def put(self, rel, data):
        if rel.endswith("im3.dcm"):
            raise RuntimeError("/secret/DOE^JANE/im3.dcm")
        return real(self, rel, data)

    monkeypatch.setattr(FolderSink, "put", put)
    monkeypatch.delenv("DEID_DEBUG", raising=False)
    s, out = _run(tmp_path, src, "o", workers=2)
    assert (s.ok, s.quarantined, s.errors) == (5, 0, 1) and s.reasons == {"write-failed": 1}
    assert not (out / "im3.dcm").exists() and (out / "im4.dcm").is_file()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "DOE^JANE" not in err


def _good_batch(tmp_path, n):
    """_batch without its corrupt, raising and hanging inputs: n good ones."""
    src = _batch(tmp_path, n)
    for name in ("raise.dcm", "hang.dcm", "corrupt.dcm"):
        (src / name).unlink()
    return src


def _job(tmp_path, name):
    return Job(Context(load_pipeline(), Pseudonymizer(KEY)), FolderSink(tmp_path / name, tmp_path / f"{name}.q"))


def _take_all(sup, src):
    out = []
    sup.run(discover([src]), out.append)
    return out


def test_a_kept_pool_outlives_a_run_and_an_interrupted_run_stops_it(tmp_path):
    """The gateway runs a batch at a time on one pool (Supervisor keep): the same workers
    serve the next run, forked from a forkserver (the gateway has threads); stop() ends
    them, and so does a run whose driver stops it (its workers may still hold its items)."""
    from deid.engine.executors.pool import Supervisor

    src = _good_batch(tmp_path, 6)
    sup = Supervisor(_job(tmp_path, "kept"), 2, keep=True, start_method="forkserver")
    try:
        first = _take_all(sup, src)
        pids = [s.proc.pid for s in sup.slots]
        assert len(pids) == 2 and all(s.proc.is_alive() for s in sup.slots)
        second = _take_all(sup, src)
        assert [s.proc.pid for s in sup.slots] == pids  # the same workers
        assert sorted(o.status for o in first + second) == ["ok"] * 12
    finally:
        sup.stop()
    assert sup.slots == []

    class Stop(Exception):
        pass

    def take(_o):
        raise Stop

    with pytest.raises(Stop):
        sup.run(discover([src]), take)
    assert sup.slots == []  # stopped, although kept


def test_a_worker_lets_its_sink_go_when_it_ends(tmp_path):
    """A worker's sink is closed as the worker ends (a C-STORE sink releases its
    associations rather than dropping them on the peer)."""
    from deid.engine.executors.pool import Supervisor

    class Closing(FolderSink):
        def close(self):
            (tmp_path / "closed").mkdir(exist_ok=True)
            (tmp_path / "closed" / str(os.getpid())).touch()

    src = _good_batch(tmp_path, 2)
    job = Job(Context(load_pipeline(), Pseudonymizer(KEY)), Closing(tmp_path / "o", tmp_path / "o.q"))
    sup = Supervisor(job, 2)
    _take_all(sup, src)
    assert len(list((tmp_path / "closed").iterdir())) == 2  # one per worker, none in this process
    assert not (tmp_path / "closed" / str(os.getpid())).exists()


def test_a_sigterm_to_the_whole_unit_does_not_kill_a_worker(tmp_path):
    """systemd stops a service with SIGTERM to every process of its unit (a terminal's
    Ctrl-C reaches the whole process group): the workers ignore both and the driver
    decides. A worker killed by it would have its item quarantined as worker-died."""
    import signal

    from deid.engine.executors.pool import Supervisor

    src = _good_batch(tmp_path, 4)
    sup = Supervisor(_job(tmp_path, "term"), 2, keep=True)
    try:
        _take_all(sup, src)
        pids = [s.proc.pid for s in sup.slots]
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
            os.kill(pid, signal.SIGINT)
        time.sleep(0.3)
        again = _take_all(sup, src)
        assert [s.proc.pid for s in sup.slots] == pids and all(s.proc.is_alive() for s in sup.slots)
        assert [o.status for o in again] == ["ok"] * 4
    finally:
        sup.stop()


def test_a_kept_worker_that_died_while_idle_is_replaced_and_nothing_is_blamed(tmp_path):
    import signal

    from deid.engine.executors.pool import Supervisor

    src = _good_batch(tmp_path, 4)
    sup = Supervisor(_job(tmp_path, "idle"), 2, keep=True)
    try:
        _take_all(sup, src)
        dead = sup.slots[0].proc
        os.kill(dead.pid, signal.SIGKILL)  # the out-of-memory killer, between batches
        dead.join(5)
        again = _take_all(sup, src)
        assert [o.status for o in again] == ["ok"] * 4
        assert sup.slots[0].proc.pid != dead.pid and sup.slots[0].proc.is_alive()
    finally:
        sup.stop()


DRIVER = """
import sys, time
sys.path[:0] = [{tests!r}]
from pathlib import Path
from deid.core import Context
from deid.engine.discover import discover
from deid.engine.executors.pool import Supervisor
from deid.engine.job import Job
from deid.engine.sinks import FolderSink
from deid.policy import load_pipeline
from deid.pseudonym import Pseudonymizer
from helpers import KEY
tmp = Path({tmp!r})
job = Job(Context(load_pipeline(), Pseudonymizer(KEY)), FolderSink(tmp / "o", tmp / "o.q"))
if {forkserver!r}:
    from deid.gateway.service import _pool
    sup = _pool(job, 2)
else:
    sup = Supervisor(job, 2, keep=True)
sup.run(discover([tmp / "in"]), lambda o: None)
print(" ".join(str(s.proc.pid) for s in sup.slots), flush=True)
if {forkserver!r}:
    import signal, os
    from multiprocessing import forkserver
    before = forkserver._forkserver._forkserver_pid
    os.kill(before, signal.SIGTERM)  # systemd: the whole unit
    time.sleep(0.5)
    out = []
    sup.run(discover([tmp / "in"]), out.append)
    same = forkserver._forkserver._forkserver_pid == before and os.waitpid(before, os.WNOHANG) == (0, 0)
    print(same, len(out), " ".join(str(s.proc.pid) for s in sup.slots), flush=True)
    sup.stop()
    sys.exit(0)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/status").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_of_a_driver_killed_with_sigkill_die_with_it(tmp_path):
    """A forked worker holds the driver's pipe ends and ignores SIGTERM: after a kill -9
    of the driver it would wait for ever and keep the run's lock. It dies with its parent."""
    import signal
    import subprocess

    _good_batch(tmp_path, 2)
    code = DRIVER.format(tests=str(Path(__file__).parents[1]), tmp=str(tmp_path), forkserver=False)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(p) for p in pids)
    finally:
        proc.kill()


def test_the_gateways_forkserver_outlives_a_sigterm_to_the_whole_unit(tmp_path):
    """systemd's stop (KillMode=control-group) sends SIGTERM to every process of the
    unit: the forkserver the gateway's workers come from survives it (forkserver_preload),
    so the supervisor still knows its workers and the next batch runs on them."""
    import subprocess

    _good_batch(tmp_path, 3)
    code = DRIVER.format(tests=str(Path(__file__).parents[1]), tmp=str(tmp_path), forkserver=True)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    first, after = r.stdout.splitlines()
    assert after == f"True 3 {first}"  # the same forkserver, the same workers, every item done
