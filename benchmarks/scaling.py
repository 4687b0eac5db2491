#!/usr/bin/env python3
"""Batch scaling: files/s for the inline, local (1, 2, ... workers) and dask (LocalCluster)
executors on header-only synthetic DICOM, the dask path's overhead against local at equal
workers (dask: a LocalCluster deid starts, and a cluster already running, as on SLURM or
Kubernetes), and the driver's peak RSS for 1k against 10k files (flat memory).

Each configuration runs `deid run` as a subprocess (a fresh output folder each time),
R times, and reports the median; wall time includes start-up, as an operator sees it.
Peak RSS is the driver's own VmHWM (/proc), not its workers'.

    python benchmarks/scaling.py [--files 2000] [--repeat 3] [--rss-files 1000 10000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work" / "scaling"
sys.path.insert(0, str(ROOT / "benchmarks"))


def make_data(n: int) -> Path:
    """n small CT-like files (64x64), ~15 patients, made by header_throughput's generator
    with no large images (header-only work)."""
    import header_throughput as ht

    folder = WORK / f"data-{n}"
    stamp = WORK / f"data-{n}.complete"  # beside the folder: deid would quarantine it as an input
    if stamp.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(7)
    for i in range(n):
        ds = ht.make_file(i if i % 10 != 9 else i - 1, n, rng)  # never the 1024x1024 CR
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = ht.uid(i, "scaling")
        sub = folder / f"{i // 1000:03d}"
        sub.mkdir(exist_ok=True)
        ds.save_as(sub / f"IM{i:06d}.dcm", enforce_file_format=True)
    stamp.write_text("ok")
    return folder


def run_once(data: Path, engine: str, workers: int, scheduler: str | None = None) -> tuple[float, int]:
    """(wall seconds, driver peak RSS in KiB)."""
    out = WORK / "out"
    for p in (
        out,
        WORK / "out.audit.sqlite",
        WORK / "out.audit.sqlite-wal",
        WORK / "out.audit.sqlite-shm",
        WORK / "out.quarantine",
    ):
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    import header_throughput as ht

    cmd = [
        sys.executable,
        "-m",
        "deid.cli",
        "run",
        str(data),
        "--out",
        str(out),
        "-q",
        "--engine",
        engine,
        "-w",
        str(workers),
        "-p",
        str(ht.header_only_pipeline()),
    ] + (["--scheduler", scheduler] if scheduler else [])
    env = {**os.environ, "DEID_KEY": "scaling-benchmark-key-0123456789abcdef"}
    os.sync()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    hwm = 0
    while proc.poll() is None:
        try:
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    hwm = max(hwm, int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError):
            pass
        time.sleep(0.05)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{engine} x{workers}: exit {proc.returncode}")
    return elapsed, hwm


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rss-files", type=int, nargs=2, default=[1000, 10000])
    ap.add_argument("--engines", nargs="+", default=["inline", "local", "dask"])
    args = ap.parse_args()
    data = make_data(args.files)
    cpus = os.cpu_count() or 1
    configs = [("inline", 1)] * ("inline" in args.engines)
    configs += [("local", w) for w in range(1, cpus + 1)] * ("local" in args.engines)
    if "dask" in args.engines:
        try:
            import dask.distributed  # noqa: F401

            configs += [("dask", w) for w in range(1, cpus + 1)]
            configs += [("dask-cluster", w) for w in range(1, cpus + 1)]
        except ImportError:
            print("dask not installed: dask rows skipped (pip install 'deid[dask]')")
    rows = {}
    for engine, w in configs:
        if engine == "dask-cluster":  # a cluster that is already running, as on SLURM or Kubernetes
            from dask.distributed import LocalCluster

            with LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
                times = [run_once(data, "dask", w, cl.scheduler_address)[0] for _ in range(args.repeat)]
        else:
            times = [run_once(data, engine, w)[0] for _ in range(args.repeat)]
        rows[(engine, w)] = statistics.median(times)
        print(f"  {engine} x{w}: {rows[(engine, w)]:.2f} s", file=sys.stderr)
    print(f"\n{args.files} header-only files, {cpus} CPUs, median of {args.repeat}\n")
    print("| engine | workers | s | files/s | speed-up vs local x1 |")
    print("| --- | ---: | ---: | ---: | ---: |")
    base = rows.get(("local", 1)) or next(iter(rows.values()))
    for (engine, w), t in rows.items():
        print(f"| {engine} | {w} | {t:.2f} | {args.files / t:,.0f} | {base / t:.2f}x |")
    for w in range(1, cpus + 1):
        for engine in ("dask", "dask-cluster"):
            if (engine, w) in rows and ("local", w) in rows:
                over = (rows[(engine, w)] - rows[("local", w)]) / args.files * 1000
                print(
                    f"\n{engine} vs local at {w} worker(s): {rows[(engine, w)] / rows[('local', w)]:.2f}x the "
                    f"time, {over:+.2f} ms per file"
                )
    print("\n| files | driver peak RSS (MiB), local x2 |")
    print("| ---: | ---: |")
    for n in args.rss_files:
        _t, hwm = run_once(make_data(n), "local", min(2, cpus))
        print(f"| {n} | {hwm / 1024:.0f} |")


if __name__ == "__main__":
    main()
