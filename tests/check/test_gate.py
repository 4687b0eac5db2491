"""The gate cannot be walked around: `deid check` exits 1 on a folder holding a link to raw
files or folders (`rsync -L` and `aws s3 sync` follow it), a subfolder it cannot list, an
Icon Image Sequence, an Encapsulated PDF, text in an attribute no dictionary knows, or a
patient's name in a path; a de-identified folder without them still passes."""

from __future__ import annotations

import json
import os

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from typer.testing import CliRunner

from deid.cli import app
from helpers import make_ds, read, write

runner = CliRunner()


@pytest.fixture
def clean(tmp_path):
    """A folder deid wrote (passes the gate), and a raw file outside it."""
    write(make_ds(patient_id="MRN-50349106", name="HERNANDEZ^DEANNA"), tmp_path / "raw" / "ct.dcm")
    assert runner.invoke(app, ["run", str(tmp_path / "raw"), "--out", str(tmp_path / "out"), "-q"]).exit_code == 0
    assert _check(tmp_path / "out") == (0, [])
    return tmp_path


def _check(folder, *extra):
    res = runner.invoke(app, ["check", str(folder), "--format", "json", *extra])
    return res.exit_code, [json.loads(line) for line in res.stdout.splitlines()]


def _with(path, change) -> None:
    """Change a de-identified file (as a hand-made upload folder might)."""
    ds = read(path)
    change(ds)
    ds.save_as(path, enforce_file_format=True)


def test_links_to_raw_files_and_folders_are_findings(clean):
    (clean / "out" / "also.dcm").symlink_to(clean / "raw" / "ct.dcm")
    (clean / "out" / "more").symlink_to(clean / "raw")
    code, found = _check(clean / "out")
    assert code == 1
    assert {(f["file"], f["category"]) for f in found} == {("also.dcm", "symlink"), ("more", "symlink")}
    assert _check(clean / "out", "--fail-on", "high")[0] == 1


def test_a_subfolder_that_cannot_be_listed_is_a_finding(clean, monkeypatch):
    locked = clean / "out" / "locked"
    locked.mkdir()
    real = os.scandir
    monkeypatch.setattr(
        os,
        "scandir",
        lambda p=".": (
            (_ for _ in ()).throw(PermissionError(13, "denied")) if os.fspath(p) == os.fspath(locked) else real(p)
        ),
    )
    code, found = _check(clean / "out")
    assert code == 1 and [(f["file"], f["rule"]) for f in found] == [("locked", "check:unreadable-folder")]


def _icon(ds):
    icon = Dataset()
    icon.Rows = icon.Columns = 8
    icon.SamplesPerPixel, icon.PhotometricInterpretation = 1, "MONOCHROME2"
    icon.BitsAllocated, icon.BitsStored, icon.HighBit, icon.PixelRepresentation = 8, 8, 7, 0
    icon.PixelData = bytes(range(64))  # a name could be burned into it: check cannot tell
    ds.IconImageSequence = Sequence([icon])


def _pdf(ds):
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = b"%PDF-1.4\nBT /F1 12 Tf (Report for Deanna Hernandez) Tj ET\n%%EOF\n"


def _unknown(ds):
    ds.add_new(0x00881032, "LO", "BIGGLESWORTH ZORK")  # a name no cue word points at, in no dictionary


@pytest.mark.parametrize(
    "change,category", [(_icon, "icon-image"), (_pdf, "encapsulated-document"), (_unknown, "unknown-tag")]
)
def test_content_check_cannot_read_is_a_finding(clean, change, category):
    _with(clean / "out" / "ct.dcm", change)
    code, found = _check(clean / "out")
    assert code == 1 and {f["category"] for f in found} == {category}
    assert _check(clean / "out", "--fail-on", "high")[0] == 1


def test_a_name_in_a_path_is_a_finding_and_is_not_repeated(clean):
    (clean / "out" / "Hernandez_Deanna_MRN50349106").mkdir()
    os.replace(clean / "out" / "ct.dcm", clean / "out" / "Hernandez_Deanna_MRN50349106" / "ct.dcm")
    res = runner.invoke(app, ["check", str(clean / "out")])
    assert res.exit_code == 1
    assert "<path>[0]" in res.stdout and "Hernandez" not in res.output and "50349106" not in res.output


@pytest.mark.parametrize("change", [_icon, _pdf, _unknown])
def test_deid_run_leaves_nothing_the_gate_cannot_read(tmp_path, change):
    write(make_ds(), tmp_path / "raw" / "x.dcm")
    _with(tmp_path / "raw" / "x.dcm", change)
    assert _check(tmp_path / "raw")[0] == 1
    res = runner.invoke(app, ["run", str(tmp_path / "raw"), "--out", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 0, res.output
    assert _check(tmp_path / "out") == (0, [])


@pytest.mark.parametrize(
    "name,data",
    [
        ("notes.md", "Patient John Smith, phone 617-555-0143\n".encode()),
        ("export", "姓名：王小明 电话：13700001111\n".encode("gb18030")),
        ("README", "Seen by Mr Brown today.\n".encode()),
    ],
)
def test_a_text_file_of_no_known_kind_is_read_as_free_text(clean, name, data):
    """A note saved as .md or with no suffix at all cannot walk past the gate unread."""
    (clean / "out" / name).write_bytes(data)
    code, found = _check(clean / "out")
    assert code == 1 and found and all(f["file"] == name for f in found), found
    (clean / "out" / name).write_bytes(b"\x00\x01binary" * 50)  # a binary of no kind: unread, as before
    assert _check(clean / "out") == (0, [])
