"""Instances per second through the DICOM gateway against the same files through `deid run`.

    storescu (DCMTK) -> deid serve -> Orthanc     (the gateway: receive, spool with fsync,
                                                    de-identify, verify, audit, C-STORE)
    deid run IN --out OUT                          (file mode: the same files to disk)
    storescu -> Orthanc                            (the destination alone: the floor)

for the header-only pipeline (dicom-basic with pixels off, as header_throughput.py) on
small synthetic CT instances (8x8 pixels, ~1 KB: the issue's target) and on CT-sized ones
(512x512x16 bits, ~512 KB), and the chest-xray pipeline (burned-in text, 256x256 so OCR
has something to look at), in one run, all on loopback. Needs Debian `orthanc` and `dcmtk`.

    python benchmarks/gateway.py                      # 500 small, 200 CT-sized, 50 chest-xray
    python benchmarks/gateway.py --instances 1000 --ct-instances 300 --xray-instances 100

Gateway time: from storescu's start until Orthanc holds every instance (the gateway
already listening, with its default `--workers`: one per core). The "no deid" row sends
the same files straight to Orthanc: the network legs' own cost, which no gateway can beat;
its ratio column is against file mode too. File-mode time: `deid run`'s own seconds (its start-up excluded),
default engine (a process pool, one worker per core). Results: docs/gateway.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from dicom_peers import (  # noqa: E402
    STORESCU,
    dcmtk_env,
    env,
    header_only_pipeline,
    make_study_files,
    serve,
    start_orthanc,
    wait_for,
)

WORK = REPO / "benchmarks" / ".work" / "gateway"
KEY = "benchmark-key-0123456789abcdef-0123456789"


SENDERS = 1  # storescu processes at once (--senders), each over its own association
WORKERS: list[str] = []  # deid serve --workers N (--workers; default: the gateway's)


def push(port: int, folder: Path, called: str, aet: str = "MODALITY") -> None:
    """storescu over `folder`; with SENDERS > 1, that many at once over disjoint shares of
    its files (as several modalities sending at once)."""
    files = sorted(folder.rglob("*.dcm"))
    shares = [files[i::SENDERS] for i in range(SENDERS)]
    procs = [
        subprocess.Popen(
            [STORESCU, "-aet", f"{aet}{i}"[:16] if SENDERS > 1 else aet, "-aec", called, "127.0.0.1", str(port)]
            + [str(f) for f in share],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=dcmtk_env(),
        )
        for i, share in enumerate(shares)
        if share
    ]
    for p in procs:
        _out, err = p.communicate(timeout=3600)
        if p.returncode:
            raise SystemExit(f"storescu failed: {err[-500:]!r}")


def direct(folder: Path, n: int, name: str, tmp: Path) -> float:
    o = start_orthanc(tmp / f"orthanc-direct-{name}", _callers("MODALITY"))
    try:
        t = time.perf_counter()
        push(o.dicom_port, folder, o.aet)
        wait_for(lambda: o.statistics()["CountInstances"] >= n, timeout=3600, step=0.25)
        return time.perf_counter() - t
    finally:
        o.stop()


def gateway(folder: Path, n: int, pipeline: str, name: str, tmp: Path) -> float:
    o = start_orthanc(tmp / f"orthanc-{name}", {"DEID": None})
    (tmp / f"gw-{name}").mkdir(parents=True, exist_ok=True)
    try:
        s = serve(tmp / f"gw-{name}", "--forward", o.peer, "--pipeline", pipeline, *WORKERS, name=name)
    except BaseException:
        o.stop()
        raise
    try:
        t = time.perf_counter()
        push(s.port, folder, "DEID")
        wait_for(lambda: o.statistics()["CountInstances"] >= n, timeout=3600, step=0.25)
        took = time.perf_counter() - t
        if s.stop() != 0:
            raise SystemExit(f"deid serve did not drain: {s.output()[-1000:]}")
        return took
    finally:
        if s.proc.poll() is None:
            s.proc.kill()
        o.stop()


def _callers(aet: str) -> dict[str, int | None]:
    return {aet: None} if SENDERS == 1 else {f"{aet}{i}"[:16]: None for i in range(SENDERS)}


def file_mode(folder: Path, pipeline: str, name: str, tmp: Path) -> float:
    out = tmp / f"out-{name}"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "deid.cli",
            "run",
            str(folder),
            "--out",
            str(out),
            "-p",
            pipeline,
            "-q",
            "--format",
            "json",
        ],
        capture_output=True,
        env=env(),
        timeout=3600,
    )
    if r.returncode:
        raise SystemExit(f"deid run failed ({r.returncode}): {r.stderr[-500:]!r}")
    return float(json.loads(r.stdout)["seconds"])


def sized_files(folder: Path, n: int, side: int, modality: str) -> None:
    """n instances of one study, side x side 16-bit pixels (a ramp)."""
    import numpy as np
    from pydicom.uid import generate_uid

    from dicom_peers import ct_instance
    from helpers import write

    study, series = generate_uid(), generate_uid()
    pixels = (np.indices((side, side)).sum(0) % 4096).astype(np.uint16).tobytes()
    for i in range(n):
        ds = ct_instance(0, study, series, i, Modality=modality)
        ds.Rows = ds.Columns = side
        ds.PixelData = pixels
        write(ds, folder / f"{i:05d}.dcm")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", type=int, default=500)
    ap.add_argument("--ct-instances", type=int, default=200)
    ap.add_argument("--xray-instances", type=int, default=50)
    ap.add_argument("--senders", type=int, default=1, help="storescu processes at once (default 1)")
    ap.add_argument("--workers", type=int, default=None, help="deid serve --workers (default: its own)")
    args = ap.parse_args()
    global SENDERS, WORKERS
    SENDERS = max(1, args.senders)
    WORKERS = [] if args.workers is None else ["--workers", str(args.workers)]
    os.environ["DEID_KEY"] = KEY
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    header_in = WORK / "in-header"
    make_study_files(header_in, args.instances, patients=10)
    ct_in = WORK / "in-ct"
    sized_files(ct_in, args.ct_instances, 512, "CT")
    xray_in = WORK / "in-xray"
    sized_files(xray_in, args.xray_instances, 256, "CR")
    rows = []
    header = str(header_only_pipeline(WORK))
    for name, pipeline, folder, n in (
        ("header-only", header, header_in, args.instances),
        ("header-only-512", header, ct_in, args.ct_instances),
        ("chest-xray", "chest-xray", xray_in, args.xray_instances),
    ):
        if not n:
            continue
        floor = direct(folder, n, name, WORK)  # the network legs' floor: no deid at all
        g = gateway(folder, n, pipeline, name, WORK)
        f = file_mode(folder, pipeline, name, WORK)
        rows.append(("storescu -> Orthanc (no deid)", name, n, floor, f))
        rows.append(("storescu -> deid serve -> Orthanc", name, n, g, f))
        rows.append(("deid run (to disk)", name, n, f, None))
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'path':36} {'pipeline':15} {'n':>5} {'seconds':>8} {'inst/s':>8} {'vs file mode':>12}")
    results = []
    for path, pipe, n, secs, file_secs in rows:
        ratio = f"{secs / file_secs:.2f}x" if file_secs else ""
        print(f"{path:36} {pipe:15} {n:5d} {secs:8.2f} {n / secs:8.1f} {ratio:>12}")
        results.append({"path": path, "pipeline": pipe, "instances": n, "seconds": secs, "per_second": n / secs})
    (WORK / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
