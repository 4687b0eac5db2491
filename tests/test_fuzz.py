"""A seeded fuzz of the whole batch: byte flips, truncations, corrupted element lengths,
deep nesting and a JPEG 2000 decoder loop, over the sample data and pydicom's own test
files, through `deid run` (the local pool, per-input time limit) and `deid check`.

Whatever the inputs hold: the batch never crashes and never hangs, every input is
accounted for (written + quarantined + errors = inputs, the audit log agreeing), the
audit chain verifies, `deid check` passes every written output, and `deid check` on the
mutants themselves ends with findings, never an error. Seeded: a failure reproduces.
About a minute on two CPUs."""

from __future__ import annotations

import json
import os
import random
import re
import struct
import subprocess
import sys
from pathlib import Path

import pydicom.data
import pytest

from deid.audit.log import verify
from helpers import KEY, REPO, jp2_box_length_zero, make_ds, to_bytes

SEED = 15
PER_SOURCE = 10
PYDICOM = Path(pydicom.data.__file__).parent / "test_files"  # shipped in pydicom's wheel: nothing is downloaded
SOURCES = [
    "CT_small",
    "MR_small",
    "MR_small_implicit",
    "MR_small_bigendian",
    "JPEG2000",
    "MR_small_jp2klossless",
    "MR_small_RLE",
    "MR_small_jpeg_ls_lossless",
    "JPEG-lossy",
    "SC_rgb_small_odd",
    "rtplan",
    "rtstruct",
    "image_dfl",
    "nested_priv_SQ",
    "UN_sequence",
    "test-SR",
    "rtdose_1frame",
    "ExplVR_BigEnd",
]
SHORT_VRS = b"AE|AS|AT|CS|DA|DS|DT|FL|FD|IS|LO|LT|PN|SH|SL|SS|ST|TM|UI|UL|US"
LONG_VRS = b"OB|OD|OF|OL|OV|OW|SQ|UC|UN|UR|UT"
HEADER = re.compile(rb"[\x00-\xff]{4}(" + SHORT_VRS + b"|" + LONG_VRS + b")", re.S)


def _flip(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def _truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(1, len(data))]


def _length(rng: random.Random, data: bytes) -> bytes:
    """One element's length field set to 0, all ones, a little off, or huge."""
    heads = [m.start() for m in HEADER.finditer(data, 132) if data[m.start() + 4 : m.start() + 6].isalpha()]
    if not heads:
        return _flip(rng, data)
    at = rng.choice(heads)
    b = bytearray(data)
    if bytes(b[at + 4 : at + 6]) in LONG_VRS.split(b"|"):
        old = struct.unpack_from("<I", b, at + 8)[0]
        struct.pack_into("<I", b, at + 8, rng.choice([0, 0xFFFFFFFF, old + 2, max(0, old - 2), 0x7FFFFFF0]))
    else:
        old = struct.unpack_from("<H", b, at + 6)[0]
        struct.pack_into("<H", b, at + 6, rng.choice([0, 0xFFFF, old + 2, max(0, old - 2)]))
    return bytes(b)


def _nested(depth: int) -> bytes:
    """A valid header, then a ContentSequence nested `depth` items deep (undefined lengths)."""
    seq = struct.pack("<HH", 0x0040, 0xA730) + b"SQ\x00\x00" + b"\xff\xff\xff\xff"
    item = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    item_end, seq_end = struct.pack("<HHI", 0xFFFE, 0xE00D, 0), struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    return to_bytes(make_ds()) + (seq + item) * depth + (item_end + seq_end) * depth


MUTATORS = (_flip, _truncate, _length)


def _corpus(folder: Path) -> int:
    rng = random.Random(SEED)
    sources = [PYDICOM / f"{name}.dcm" for name in SOURCES] + sorted((REPO / "sample_data" / "dicom").rglob("*.dcm"))
    n = 0
    for src in sources:
        data = src.read_bytes()
        for i in range(PER_SOURCE):
            mutate = MUTATORS[i % len(MUTATORS)]
            (folder / f"{src.parent.name}-{src.stem}-{i}-{mutate.__name__[1:]}.dcm").write_bytes(mutate(rng, data))
            n += 1
    for depth in (50, 3000):
        (folder / f"nested-{depth}.dcm").write_bytes(_nested(depth))
    (folder / "jp2-box-length-zero.dcm").write_bytes(jp2_box_length_zero())
    return n + 3


def _deid(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deid.cli", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "DEID_KEY": KEY.decode()},
    )


@pytest.mark.slow
def test_fuzzed_inputs_never_crash_hang_or_leak_from_the_batch(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    n = _corpus(src)
    res = _deid("run", str(src), "--out", str(out), "-q", "-w", "2", "--timeout", "20", "--format", "json")
    assert res.returncode in (0, 1), res.stderr[-3000:]
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
    s = json.loads(res.stdout)
    assert s["accounting"] == {"balanced": True, "problems": []}
    assert s["inputs"] == n == s["written"] + s["quarantined"] + s["errors"]
    assert s["written"] >= 20 and s["quarantined"] >= 20  # the mutants did both
    assert "jp2-box-length-zero.dcm" in (tmp_path / "out.quarantine" / "REASONS.jsonl").read_text()
    assert verify(tmp_path / "out.audit.sqlite") == []
    gate = _deid("check", str(out), "--timeout", "20")
    assert gate.returncode == 0, gate.stdout[-3000:] + gate.stderr[-3000:]
    raw = _deid("check", str(src), "--timeout", "20")
    assert raw.returncode == 1 and "Traceback" not in raw.stderr, raw.stderr[-3000:]
    assert f"deid check: {n} files" in raw.stderr
