"""`deid audit report`: one self-contained HTML file from a real run of sample_data, with
thumbnails of the de-identified output (never the input: only a file whose SHA-256 is the
digest the run recorded is decoded), no planted identifier anywhere, a page a headless
browser renders without errors, and a report (never a traceback) from an edited log."""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import deid.report.build as report
import deid.report.page as report_html
from deid.audit.log import iter_events
from deid.cli import app
from deid.report.thumbnails import DIFFERS, NO_DIGEST, frame0_box, thumbnail
from helpers import REPO, deidentify_samples

runner = CliRunner()
CXR = "dicom/patient1/cxr.dcm"  # burned-in name and ID (sample_data/manifest.json)
MR = "dicom/patient2/mr.dcm"
CHROMIUM = Path("/usr/bin/chromium")
PNG_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def _report(audit: Path, dest: Path, *extra: str):
    """(exit code, console output with rich's line wrapping undone, the report's text)."""
    res = runner.invoke(app, ["audit", "report", str(audit), "--out", str(dest), *extra])
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)  # no traceback
    return res.exit_code, "".join(res.output.splitlines()), (dest.read_text("utf-8") if dest.exists() else "")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(output folder, audit log, report path, report text) of one real run."""
    out = deidentify_samples(tmp_path_factory.mktemp("report"))
    audit = out.with_name(out.name + ".audit.sqlite")
    dest = out.parent / "report.html"
    code, output, text = _report(audit, dest)
    assert code == 0, output
    assert str(dest) in output
    return out, audit, dest, text


def _file_block(text: str, item: str) -> str:
    m = re.search(r'<details class="file"[^>]*data-item="' + re.escape(item) + r'">.*?</details>', text, re.S)
    assert m, item
    return m.group(0)


def _items(audit: Path) -> set[str]:
    return {e["item"] for e in iter_events(audit) if e["location"] == "<file>"}


def test_report_is_one_self_contained_file(run):
    out, audit, dest, text = run
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    low = text.lower()
    for external in ('src="http', 'href="http', "<link", "<script src", "url(http", "@import"):
        assert external not in low
    assert "default-src 'none'; img-src data:" in html.unescape(text)  # the CSP: no network fetch
    assert "<b>records</b>" in text  # the run's pipeline
    assert "Events per category" in text and "<code>burned-in-text</code>" in text
    assert "Hash chain intact" in text
    assert re.findall(r'<details class="file"[^>]*data-item="([^"]+)"', text).count(CXR) == 1
    assert set(re.findall(r'<details class="file"[^>]*data-item="([^"]+)"', text)) == _items(audit)
    assert PNG_URI.search(_file_block(text, CXR))
    assert text.count("<svg") >= 3  # categories, actions, devices
    assert "Redacted boxes per device model" in text and "DEID SYNTHETIC" in text
    assert not list(dest.parent.glob(".deid-*.part"))  # written atomically, no temp left


def test_thumbnail_is_the_output_with_redacted_boxes_outlined(run):
    out, audit, _dest, text = run
    png = base64.b64decode(PNG_URI.search(_file_block(text, CXR)).group(1))
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    assert max(img.shape[:2]) == 256  # 512 px sample, long side 256
    red = (img[..., 0] > 200) & (img[..., 1] < 80) & (img[..., 2] < 80)
    assert red.sum() > 100  # outlines drawn
    events = [e for e in iter_events(audit, CXR) if e["location"].startswith("pixels.frame[0].box[")]
    redacted = [frame0_box(e["location"]) for e in events if e["action"] == "redact"]
    kept = [frame0_box(e["location"]) for e in events if e["action"] != "redact"]
    assert len(redacted) >= 2 and all(redacted)

    def apart(b, others):
        return all(b[2] <= o[0] or o[2] <= b[0] or b[3] <= o[1] or o[3] <= b[1] for o in others if o != b)

    alone = [b for b in redacted if apart(b, redacted)]
    assert alone
    for x0, y0, x1, y1 in alone:  # the output is filled flat where text was; the input has strokes there
        inner = img[y0 // 2 + 3 : y1 // 2 - 3, x0 // 2 + 3 : x1 // 2 - 3, 0]
        assert inner.size and inner.std() < 3, (x0, y0, x1, y1)
    # the very thumbnail of the output file, and not of the input
    assert png == thumbnail(out / CXR, redacted, kept).png
    assert png != thumbnail(out.parent / "in" / CXR, redacted, kept).png


def _assert_no_planted_identifier(text: str) -> None:
    manifest = json.loads((REPO / "sample_data" / "manifest.json").read_text("utf-8"))
    values = set()
    for entry in manifest["files"].values():
        values |= {str(v) for v in entry.get("identifiers", {}).values()}
        values |= {b["text"] for b in entry.get("burned_in", [])}
    values = {v for v in values if len(v) >= 4}
    assert len(values) > 20
    # base64 pixels can spell any short string by chance: they are checked as PNGs below
    readable = re.sub(r"data:[a-z/+]+;base64,[A-Za-z0-9+/=]+", "data:", text)
    for v in values:
        assert v not in readable and v.upper() not in readable
    payloads = re.findall(r"data:([a-z/+]+);base64,([A-Za-z0-9+/=]+)", text)
    assert {kind for kind, _ in payloads} <= {"image/png"}
    for _kind, b64 in payloads:
        png = base64.b64decode(b64)
        assert png.startswith(b"\x89PNG")
        for chunk in (b"tEXt", b"iTXt", b"zTXt", b"eXIf"):
            assert chunk not in png  # pixels only, no metadata


def test_no_planted_identifier_in_the_report(run):
    _out, _audit, _dest, text = run
    assert PNG_URI.search(text)
    _assert_no_planted_identifier(text)


def test_headless_browser_renders_it_without_errors(run, tmp_path):
    _out, _audit, dest, _text = run
    if not CHROMIUM.exists():
        pytest.skip("install Debian chromium (apt-get install chromium) to run the browser test")
    base = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(base + ["--dump-dom", dest.as_uri()], capture_output=True, text=True, timeout=60).stdout
    root = re.search(r"<html[^>]*>", dom)
    assert root, dom[:500]
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', root.group(0)))
    assert attrs.get("data-rendered") == "ok"
    assert attrs.get("data-js-errors", "0") == "0"
    assert attrs.get("data-broken-images") == "0"
    assert int(attrs.get("data-images", "0")) >= 1
    shot = tmp_path / "report.png"
    subprocess.run(
        base + [f"--screenshot={shot}", "--window-size=1280,2000", dest.as_uri()], capture_output=True, timeout=60
    )
    assert shot.exists() and shot.stat().st_size > 20_000
    assert Image.open(shot).size == (1280, 2000)


def test_without_the_output_folder_it_still_builds_and_says_so(run, tmp_path):
    out, audit, _dest, _text = run
    moved = tmp_path / "elsewhere.audit.sqlite"  # inferred output folder tmp_path/elsewhere: absent
    shutil.copyfile(audit, moved)
    code, output, text = _report(moved, tmp_path / "r.html")
    assert code == 0, output
    assert "no thumbnails" in output
    assert "<img" not in text and "No thumbnails" in text and "does not exist" in text
    assert "No device chart" in text
    assert set(re.findall(r'data-item="([^"]+)"', text)) == _items(audit)
    code, _output, text = _report(moved, tmp_path / "r2.html", "--outputs", str(out))  # given explicitly
    assert code == 0 and PNG_URI.search(text)


def test_drill_down_is_capped_and_says_how_many_were_left_out(run, tmp_path, monkeypatch):
    out, audit, _dest, _text = run
    monkeypatch.setattr(report, "MAX_FILES", 3)
    monkeypatch.setattr(report, "MAX_THUMBNAILS", 1)
    code, output, text = _report(audit, tmp_path / "r.html", "--outputs", str(out))
    assert code == 0, output
    listed = re.findall(r'<details class="file"[^>]*data-item="([^"]+)"', text)
    assert len(listed) == 3
    assert set(listed[:2]) == {CXR, "dicom/patient2/mr.dcm"}  # images with redactions come first
    n = len(_items(audit))
    assert f"lists the first 3 of {n} files" in text and f"{n - 3} are left out" in text
    assert len(PNG_URI.findall(text)) == 1 and "holds at most 1" in text


def test_a_tampered_log_is_reported_and_exits_1(run, tmp_path):
    _out, audit, _dest, _text = run
    bad = tmp_path / "bad.audit.sqlite"
    shutil.copyfile(audit, bad)
    with sqlite3.connect(bad) as db:
        db.execute("UPDATE events SET action='keep' WHERE seq=3")
    code, output, text = _report(bad, tmp_path / "r.html")
    assert code == 1 and "does not verify" in output
    assert "Hash chain check FAILED" in text and "event seq 3" in text


def test_bad_inputs_exit_2_with_a_clear_message(run, tmp_path):
    out, audit, _dest, _text = run
    not_audit = tmp_path / "notes.sqlite"
    not_audit.write_text("not a database", "utf-8")
    code, output, _ = _report(not_audit, tmp_path / "r.html")
    assert code == 2 and "is not a deid audit log" in output
    assert not (tmp_path / "r.html").exists()
    code, output, _ = _report(tmp_path / "missing.audit.sqlite", tmp_path / "r.html")
    assert code == 2 and "does not exist" in output
    code, output, _ = _report(audit, out / "report.html")  # inside the output folder: uploaded with it
    assert code == 2 and "must not be inside the output folder" in output
    assert not (out / "report.html").exists()


def test_matplotlib_is_loaded_only_by_the_report():
    code = (
        "import sys, deid.cli, deid.engine.runner, deid.report.build, deid.report.page, deid.report.charts; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def _edited(audit: Path, dest: Path, *sql: str) -> Path:
    """A copy of the audit log with `sql` applied (? is the CXR path)."""
    shutil.copyfile(audit, dest)
    with sqlite3.connect(dest) as db:
        for stmt in sql:
            db.execute(stmt, (CXR,) * stmt.count("?"))
    return dest


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_run_records_each_output_digest_and_the_report_lists_it(run):
    out, audit, _dest, text = run
    digests = [e for e in iter_events(audit, CXR) if e["location"] == "<output>"]
    assert [(e["action"], e["category"], e["rule_id"], e["fingerprint"]) for e in digests] == [
        ("digest", "file", "engine:output-digest", "")
    ]
    assert digests[0]["detail"] == "sha256=" + _sha256(out / CXR)
    block = _file_block(text, CXR)
    assert "engine:output-digest" in block and digests[0]["detail"] in block  # listed like any event
    summary = text[text.index('id="summary"') : text.index('id="charts"')]
    assert "<td><code>digest</code></td>" not in summary  # category "file": not an event on content


def test_outputs_pointed_at_the_raw_inputs_give_no_thumbnail(run, tmp_path):
    """The same relative layout as the outputs (mirror naming) matches every path; the
    digests do not, so nothing of the inputs is shown: given or inferred (raw.audit.sqlite -> raw)."""
    _out, audit, _dest, _text = run
    raw = tmp_path / "raw"
    shutil.copytree(REPO / "sample_data" / "dicom", raw / "dicom")
    inferred = tmp_path / "raw.audit.sqlite"
    shutil.copyfile(audit, inferred)
    for log, extra in ((audit, ("--outputs", str(raw))), (inferred, ())):
        code, output, text = _report(log, tmp_path / "r.html", *extra)
        assert code == 0, output
        assert "<img" not in text and not PNG_URI.search(text)
        assert DIFFERS in html.unescape(_file_block(text, CXR))
        assert "Written files not opened" in text and "No device chart" in text
        _assert_no_planted_identifier(text)


def test_an_output_replaced_after_the_run_gets_no_thumbnail(run, tmp_path):
    out, audit, _dest, _text = run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    shutil.copyfile(REPO / "sample_data" / CXR, copy / CXR)  # the input, where the output was
    code, output, text = _report(audit, tmp_path / "r.html", "--outputs", str(copy))
    assert code == 0, output
    cxr = html.unescape(_file_block(text, CXR))
    assert not PNG_URI.search(cxr) and DIFFERS in cxr
    assert PNG_URI.search(_file_block(text, MR))  # the untouched outputs still have theirs
    _assert_no_planted_identifier(text)


def _rechained(audit: Path, dest: Path, drop: str) -> Path:
    """A copy of the log without the rows matching `drop`, hash chain rebuilt: what an
    intact log from an older deid (one that recorded no digests) looks like."""
    from deid.audit.log import EVENT_COLS, GENESIS, RUN_COLS, _hash

    shutil.copyfile(audit, dest)
    with sqlite3.connect(dest) as db:
        db.execute(f"DELETE FROM events WHERE {drop}")
        rows = db.execute(f"SELECT {', '.join(EVENT_COLS)} FROM events ORDER BY seq").fetchall()
        db.execute("DELETE FROM events")
        prev, per_run = GENESIS, {}
        for seq, row in enumerate(rows, 1):
            data = (seq,) + tuple(row[1:])
            h = _hash(prev, data)
            db.execute("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?)", data + (prev, h))
            n, _ = per_run.get(data[1], (0, ""))
            per_run[data[1]], prev = (n + 1, h), h
        for r in db.execute(f"SELECT {', '.join(RUN_COLS)} FROM runs").fetchall():
            vals = dict(zip(RUN_COLS, r))
            vals["event_count"], vals["head_hash"] = per_run[vals["run_id"]]
            db.execute(
                "UPDATE runs SET event_count=?, head_hash=?, row_hash=? WHERE run_id=?",
                (vals["event_count"], vals["head_hash"], _hash(GENESIS, [vals[c] for c in RUN_COLS]), vals["run_id"]),
            )
    return dest


def test_a_log_without_digests_gives_notes_not_thumbnails(run, tmp_path):
    out, audit, _dest, _text = run
    old = _rechained(audit, tmp_path / "old.audit.sqlite", "location='<output>'")
    code, output, text = _report(old, tmp_path / "r.html", "--outputs", str(out))
    assert code == 0 and "Hash chain intact" in text, output
    assert not PNG_URI.search(text) and NO_DIGEST in html.unescape(_file_block(text, CXR))


def test_an_edited_log_opens_no_output_file(run, tmp_path):
    """A forged digest could name the raw input's bytes: a log that fails verification
    gets no thumbnail at all."""
    out, audit, _dest, _text = run
    bad = _edited(audit, tmp_path / "bad.audit.sqlite", "UPDATE events SET rule_id='edited' WHERE seq=3")
    code, output, text = _report(bad, tmp_path / "r.html", "--outputs", str(out))
    assert code == 1 and "Hash chain check FAILED" in text
    assert not PNG_URI.search(text) and "output digests cannot be trusted" in html.unescape(text)


def test_a_thumbnail_that_cannot_be_made_is_a_note(run, tmp_path, monkeypatch):
    out, audit, _dest, _text = run

    def boom(*_args):
        raise RuntimeError("decoder fell over")

    monkeypatch.setattr(report, "thumbnail", boom)
    code, output, text = _report(audit, tmp_path / "r.html", "--outputs", str(out))
    assert code == 0, output
    assert "no thumbnail: it could not be made (RuntimeError)" in _file_block(text, CXR)


_BOX = "(SELECT seq FROM events WHERE item=? AND action='redact' AND location LIKE 'pixels.frame[0].box[%' "
_ROW = "(SELECT MIN(seq) FROM events WHERE item=? AND location LIKE '(%')"  # a header element of the CXR
_WITHOUT_NOT_NULL = ("CREATE TABLE e2 AS SELECT * FROM events", "DROP TABLE events", "ALTER TABLE e2 RENAME TO events")
EDITS = {
    "huge box": (
        f"UPDATE events SET location='pixels.frame[0].box[0,0,999999999999,999999999999]' "
        f"WHERE seq={_BOX} ORDER BY seq LIMIT 1)",
        f"UPDATE events SET location='pixels.frame[0].box[100,100,999999999,999999999]' "
        f"WHERE seq={_BOX} ORDER BY seq DESC LIMIT 1)",
        "UPDATE runs SET versions='{not json'",
    ),
    "blob": (
        f"UPDATE events SET location=X'ff', action=X'ff', category=X'80', rule_id=X'ff', fingerprint=X'00', "
        f"detail=X'fe00' WHERE seq={_ROW}",
        "UPDATE events SET item=CAST(item AS BLOB) WHERE item='dicom/patient1/ct2.dcm'",
        f"UPDATE events SET detail=X'ff' WHERE item='{MR}' AND location='<file>'",
        "UPDATE events SET action='quarantine', detail=X'ff3a' WHERE item='dicom/patient1/ct.dcm' "
        "AND location='<file>'",
        "UPDATE runs SET pipeline=X'ff', key_id=X'00', started=X'31', versions=X'ff'",
    ),
    "int": (
        f"UPDATE events SET location=1, action=2, category=3, rule_id=4, fingerprint=5, detail=6 WHERE seq={_ROW}",
        f"UPDATE events SET detail=42 WHERE item='{MR}' AND location='<file>'",
        "UPDATE events SET action='quarantine', detail=7 WHERE item='dicom/patient1/ct.dcm' AND location='<file>'",
        "UPDATE runs SET pipeline=1, key_id=2, policy_hash=3, versions='[1, 2]'",
    ),
    "null": (
        *_WITHOUT_NOT_NULL,
        f"UPDATE events SET location=NULL, action=NULL, category=NULL, rule_id=NULL, fingerprint=NULL, "
        f"detail=NULL WHERE seq={_ROW}",
        f"UPDATE events SET detail=NULL WHERE item='{MR}' AND location='<file>'",
        "UPDATE events SET action='quarantine', detail=NULL WHERE item='dicom/patient1/ct.dcm' AND location='<file>'",
        "UPDATE runs SET pipeline=NULL, key_id=NULL, started=NULL, versions='5'",
    ),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_odd_values_in_an_edited_log_still_give_a_report(run, tmp_path, edit):
    out, audit, _dest, _text = run
    bad = _edited(audit, tmp_path / "bad.audit.sqlite", *EDITS[edit])
    code, output, text = _report(bad, tmp_path / "r.html", "--outputs", str(out))
    assert code == 1 and "does not verify" in output
    assert text.rstrip().endswith("</html>") and "Hash chain check FAILED" in text
    assert not PNG_URI.search(text)  # an edited log's outputs are never opened
    if edit == "huge box":
        assert "not json" in text  # versions shown as they are
    if edit != "huge box":
        assert 'id="group-quarantined"' in text


@pytest.mark.parametrize(
    "raw",
    [None, "", '{"deid": "1.0"}', "[1, 2]", "5", '"x"', "{not json", "[" * 100_000, b"\xff", b'{"a": 1}', 7, 1.5],
    ids=lambda v: repr(v)[:20],
)
def test_versions_of_any_shape_are_shown_not_crashed_on(raw):
    pairs = report_html._versions(raw)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in pairs)


def test_boxes_far_outside_the_image_are_clipped_not_crashed_on(run):
    out, _audit, _dest, _text = run
    thumb = thumbnail(out / CXR, [(0, 0, 999_999_999, 999_999_999), (5_000, 5_000, 6_000, 6_000)], [])
    assert thumb.png is not None and thumb.png.startswith(b"\x89PNG")


def test_box_coordinates_are_bounded():
    assert frame0_box("pixels.frame[0].box[1,2,3,4]") == (1, 2, 3, 4)
    assert frame0_box("pixels.frame[0].box[1,2,3," + "9" * 5000 + "]") is None  # never int() of 5,000 digits


def test_each_image_shows_the_share_redaction_took(run):
    """The over-redaction guard's measure, per file and over the run: a privacy officer
    sees at a glance whether an image kept its content."""
    _out, audit, _dest, text = run
    share = next(e["detail"] for e in iter_events(audit, CXR) if e["rule_id"] == "pixels:redacted-fraction")
    value = float(share.split("text=")[1].split(";")[0])
    assert 0 < value < 0.15
    assert f"{100 * value:.1f} % of the image" in _file_block(text, CXR)
    assert "largest share of an image redacted" in text and "median share of an image redacted" in text
    assert report.redacted_share("text=0.5;frame=0") == 0.5
    assert report.redacted_share("text=nonsense") is None and report.redacted_share(None) is None
