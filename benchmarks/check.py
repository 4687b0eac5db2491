#!/usr/bin/env python3
"""`deid check` speed: a folder of N de-identified DICOM files (the synthetic CT set of
benchmarks/header_throughput.py, run through `deid run` first), checked headers only and
with --pixels (OCR of every image). Target: 1,000 files in under a minute on 2 cores.
Also the cost of `verify: true` (the same check inside `deid run`, before each write):
the header-only dicom-basic pipeline with and without it, median of 5 alternating runs.

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
    subprocess.run(
        [sys.executable, "-m", "deid.cli", "run", str(data), "--out", str(out), "-q"],
        env=env,
        check=False,
        stdout=subprocess.DEVNULL,
    )
    print(f"\n{args.files} de-identified 64x64 CT files, {os.cpu_count()} CPUs\n")
    print("| check | s | files/s | exit |")
    print("| --- | ---: | ---: | ---: |")
    for label, extra in (("headers", []), ("headers + pixels (OCR)", ["--pixels"])):
        t = time.perf_counter()
        r = subprocess.run(
            [sys.executable, "-m", "deid.cli", "check", str(out), *extra],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        s = time.perf_counter() - t
        print(f"| {label} | {s:.1f} | {args.files / s:,.0f} | {r.returncode} |")
    verify_cost(data, env, args.files)


def verify_cost(data: Path, env: dict, n: int, repeats: int = 5) -> None:
    """Runs alternate (off, on, off, on, ...) so drift on a shared machine hits both alike."""
    import statistics

    import yaml
    from header_throughput import header_only_pipeline

    raw = yaml.safe_load(header_only_pipeline().read_text("utf-8"))
    labels = {False: "verify: false", True: "verify: true"}
    runs: dict[bool, list[float]] = {False: [], True: []}
    for verify in labels:
        (WORK / f"verify-{verify}.yaml").write_text(yaml.safe_dump({**raw, "verify": verify}), "utf-8")
    for i in range(repeats):
        for verify in labels:
            out = WORK / f"run-{verify}-{i}"
            t = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "deid.cli",
                    "run",
                    str(data),
                    "--out",
                    str(out),
                    "-q",
                    "-p",
                    str(WORK / f"verify-{verify}.yaml"),
                ],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            runs[verify].append(time.perf_counter() - t)
    med = {v: statistics.median(r) for v, r in runs.items()}
    print(
        f"\n`deid run` on the same {n} files, header-only dicom-basic, default workers, "
        f"median of {repeats} alternating runs\n"
    )
    print("| run | s | files/s | runs (s) |")
    print("| --- | ---: | ---: | --- |")
    for v, label in labels.items():
        print(f"| {label} | {med[v]:.2f} | {n / med[v]:,.0f} | {', '.join(f'{x:.2f}' for x in runs[v])} |")
    print(f"\nverify: true takes {med[True] / med[False]:.2f}x the time of verify: false")


if __name__ == "__main__":
    main()
