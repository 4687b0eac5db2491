"""Re-identification risk on a large table, one core: deid's measures (numpy group-bys)
against pyCANON, the tool a user would otherwise pick, on the same table in the same run.

A synthetic table of --rows rows (tests/risk/synth.py: skewed age, sex, region, year; a
diagnosis that depends on age) is written as a CSV under benchmarks/.work/risk/. Timed, CPU seconds of this
process (the best of --repeat passes; a shared machine weighs less on CPU time):

  deid measure     k, classes, class sizes, l-diversity, prosecutor/journalist/marketer
                   risk on the table in memory (deid.risk.measures.measure_persons)
  deid risk CSV    the same from the file, as `deid risk FILE` does (read + measure)
  deid k-search    the least-loss generalisation search for k=5 (every level combination)
  pyCANON          k_anonymity and l_diversity (pycanon 1.3.6, the copy vendored in
                   tests/_vendor: its wheel pins numpy and typer exactly)

The target (issue 18): risk on 1 M rows in under 10 s on one core.

    python benchmarks/risk.py [--rows 1000000] [--repeat 3] [--skip-pycanon]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path = [str(ROOT), str(ROOT / "tests")] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

import numpy as np  # noqa: E402

from deid.policy import build_pipeline  # noqa: E402
from deid.risk.generalise import search  # noqa: E402
from deid.risk.measures import codes, measure, measure_persons  # noqa: E402
from deid.risk.quasi import read_release  # noqa: E402
from risk.synth import table  # noqa: E402  (tests/risk/synth.py: the agreement test's table)

WORK = ROOT / "benchmarks" / ".work" / "risk"
QI = ["age", "sex", "region", "year"]
PIPELINE = {
    "name": "bench",
    "records": {"free_text": False, "ner": "off"},
    "risk": {
        "quasi": [
            {"name": "age", "fields": ["age"], "hierarchy": "age"},
            {"name": "sex", "fields": ["sex"], "hierarchy": "category"},
            {"name": "region", "fields": ["region"], "hierarchy": "address"},
            {"name": "year", "fields": ["year"], "hierarchy": "date"},
        ],
        "sensitive": ["dx"],
        "person": ["no-such-field"],
    },
}


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        times.append(time.process_time() - t0)
    return min(times), out


def pycanon():
    sys.path.insert(0, str(ROOT / "tests" / "_vendor"))
    from pycanon import anonymity  # the vendored copy, first on the path

    return anonymity


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-pycanon", action="store_true")
    args = ap.parse_args()
    n = args.rows
    data = table(n)
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"table-{n}.csv"  # written again each run: always the table measured in memory
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(QI + ["dx"])
        w.writerows(zip(*(data[c] for c in QI + ["dx"])))
    pipe = build_pipeline(PIPELINE, "bench")
    ones = np.ones(n, dtype=np.int64)

    def ours():
        return measure_persons([data[c] for c in QI], tuple(QI), {"dx": codes(data["dx"])}, ones, target=5)

    t_mem, m = best(ours, args.repeat)
    t_file, mf = best(lambda: measure(read_release([path], pipe), 5), args.repeat)
    t_search, plan = best(lambda: search([data[c] for c in QI], ("age", "category", "address", "date"), 5, 0.05), 1)
    print(f"rows {n:,}; quasi-identifiers {', '.join(QI)}; sensitive dx; one core, CPU seconds (best of {args.repeat})")
    print(f"deid measure (in memory)   {t_mem:7.2f} s   k={m.k} classes={m.classes:,} l={m.l_diversity['dx']}")
    print(
        f"deid risk FILE (read+measure) {t_file:4.2f} s   k={mf.k} (target < 10 s: {'met' if t_file < 10 else 'NOT met'})"
    )
    print(
        f"deid k=5 search            {t_search:7.2f} s   levels={plan.levels if plan else None} loss={plan.loss if plan else float('nan'):.4f}"
    )
    if args.skip_pycanon:
        return
    import pandas as pd

    df = pd.DataFrame({c: data[c] for c in QI + ["dx"]})
    anonymity = pycanon()
    t_k, k = best(lambda: anonymity.k_anonymity(df, QI), 1)
    t_l, lv = best(lambda: anonymity.l_diversity(df, QI, ["dx"]), 1)
    agree = k == m.k and lv == m.l_diversity["dx"]
    print(f"pyCANON k_anonymity        {t_k:7.2f} s   k={k}")
    print(f"pyCANON l_diversity        {t_l:7.2f} s   l={lv}   (agrees with deid: {agree})")


if __name__ == "__main__":
    main()
