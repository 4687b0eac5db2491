"""Why the gateway de-identifies in worker processes: the receiving AE alone, and beside
one CPU-bound thread in its process.

    storescu (DCMTK) -> deid's Receiver (pynetdicom SCP, spool with fsync)

Run once with the receiver alone in its process, once with a thread beside it that
only computes (as de-identification does). pynetdicom hands every message between
threads that poll; a busy thread holds the interpreter lock between their turns.
Needs Debian `dcmtk`.

    python benchmarks/gateway_receive.py --instances 1000

Results: docs/gateway.md.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "benchmarks")]

from deid.gateway.scp import Receiver  # noqa: E402
from deid.gateway.spool import Spool  # noqa: E402
from dicom_peers import free_port, make_study_files  # noqa: E402
from gateway import push  # noqa: E402

WORK = REPO / "benchmarks" / ".work" / "gateway-receive"


def receive(folder: Path, n: int, busy: bool, name: str) -> float:
    spool = Spool(WORK / f"spool-{name}")
    spool.prepare()
    rx = Receiver("DEID", "127.0.0.1", free_port(), spool)
    rx.start()
    stop = threading.Event()

    def compute() -> None:
        x = 0
        while not stop.is_set():
            for i in range(10_000):
                x += i

    if busy:
        threading.Thread(target=compute, daemon=True).start()
    try:
        t = time.perf_counter()
        push(rx.address[1], folder, "DEID")
        took = time.perf_counter() - t
    finally:
        stop.set()
        rx.stop()
    if spool.depth() != n:
        raise SystemExit(f"{spool.depth()} of {n} instances spooled")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", type=int, default=1000)
    args = ap.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    make_study_files(WORK / "in", args.instances, patients=10)
    print(f"{'receiver':40} {'n':>5} {'seconds':>8} {'inst/s':>8}")
    for name, busy in (("alone in its process", False), ("beside one CPU-bound thread", True)):
        secs = receive(WORK / "in", args.instances, busy, name.split()[0])
        print(f"{name:40} {args.instances:5d} {secs:8.2f} {args.instances / secs:8.1f}")


if __name__ == "__main__":
    main()
