"""Engine: atomic writes, workers give the same bytes, quarantine beside (not inside) the output."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from deid.audit.log import AuditLog, verify
from deid.core import Context
from deid.engine.discover import discover
from deid.engine.job import Job
from deid.engine.runner import run
from deid.engine.sinks import FolderSink
from deid.engine.writer import atomic_write
from deid.policy import load_pipeline
from deid.pseudonym import Pseudonymizer
from helpers import make_ds, write


def _tree(root: Path, n: int = 12) -> None:
    for i in range(n):
        write(make_ds(patient_id=f"PID-{i % 3}", name=f"PERSON^{i}"), root / f"p{i % 3}" / f"{i}.dcm")
    (root / "junk.bin").write_bytes(b"junk" * 10)


def _run(src: Path, out: Path, workers: int):
    job = Job(
        Context(load_pipeline("dicom-research"), Pseudonymizer(b"k" * 32)),
        FolderSink(out, out.with_name(out.name + ".q")),
    )
    log = AuditLog(out.with_name(out.name + ".sqlite"))
    log.start_run("dicom-research", "h", {}, "kid")
    s = run(discover([src]), job, log, workers=workers)
    log.finish_run()
    log.close()
    return s


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def test_workers_give_identical_output_and_a_valid_audit(tmp_path):
    _tree(tmp_path / "in")
    s1 = _run(tmp_path / "in", tmp_path / "o1", 1)
    s2 = _run(tmp_path / "in", tmp_path / "o2", 2)
    assert (s1.ok, s1.quarantined) == (s2.ok, s2.quarantined) == (12, 1)
    assert _digest(tmp_path / "o1") == _digest(tmp_path / "o2")
    assert verify(tmp_path / "o2.sqlite") == []
    assert (tmp_path / "o1.q" / "junk.bin.reason.json").is_file()


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "d" / "x.dcm"

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write(target, b"data")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_write_failure_quarantines_instead_of_output(tmp_path, monkeypatch):
    _tree(tmp_path / "in", 2)
    import deid.engine.sinks.folder as folder_sink

    def fail(_path, _data):
        raise OSError("disk full")

    monkeypatch.setattr(folder_sink, "atomic_write", fail)
    s = _run(tmp_path / "in", tmp_path / "o", 1)
    assert s.ok == 0 and s.quarantined == 3
    assert not any(p.is_file() for p in (tmp_path / "o").rglob("*"))
    assert s.reasons.get("write-failed") == 2


def test_ctrl_c_while_an_outcome_is_recorded_leaves_the_books_balanced(tmp_path, monkeypatch):
    """A Ctrl-C that lands after an input's audit row is written but before it is counted
    (seen once in a stress run of `deid run`, exit 4) is held until the outcome is both:
    the run stops after it, interrupted, with the audit log and the count in agreement."""
    import signal

    from deid.engine.accounting import check

    _tree(tmp_path / "in")
    real = AuditLog.record
    calls = []

    def record_then_ctrl_c(self, *args, **kwargs):
        real(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)  # delivered here, inside the driver's step

    monkeypatch.setattr(AuditLog, "record", record_then_ctrl_c)
    out = tmp_path / "o"
    job = Job(
        Context(load_pipeline("dicom-research"), Pseudonymizer(b"k" * 32)),
        FolderSink(out, out.with_name("o.q")),
    )
    log = AuditLog(tmp_path / "o.sqlite")
    log.start_run("dicom-research", "h", {}, "kid")
    s = run(discover([tmp_path / "in"]), job, log, engine="inline")
    assert s.interrupted and s.files == 3 == len(calls)
    assert check(s, log, job.sink) == []
    log.close()


def test_reasons_list_holds_each_input_once_after_a_killed_run_is_redone(tmp_path):
    """Inputs a killed run quarantined but had not yet committed are redone and noted
    again: when the run ends, REASONS.jsonl says each once (the last word), still 0600."""
    import json

    sink = FolderSink(tmp_path / "out", tmp_path / "out.q")
    sink.prepare()
    sink.note("a.dcm", "truncated: x", "quarantined")
    sink.note("b.dcm", "not-dicom: y", "quarantined")
    reasons = tmp_path / "out.q" / "REASONS.jsonl"
    with reasons.open("a") as fh:
        fh.write('{"item": "c.dcm", "reas')  # torn by a kill -9
    sink.note("a.dcm", "truncated: x", "quarantined")  # the resumed run redoes a.dcm
    sink.remove_partials()
    lines = reasons.read_text().splitlines()
    assert [json.loads(x)["item"] for x in lines if x.endswith("}")] == ["a.dcm", "b.dcm"]
    assert len(lines) == 3 and reasons.stat().st_mode & 0o777 == 0o600


def test_the_folder_sink_opens_only_what_lies_inside_its_output_folder(tmp_path):
    """The report reads outputs back through the sink by the names in an audit log, which
    can be edited: a name that climbs out, or a link that points out, opens nothing."""
    sink = FolderSink(tmp_path / "out", tmp_path / "out.q")
    sink.prepare()
    sink.put("a/x.dcm", b"output")
    (tmp_path / "raw.dcm").write_bytes(b"raw input")
    (tmp_path / "out" / "link.dcm").symlink_to(tmp_path / "raw.dcm")
    with sink.open("a/x.dcm") as fh:
        assert fh.read() == b"output"
    for name in ("../raw.dcm", "link.dcm", "a", "missing.dcm", "a/\x00.dcm"):
        with pytest.raises(FileNotFoundError):
            sink.open(name)


def test_a_reasons_line_cut_inside_a_character_does_not_stop_the_compaction(tmp_path):
    """Item names are written as they are (张...): a kill can cut one inside a UTF-8
    character. The list is still compacted (bytes, line by line), and never raises."""
    import json

    sink = FolderSink(tmp_path / "out", tmp_path / "out.q")
    sink.prepare()
    sink.note("a.dcm", "truncated: x", "quarantined")
    reasons = tmp_path / "out.q" / "REASONS.jsonl"
    with reasons.open("ab") as fh:
        fh.write('{"item": "张'.encode()[:-1])
    sink.note("b.dcm", "not-dicom: y", "quarantined")
    sink.note("a.dcm", "truncated: x", "quarantined")
    sink.remove_partials()
    lines = reasons.read_bytes().split(b"\n")[:-1]
    assert len(lines) == 3
    assert sorted(json.loads(x)["item"] for x in lines if x.endswith(b"}")) == ["a.dcm", "b.dcm"]


def test_holding_interrupts_keeps_an_ignored_ctrl_c_ignored_and_hands_sigterm_to_its_handler():
    """A run started in the background by a script has Ctrl-C ignored: holding must not
    turn it into a stop. A held SIGTERM goes to the handler that was there (the session's)."""
    import signal

    from deid.limits import interrupts_held

    seen = []
    old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    old_term = signal.signal(signal.SIGTERM, lambda s, f: seen.append(s))
    try:
        with interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGTERM)
            assert seen == []  # held
        assert seen == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
