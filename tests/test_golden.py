"""Golden outputs: `deid run` on fixed inputs under a fixed key gives the recorded bytes
and audit events, so a refactor that should change nothing can show that it changed
nothing (issue 16).

Each set below is one `deid run`: its inputs are built fresh (copied from sample_data/ or
pydicom's test files, or drawn by the synthetic generators with fixed seeds), run under
helpers.KEY, and compared with tests/golden/<set>.json (exit code, the run's summary,
its run row, a sha256 per output and quarantine file by relative path) and
tests/golden/<set>.events.jsonl (every audit event, one JSON list per line:
item, location, action, category, rule_id, fingerprint, detail).

Left out, because they vary from run to run or machine to machine: run ids, timestamps,
sequence numbers and row hashes (the hash chain holds the run id), durations
("seconds"), the versions recorded with each run, and absolute paths (the temp folder
is written as "<tmp>"). Normalised: events are ordered by item (each item's own events
keep the order the handler gave them) and REASONS.jsonl by line, because pool workers
finish items in any order.

The golden data depend on the installed pydicom, numpy, OpenCV, onnxruntime/RapidOCR
and faker as well as on deid: after an intended change (or a new pin), regenerate with

    cd <repo> && PYTHONPATH=$PWD python3 tests/test_golden.py --record
    # or: DEID_GOLDEN_RECORD=1 PYTHONPATH=$PWD python3 -m pytest -q tests/test_golden.py

and review `git diff tests/golden/` like any other change. Every value is synthetic.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Callable

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # run as a script: helpers and the generators, as pytest finds them
    sys.path.insert(0, str(HERE))

from helpers import KEY, REPO  # noqa: E402

GOLDEN = HERE / "golden"
RECORD = os.environ.get("DEID_GOLDEN_RECORD", "") not in ("", "0")
VARYING_SUMMARY = ("seconds", "output", "audit", "quarantine", "vault")
RUN_COLS = ("pipeline", "policy_hash", "key_id", "files_ok", "files_quarantined", "event_count")
EVENT_COLS = ("item", "location", "action", "category", "rule_id", "fingerprint", "detail")

# A modest slice of pydicom's test files (tests/test_corpus.py runs them all): every
# transfer syntax family, no meta / big endian / deflated, sequences (private, nested,
# UN), broken files, a DICOMDIR and files under folders named like IDs, non-DICOM files.
CORPUS = (
    "CT_small.dcm",
    "MR_small.dcm",
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_expb.dcm",
    "MR_small_RLE.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "MR_small_padded.dcm",
    "MR_truncated.dcm",
    "ExplVR_BigEnd.dcm",
    "ExplVR_BigEndNoMeta.dcm",
    "JPEG-lossy.dcm",
    "JPEG2000.dcm",
    "JPGExtended.dcm",
    "SC_rgb_small_odd.dcm",
    "SC_rgb_rle_2frame.dcm",
    "UN_sequence.dcm",
    "badVR.dcm",
    "empty_charset_LEI.dcm",
    "image_dfl.dcm",
    "meta_missing_tsyntax.dcm",
    "nested_priv_SQ.dcm",
    "priv_SQ.dcm",
    "no_meta.dcm",
    "reportsi.dcm",
    "rtplan.dcm",
    "rtplan_truncated.dcm",
    "rtstruct.dcm",
    "test-SR.dcm",
    "waveform_ecg.dcm",
    "examples_overlay.dcm",
    "test_PN.json",
    "test1.json",
    "README.txt",
    "zipMR.gz",
    "dicomdirtests/DICOMDIR",
    "dicomdirtests/98892001/CT2N/6293",
    "dicomdirtests/77654033/CR1/6154",
    "dicomdirtests/TINY_ALPHA/PT000000/ST000000/SE000000/IM000000",
)
# burned-in text cases of tests/pixels/realistic.py, the small ones: (kind, seed)
PIXEL_CASES = (("ct", 5), ("us", 7), ("sc-rgb", 9), ("cn-us", 11), ("negative", 100))
US_CASES = (("us", 7), ("cn-us", 11))
NOTES = 6  # per language, from tests/records/synth.py


# -- inputs ---------------------------------------------------------------------------
def _sample_data(src: Path) -> None:
    """The data of sample_data/ (not its generator scripts and README, which may change freely)."""
    shutil.copytree(
        REPO / "sample_data", src, ignore=shutil.ignore_patterns("*.py", "*.md", "__pycache__"), dirs_exist_ok=True
    )


def _corpus(src: Path) -> None:
    import pydicom

    root = Path(pydicom.__file__).parent / "data" / "test_files"
    for rel in CORPUS:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, src / rel)


def _pixels(cases: tuple[tuple[str, int], ...]) -> Callable[[Path], None]:
    def build(src: Path) -> None:
        from pixels.realistic import case

        for kind, seed in cases:
            c = case(seed, kind)
            c.write(src / f"{c.name}.dcm")

    return build


def _records(src: Path) -> None:
    """Synthetic zh/en notes as text files, one JSONL and one CSV; and beside the inputs,
    the records pipeline without its verify step (tests/golden/sample-records has it),
    so every output is written and held here, not quarantined by a finding."""
    import csv
    import io

    import yaml

    from records.synth import notes

    raw = yaml.safe_load((REPO / "pipelines" / "records.yaml").read_text("utf-8"))
    raw["verify"] = False
    (src.parent / "records-noverify.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    src.mkdir(parents=True, exist_ok=True)
    all_notes = notes("zh", NOTES, seed=1000) + notes("en", NOTES, seed=2000)
    for i, n in enumerate(all_notes):
        (src / f"note_{n.lang}_{i:02d}.txt").write_text(n.text, "utf-8")
    (src / "notes.jsonl").write_text(
        "".join(json.dumps({"lang": n.lang, "note": n.text}, ensure_ascii=False) + "\n" for n in all_notes), "utf-8"
    )
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["row", "lang", "note"])
    for i, n in enumerate(all_notes):
        w.writerow([i, n.lang, n.text])
    (src / "notes.csv").write_text(buf.getvalue(), "utf-8")


# name -> (input builder, `deid run` arguments; "<tmp>" is the set's temp folder).
# sample-default runs on the local process pool (2 workers), so the pool's results are
# held too; the rest run inline (one process: faster, and the order is fixed).
SETS: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "sample-default": (_sample_data, ["--workers", "2"]),
    "sample-records": (_sample_data, ["-p", "records", "--engine", "inline"]),
    "corpus": (_corpus, ["-p", "dicom-basic", "--engine", "inline"]),
    "pixels": (_pixels(PIXEL_CASES), ["-p", "chest-xray", "--engine", "inline"]),
    "pixels-ultrasound": (_pixels(US_CASES), ["-p", "ultrasound", "--engine", "inline"]),
    "records": (_records, ["-p", "<tmp>/records-noverify.yaml", "--engine", "inline"]),
}


# -- one run, normalised -----------------------------------------------------------------
def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _digests(root: Path, prefix: str) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        data = p.read_bytes()
        if p.name == "REASONS.jsonl":  # appended as items finish: in any order on a pool
            data = b"".join(sorted(data.splitlines(keepends=True)))
        out[prefix + p.relative_to(root).as_posix()] = _sha(data)
    return out


def run_set(name: str, tmp: Path) -> tuple[dict, list[str]]:
    """(summary of the run, its events as JSON lines) for one golden set."""
    from typer.testing import CliRunner

    from deid.cli import app

    build, args = SETS[name]
    src, out = tmp / "in", tmp / "out"
    src.mkdir(parents=True)
    build(src)
    res = CliRunner().invoke(
        app,
        ["run", str(src), "--out", str(out), "-q", "--format", "json", *(a.replace("<tmp>", str(tmp)) for a in args)],
        env={"DEID_KEY": KEY.decode(), "XDG_CONFIG_HOME": str(tmp / "xdg")},
    )
    assert res.exit_code in (0, 1), f"{name}: exit {res.exit_code}\n{res.output[-3000:]}"
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    for k in VARYING_SUMMARY:
        summary.pop(k, None)
    db = sqlite3.connect(tmp / "out.audit.sqlite")
    try:
        runs = [dict(zip(RUN_COLS, r)) for r in db.execute(f"SELECT {', '.join(RUN_COLS)} FROM runs")]
        rows = list(db.execute(f"SELECT {', '.join(EVENT_COLS)} FROM events ORDER BY seq"))
    finally:
        db.close()
    rows.sort(key=lambda r: r[0])  # by item, stable: each item's events keep their order
    events = [_norm(json.dumps(list(r), ensure_ascii=False), tmp) for r in rows]
    files = {**_digests(out, "out/"), **_digests(tmp / "out.quarantine", "quarantine/")}
    got = {"set": name, "args": args, "exit_code": res.exit_code, "summary": summary, "runs": runs, "files": files}
    return json.loads(_norm(json.dumps(got, ensure_ascii=False, sort_keys=True), tmp)), events


def _norm(text: str, tmp: Path) -> str:
    return text.replace(str(tmp.resolve()), "<tmp>").replace(str(tmp), "<tmp>")


def _paths(name: str) -> tuple[Path, Path]:
    return GOLDEN / f"{name}.json", GOLDEN / f"{name}.events.jsonl"


def record(name: str, tmp: Path) -> None:
    got, events = run_set(name, tmp)
    GOLDEN.mkdir(exist_ok=True)
    summary_path, events_path = _paths(name)
    summary_path.write_text(json.dumps(got, ensure_ascii=False, indent=1, sort_keys=True) + "\n", "utf-8")
    events_path.write_text("".join(e + "\n" for e in events), "utf-8")


def first_difference(name: str, got: dict, events: list[str]) -> str:
    """'' when the run matches the golden data, else the first differences, readably."""
    summary_path, events_path = _paths(name)
    want = json.loads(summary_path.read_text("utf-8"))
    want_events = events_path.read_text("utf-8").splitlines()
    problems = []
    for key in ("exit_code", "summary", "runs"):
        if got[key] != want[key]:
            problems.append(
                f"{key}: recorded {json.dumps(want[key], ensure_ascii=False)}\n"
                f"{' ' * len(key)}  now      {json.dumps(got[key], ensure_ascii=False)}"
            )
    gf, wf = got["files"], want["files"]
    for rel in sorted(set(gf) | set(wf)):
        if rel not in gf:
            problems.append(f"file {rel}: recorded, not written now")
        elif rel not in wf:
            problems.append(f"file {rel}: written now, not recorded")
        elif gf[rel] != wf[rel]:
            problems.append(f"file {rel}: bytes differ (sha256 {wf[rel][:16]}... recorded, {gf[rel][:16]}... now)")
        if len(problems) > 8:
            break
    if events != want_events:
        diff = list(difflib.unified_diff(want_events, events, "recorded", "now", n=1, lineterm=""))
        problems.append(
            f"audit events differ ({len(want_events)} recorded, {len(events)} now); first lines of "
            "the diff:\n" + "\n".join(diff[:20])
        )
    return "\n".join(problems)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", list(SETS))
def test_golden(name, tmp_path):
    if RECORD:
        record(name, tmp_path)
        return
    if not _paths(name)[0].is_file():
        pytest.fail(f"no golden data for {name}: record it (see this module's docstring)")
    got, events = run_set(name, tmp_path)
    problem = first_difference(name, got, events)
    assert not problem, (
        f"golden set {name!r} changed (if intended, regenerate: python3 tests/test_golden.py --record):\n{problem}"
    )


def main(argv: list[str]) -> int:
    """`python3 tests/test_golden.py --record [SET ...]`: (re)write the golden data;
    without --record: compare, as the test does."""
    import warnings

    warnings.simplefilter("ignore")
    rec = "--record" in argv
    names = [a for a in argv if not a.startswith("-")] or list(SETS)
    failed = 0
    for name in names:
        with tempfile.TemporaryDirectory(prefix="deid-golden-") as d:
            if rec:
                record(name, Path(d))
                print(f"recorded {name}")
                continue
            got, events = run_set(name, Path(d))
            problem = first_difference(name, got, events)
            print(f"{name}: {'ok' if not problem else 'CHANGED'}")
            if problem:
                print(problem)
                failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
