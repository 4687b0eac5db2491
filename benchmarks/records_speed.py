"""Record throughput on one core: rows/s for a typical EHR export (CSV, mapped columns
plus a short free-text comment) with the rules only, and chars/s of the recognizers on
notes with the name model off and on: synthetic notes (faker, tests/records/synth.py)
and, where ../shared holds it, the PhysioNet development half (records_external.py).

Times are CPU time of this process, the best of a few passes after a warm-up pass (the
lexicon caches warm, as in a long run), so that other jobs on a shared machine weigh
less on them; a busy machine still lowers them.

    python benchmarks/records_speed.py [--rows 50000] [--notes 300] [--profile]

--profile prints the top of a cProfile of the CSV run (where the time goes).
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import os
import pstats
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("DEID_OCR_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path = [str(ROOT), str(ROOT / "tests")] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

from faker import Faker  # noqa: E402

from deid.policy import build_pipeline  # noqa: E402
from deid.pseudonym import Pseudonymizer  # noqa: E402
from deid.records.formats.delimited import scrub_delimited  # noqa: E402
from deid.records.scrub import Scrubber  # noqa: E402
from deid.text import lexicon  # noqa: E402
from deid.text.ner import LacNames  # noqa: E402
from deid.text.recognize import find, resolve  # noqa: E402
from records.synth import notes  # noqa: E402

HEADER = [
    "PAT_MRN_ID",
    "PAT_FIRST_NAME",
    "PAT_LAST_NAME",
    "BIRTH_DATE",
    "SEX",
    "HOME_PHONE",
    "ADD_LINE_1",
    "CITY",
    "ZIP",
    "DEPARTMENT_NAME",
    "DX_CODE",
    "CONTACT_DATE",
    "COMMENT",
]
COMMENTS = ["", "", "stable", "f/u 2 wks", "BP 128/82, HR 72", "refill lisinopril", "no show", "labs ordered"]


def export(rows: int, seed: int = 7) -> bytes:
    fake, rng = Faker("en_US"), random.Random(seed)
    fake.seed_instance(seed)
    names = [(fake.first_name(), fake.last_name()) for _ in range(500)]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    for i in range(rows):
        first, last = names[i % len(names)]
        w.writerow(
            [
                f"E{100000 + i // 3}",
                first,
                last,
                f"19{rng.randint(30, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                rng.choice("MF"),
                f"410-555-{rng.randint(1000, 9999)}",
                f"{rng.randint(1, 999)} Elm Street",
                "Baltimore",
                f"21{rng.randint(100, 299)}",
                rng.choice(["CARDIOLOGY", "ONCOLOGY", "MICU"]),
                f"I{rng.randint(10, 99)}.{rng.randint(0, 9)}",
                f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                rng.choice(COMMENTS),
            ]
        )
    return buf.getvalue().encode()


PASSES = 3


def csv_rate(rows: int, profile: bool) -> tuple[float, float]:
    """(rows/s, MB) of the best of two passes, each over an export of its own (another
    seed: other names, IDs and phones) with a new scrubber, so that no cache of the
    first pass serves the second."""
    pipe = build_pipeline({"name": "speed", "records": {"ner": "off"}}, "speed")
    best = float("inf")
    for seed in range(7, 8 if profile else 9):
        data = export(rows, seed)
        scrubber = Scrubber(
            pipe.records, Pseudonymizer(b"speed-key-0123456789abcdef-0123456"), pipe.dicom.date_shift_days, "file:speed"
        )
        if profile:
            prof = cProfile.Profile()
            prof.enable()
        t = time.process_time()
        scrub_delimited(data, scrubber, ",")
        best = min(best, time.process_time() - t)
        if profile:
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    return rows / best, len(data) / 1e6


def note_rate(texts: list[str], fn) -> float:
    for x in texts:  # warm-up
        fn(x)
    best = float("inf")
    for _ in range(PASSES):
        t = time.process_time()
        for x in texts:
            fn(x)
        best = min(best, time.process_time() - t)
    return sum(map(len, texts)) / best


def physionet() -> list[str]:
    path = ROOT.parent / "shared" / "data" / "external" / "physionet-deid" / "notes.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--notes", type=int, default=300)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    lexicon.load_all()
    rate, mb = csv_rate(args.rows, args.profile)
    print(f"\nEHR export, {args.rows:,} rows, {mb:.1f} MB, rules only: {rate:,.0f} rows/s")
    lac = LacNames()
    print("\n| notes | rules (name model off) chars/s | rules + LAC chars/s |\n| --- | ---: | ---: |")
    sets = [(f"{lang} (synthetic, {args.notes})", [n.text for n in notes(lang, args.notes)]) for lang in ("en", "zh")]
    real = physionet()
    if real:
        sets.append((f"en (PhysioNet dev half, {len(real)})", real))
    for label, texts in sets:
        rules = note_rate(texts, lambda x: find(x, partial_dates=True))
        model = note_rate(texts, lambda x: resolve(find(x, partial_dates=True) + lac.names(x)))
        print(f"| {label} | {rules:,.0f} | {model:,.0f} |")


if __name__ == "__main__":
    main()
