#!/usr/bin/env python3
"""`deid check` speed: a folder of N de-identified DICOM files (the synthetic CT set of
benchmarks/header_throughput.py, run through `deid run` first), checked headers only and
with --pixels (OCR of every image). Target: 1,000 files in under a minute on 2 cores.

    python benchmarks/check.py [--files 1000]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work" / "check"
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1000)
    args = ap.parse_args()
    from scaling import make_data  # header-only synthetic CT files, cached

    env = {**os.environ, "DEID_KEY": "check-benchmark-key-0123456789abcdef"}
    data = make_data(args.files)
    out = WORK / "out"
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "deid.cli", "run", str(data), "--out", str(out), "-q"], env=env,
                   check=False, stdout=subprocess.DEVNULL)
    print(f"\n{args.files} de-identified 64x64 CT files, {os.cpu_count()} CPUs\n")
    print("| check | s | files/s | exit |")
    print("| --- | ---: | ---: | ---: |")
    for label, extra in (("headers", []), ("headers + pixels (OCR)", ["--pixels"])):
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "deid.cli", "check", str(out), *extra], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        s = time.perf_counter() - t
        print(f"| {label} | {s:.1f} | {args.files / s:,.0f} | {r.returncode} |")


if __name__ == "__main__":
    main()
