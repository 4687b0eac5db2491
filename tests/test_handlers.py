"""deid/handlers.py is a list of kinds routed by sniff(): a toy kind is one class plus one
registry line, and the DICOM and record kinds route as before (content first)."""

from __future__ import annotations

import pytest

import deid.handlers as registry
from deid.core import FileHandler, Result, Status
from deid.dicom.handler import DicomHandler
from deid.records.handler import RecordHandler
from helpers import make_ds, to_bytes


class ToyHandler(FileHandler):
    kind = "toy"

    def sniff(self, path: str, head: bytes) -> bool:
        return head.startswith(b"TOY1")

    def _process(self, data, fp, ctx, relpath):
        return Result(Status.OK, data=data.upper(), input_fingerprint=fp, kind=self.kind)


@pytest.fixture
def with_toy(monkeypatch):
    monkeypatch.setattr(registry, "HANDLERS", [*registry.HANDLERS, ToyHandler])  # the one registry line


def test_routing_by_content_then_name():
    dcm = to_bytes(make_ds())
    assert isinstance(registry.handler_for("scan.bin", dcm), DicomHandler)  # preamble, any name
    assert isinstance(registry.handler_for("broken.dcm", b"junk"), DicomHandler)  # a .dcm that is not
    assert isinstance(registry.handler_for("notes.csv", b"a,b\n"), RecordHandler)
    assert isinstance(registry.handler_for("notes.json", dcm), DicomHandler)  # content before suffix
    assert registry.handler_for("photo.xyz", b"TOY1") is None


def test_a_toy_kind_is_one_class_and_one_line(with_toy, tmp_path, pseudo):
    from deid.core import Context, Item
    from deid.policy import load_pipeline

    h = registry.handler_for("photo.xyz", b"TOY1 hello")
    assert isinstance(h, ToyHandler)
    src = tmp_path / "photo.xyz"
    src.write_bytes(b"TOY1 hello")
    res = h.process(Item(str(src), "photo.xyz"), Context(load_pipeline("dicom-basic"), pseudo))
    assert res.status == "ok" and res.status is Status.OK and res.data == b"TOY1 HELLO"


def test_check_refuses_a_kind_it_has_no_check_for(with_toy, pseudo):
    from deid.check.scan import check_bytes

    found = check_bytes(b"TOY1 hello", "photo.xyz", None)
    assert [(f.category, f.rule) for f in found] == [("unreadable", "check:no-check-for-kind")]


def test_status_is_the_plain_string():
    import json

    assert Status.QUARANTINED == "quarantined" and f"{Status.OK}" == "ok" and str(Status.ERROR) == "error"
    assert json.dumps({Status.OK: Status.QUARANTINED}) == '{"ok": "quarantined"}'
    assert Result("error").status is Status.ERROR


class ToyWithFindings(ToyHandler):
    def findings(self, item, ctx, data=None, look=None):
        from deid.findings import Finding

        return [Finding(item.relpath, "body", "name", "toy:rule")] if b"SMITH" in (data or b"") else []


def test_a_toy_kinds_findings_are_what_deid_check_reports(monkeypatch, tmp_path):
    """deid check has no list of kinds of its own: it asks each file's handler."""
    from deid.core import Context
    from deid.engine.check import check_paths
    from deid.operators.find import NoKey
    from deid.policy import load_pipeline

    monkeypatch.setattr(registry, "HANDLERS", [*registry.HANDLERS, ToyWithFindings])
    (tmp_path / "a.xyz").write_bytes(b"TOY1 SMITH")
    (tmp_path / "b.xyz").write_bytes(b"TOY1 clean")
    seen = []
    check_paths([tmp_path], Context(load_pipeline(None), NoKey()), seen.append, excerpts=False, pixels=False, timeout=5)
    got = {c.shown: [(f.location, f.rule) for f in c.findings or []] for c in seen}
    assert got == {"a.xyz": [("body", "toy:rule")], "b.xyz": []}
