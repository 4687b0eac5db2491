"""Every DICOM file bundled in the pydicom wheel is written de-identified and valid, or quarantined.

The batch never aborts; each quarantined file has a reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest

from deid.records.handler import record_kind

TEST_FILES = Path(os.path.dirname(pydicom.__file__)) / "data" / "test_files"


KNOWN_REASONS = {
    "not-dicom",
    "unreadable",
    "truncated",
    "unreadable-element",
    "not-composite",
    "unsupported-type",
    "write-failed",
    "verify-failed",
    "internal-error",
    "pixels-undecodable",
    "pixels-encode-failed",
    "pixels-float-unsupported",
    "over-redaction",
}


def _run(tmp_path, pixels: str):
    """The whole corpus through `deid run` (2 workers), header profile dicom-basic."""
    out, audit = tmp_path / "out", tmp_path / "audit.sqlite"
    pipe = tmp_path / "pipe.yaml"
    pipe.write_text("name: corpus\ndicom: {profile: basic}\npixels: {mode: %s}\n" % pixels)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "deid.cli",
            "run",
            str(TEST_FILES),
            "--out",
            str(out),
            "--audit",
            str(audit),
            "-q",
            "--workers",
            "2",
            "--pipeline",
            str(pipe),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    return proc, out


@pytest.mark.filterwarnings("ignore")
def test_pydicom_corpus_all_written_valid_or_quarantined(tmp_path):
    """Header contract: with pixels off, pixel data passes through untouched."""
    proc, out = _run(tmp_path, "off")
    assert proc.returncode == 1, proc.stderr[-2000:]  # some are broken, by design
    inputs = sorted(p.relative_to(TEST_FILES).as_posix() for p in TEST_FILES.rglob("*") if p.is_file())
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    qdir = tmp_path / "out.quarantine"
    quarantined = {p.relative_to(qdir).as_posix()[: -len(".reason.json")] for p in qdir.rglob("*.reason.json")}
    # files whose path held the patient's name/ID are written under a pseudonymized name, and
    # folder or file names that look like an ID or a date (DICOMDIR's 98892001/) under keyed ones
    renamed = {w for w in written if w.startswith("P-") or "/H-" in "/" + w}
    records = {w for w in written if record_kind(w)}  # the corpus's .json/.txt files: patient records now
    assert (written - renamed) | quarantined <= set(inputs)
    assert len(written) + len(quarantined) == len(inputs)
    assert not written & quarantined
    assert len(written) > 100
    for rel in written - records:
        ds = pydicom.dcmread(out / rel)  # no force=True
        assert ds.PatientIdentityRemoved == "YES"
        assert not any(t.group & 1 for t in ds.keys())
        assert not (out / rel).name.endswith(".part")
    for rel in quarantined:
        reason = json.loads((qdir / (rel + ".reason.json")).read_text())["reason"]
        assert reason.split(":")[0] in KNOWN_REASONS
    # pixel data passes through untouched: every output decodes to the input's pixels,
    # big-endian inputs included (they are written as explicit VR little endian)
    compared = 0
    for rel in written - renamed - records:
        try:
            before = pydicom.dcmread(TEST_FILES / rel, force=True).pixel_array
        except Exception:
            continue  # no pixels, or pixels the installed decoders cannot read
        assert np.array_equal(pydicom.dcmread(out / rel).pixel_array, before), rel
        compared += 1
    assert compared > 50
    # temp files never left behind
    assert not list(out.rglob("*.part"))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")
def test_pydicom_corpus_with_pixel_cleaning_never_aborts(tmp_path):
    """Pixels on (redact-all-text) over every encoding in the corpus: each file is written
    as valid DICOM whose pixels decode, or quarantined with a known reason."""
    proc, out = _run(tmp_path, "redact-all-text")
    assert proc.returncode == 1, proc.stderr[-2000:]
    inputs = [p for p in TEST_FILES.rglob("*") if p.is_file()]
    written = [p for p in out.rglob("*") if p.is_file()]
    qdir = tmp_path / "out.quarantine"
    reasons = [json.loads(p.read_text())["reason"] for p in qdir.rglob("*.reason.json")]
    assert len(written) + len(reasons) == len(inputs)
    assert {r.split(":")[0] for r in reasons} <= KNOWN_REASONS
    assert len(written) > 100
    decoded = 0
    for p in written:
        if record_kind(p.name):
            continue  # a .json/.txt of the corpus, written as a patient record
        ds = pydicom.dcmread(p)
        if "PixelData" in ds:
            _ = ds.pixel_array  # every written image decodes
            decoded += 1
    assert decoded > 50
