"""The engine's seams: an executor per engine name behind one protocol, a sink that is
not a folder carried by the job, and a RunConfig checked as it is built."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest

from deid.audit.log import AuditLog
from deid.engine.accounting import check as accounting
from deid.engine.config import RunConfig
from deid.engine.discover import discover
from deid.engine.executors import EXECUTORS, Engine, Limits, make_executor
from deid.engine.job import Job
from deid.engine.runner import run
from deid.engine.sinks import FolderSink
from deid.errors import DeidError
from deid.handlers import Context
from deid.policy import load_pipeline
from deid.pseudonym import Pseudonymizer
from helpers import KEY, make_ds, write

ENGINE = Path(__file__).resolve().parents[2] / "deid" / "engine"


class MemorySink:
    """A sink that keeps everything in memory, as a network sink keeps nothing locally."""

    def __init__(self):
        self.outputs: dict[str, bytes] = {}
        self.aside: dict[str, bytes] = {}
        self.reasons: dict[str, str] = {}
        self.notes: list[tuple[str, str, str]] = []

    where = "memory:"

    def folders(self):
        return []

    def prepare(self):
        pass

    def put(self, rel, data):
        self.outputs[rel] = data
        return f"memory:{rel}"

    def preview(self, rel, suffix, png):
        pass

    def set_aside(self, rel, source):
        self.aside[rel] = Path(source).read_bytes()
        return f"memory:aside/{rel}"

    def quarantine(self, rel, reason, details=None):
        self.reasons[rel] = reason
        return f"memory:aside/{rel}"

    def note(self, item, reason, status):
        self.notes.append((item, reason, status))

    def has(self, rel):
        return rel in self.outputs

    def open(self, rel):
        return io.BytesIO(self.outputs[rel])

    def partials(self):
        return iter(())

    def remove_partials(self):
        return 0

    def resume_index(self, done):
        return done


def test_every_engine_word_has_an_executor_and_nothing_else_does():
    assert [e.value for e in Engine] == ["inline", "local", "dask"]
    assert set(EXECUTORS) == set(Engine)
    job = Job(Context(load_pipeline(), Pseudonymizer(KEY)), MemorySink())
    for engine in Engine:
        assert callable(make_executor(engine.value, job, Limits(workers=1)).run)
    with pytest.raises(ValueError):
        make_executor("pool", job)


def test_a_sink_that_is_not_a_folder_gets_every_output_and_every_reason(tmp_path):
    for i in range(3):
        write(make_ds(patient_id=f"PID-{i}"), tmp_path / "in" / f"{i}.dcm")
    (tmp_path / "in" / "junk.bin").write_bytes(b"junk")
    sink = MemorySink()
    job = Job(Context(load_pipeline("dicom-research"), Pseudonymizer(KEY)), sink)
    log = AuditLog(tmp_path / "a.sqlite")
    log.start_run("t", "h", {}, "kid")
    s = run(discover([tmp_path / "in"]), job, log, engine="inline")
    assert (s.ok, s.quarantined) == (3, 1)
    assert sorted(sink.outputs) == ["0.dcm", "1.dcm", "2.dcm"] and all(b"PID-" not in d for d in sink.outputs.values())
    assert sink.aside == {"junk.bin": b"junk"} and sink.reasons["junk.bin"].startswith("unsupported-type")
    assert [n[0] for n in sink.notes] == ["junk.bin"]
    assert accounting(s, log, sink) == []
    del sink.outputs["1.dcm"]
    assert accounting(s, log, sink) == ["1 outputs recorded as written are not in the output folder"]
    log.close()


def test_run_config_derives_paths_and_refuses_a_bad_layout_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("DEID_KEY", KEY.decode())
    write(make_ds(), tmp_path / "in" / "a.dcm")
    cfg = RunConfig.build([tmp_path / "in"], tmp_path / "out", engine="inline", workers=3)
    assert (cfg.audit, cfg.quarantine) == (tmp_path / "out.audit.sqlite", tmp_path / "out.quarantine")
    assert cfg.engine is Engine.INLINE and cfg.limits.workers == 3 and repr(cfg.secret) not in repr(cfg)
    assert cfg.sink() == FolderSink(tmp_path / "out", tmp_path / "out.quarantine")
    for kw, msg in (
        ({"engine": "pool"}, "--engine must be one of inline, local, dask"),
        ({"scheduler": "tcp://h:1"}, "--scheduler needs --engine dask"),
        ({"audit": tmp_path / "out" / "a.sqlite"}, "--audit must not be inside --out"),
    ):
        with pytest.raises(DeidError, match=msg):
            RunConfig.build([tmp_path / "in"], tmp_path / "out", **kw)


def test_executors_and_sinks_never_import_the_runner_or_the_cli():
    """The executors sit below the runner (no cycle); the run layer below the CLI."""
    for path in [*ENGINE.glob("executors/*.py"), *ENGINE.glob("sinks/*.py"), ENGINE / "work.py", ENGINE / "job.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.endswith(("runner", "session", "cli")), (path.name, node.module)
    for path in ENGINE.rglob("*.py"):
        assert "cli" not in {
            n.module for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ImportFrom) and n.module
        }, path.name
