"""Instances per second through the DICOM gateway against the same files through `deid run`.

    storescu (DCMTK) -> deid serve -> Orthanc     (the gateway: receive, spool with fsync,
                                                    de-identify, verify, audit, C-STORE)
    deid run IN --out OUT                          (file mode: the same files to disk)
    storescu -> Orthanc                            (the destination alone: the floor)

for the header-only pipeline (dicom-basic with pixels off, as header_throughput.py) and the chest-xray pipeline (burned-in text),
in one run, all on loopback. Small synthetic CT instances (8x8 pixels; the chest-xray
run uses 256x256 so OCR has something to look at). Needs Debian `orthanc` and `dcmtk`.

    python benchmarks/gateway.py                      # 500 header-only, 50 chest-xray
    python benchmarks/gateway.py --instances 1000 --xray-instances 100

Gateway time: from storescu's start until Orthanc holds every instance (the gateway
already listening). File-mode time: `deid run`'s own seconds (its start-up excluded),
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


def _push(port: int, folder: Path, called: str, aet: str = "MODALITY") -> None:
    r = subprocess.run(
        [STORESCU, "-aet", aet, "-aec", called, "+sd", "+r", "127.0.0.1", str(port), str(folder)],
        capture_output=True,
        env=dcmtk_env(),
        timeout=3600,
    )
    if r.returncode:
        raise SystemExit(f"storescu failed: {r.stderr[-500:]!r}")


def direct(folder: Path, n: int, tmp: Path) -> float:
    o = start_orthanc(tmp / "orthanc-direct", {"MODALITY": None})
    try:
        t = time.perf_counter()
        _push(o.dicom_port, folder, o.aet)
        wait_for(lambda: o.statistics()["CountInstances"] >= n, timeout=3600, step=0.25)
        return time.perf_counter() - t
    finally:
        o.stop()


def gateway(folder: Path, n: int, pipeline: str, name: str, tmp: Path) -> float:
    o = start_orthanc(tmp / f"orthanc-{name}", {"DEID": None})
    (tmp / f"gw-{name}").mkdir(parents=True, exist_ok=True)
    try:
        s = serve(tmp / f"gw-{name}", "--forward", o.peer, "--pipeline", pipeline, name=name)
    except BaseException:
        o.stop()
        raise
    try:
        t = time.perf_counter()
        _push(s.port, folder, "DEID")
        wait_for(lambda: o.statistics()["CountInstances"] >= n, timeout=3600, step=0.25)
        took = time.perf_counter() - t
        if s.stop() != 0:
            raise SystemExit(f"deid serve did not drain: {s.output()[-1000:]}")
        return took
    finally:
        if s.proc.poll() is None:
            s.proc.kill()
        o.stop()


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


def xray_files(folder: Path, n: int) -> None:
    import numpy as np
    from pydicom.uid import generate_uid

    from dicom_peers import ct_instance
    from helpers import write

    study, series = generate_uid(), generate_uid()
    for i in range(n):
        ds = ct_instance(0, study, series, i, Modality="CR")
        ds.Rows = ds.Columns = 256
        ds.PixelData = (np.indices((256, 256)).sum(0) % 4096).astype(np.uint16).tobytes()
        write(ds, folder / f"{i:05d}.dcm")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", type=int, default=500)
    ap.add_argument("--xray-instances", type=int, default=50)
    args = ap.parse_args()
    os.environ["DEID_KEY"] = KEY
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    header_in = WORK / "in-header"
    make_study_files(header_in, args.instances, patients=10)
    xray_in = WORK / "in-xray"
    xray_files(xray_in, args.xray_instances)
    rows = []
    floor = direct(header_in, args.instances, WORK)
    rows.append(("storescu -> Orthanc (no deid)", "-", args.instances, floor, None))
    header = str(header_only_pipeline(WORK))
    for name, pipeline, folder, n in (
        ("header-only", header, header_in, args.instances),
        ("chest-xray", "chest-xray", xray_in, args.xray_instances),
    ):
        g = gateway(folder, n, pipeline, name, WORK)
        f = file_mode(folder, pipeline, name, WORK)
        rows.append(("storescu -> deid serve -> Orthanc", name, n, g, f))
        rows.append(("deid run (to disk)", name, n, f, None))
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'path':36} {'pipeline':12} {'n':>5} {'seconds':>8} {'inst/s':>8} {'gateway/file':>12}")
    results = []
    for path, pipe, n, secs, file_secs in rows:
        ratio = f"{secs / file_secs:.2f}x" if file_secs else ""
        print(f"{path:36} {pipe:12} {n:5d} {secs:8.2f} {n / secs:8.1f} {ratio:>12}")
        results.append({"path": path, "pipeline": pipe, "instances": n, "seconds": secs, "per_second": n / secs})
    (WORK / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
