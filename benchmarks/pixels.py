"""Burned-in text: line recall, collateral and seconds per image for deid, and for
presidio-image-redactor when it is importable (offline: Tesseract from Debian, spaCy
blank), on the synthetic set of tests/pixels/synth.py, in one run.

    python benchmarks/pixels.py --n 8 --size 2048
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# this file is named pixels.py, like the tests' package: keep its folder off the path
sys.path = [str(ROOT), str(ROOT / "tests")] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

import numpy as np  # noqa: E402


def deid_tool():
    from deid.handlers import Context, DicomHandler
    from deid.policy import load_pipeline
    from deid.pseudonym import Pseudonymizer
    from helpers import KEY, read

    ctx = Context(load_pipeline("chest-xray"), Pseudonymizer(KEY))

    def run(data: bytes):
        res = DicomHandler()._process(data, "fp", ctx, "x.dcm")
        return read(res.data).pixel_array if res.status == "ok" else None
    return run


def presidio_tool():
    try:
        from presidio_image_redactor import DicomImageRedactorEngine
    except ImportError:
        return None
    import io

    import pydicom
    engine = DicomImageRedactorEngine()

    def run(data: bytes):
        ds = pydicom.dcmread(io.BytesIO(data))
        out = engine.redact(ds, fill="contrast")
        return out.pixel_array
    return run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--size", type=int, default=2048)
    args = ap.parse_args()
    from helpers import to_bytes
    from pixels.synth import chest_case, to_dataset

    cases = []
    for seed in range(args.n):
        s = chest_case(100 + seed, args.size, args.size)
        ds = to_dataset(s, bits=12, syntax="rle")
        cases.append((s, to_bytes(ds), ds.pixel_array.copy()))
    tools = {"deid": deid_tool(), "presidio-image-redactor": presidio_tool()}
    rows = []
    for name, tool in tools.items():
        if tool is None:
            print(f"{name}: not installed, skipped")
            continue
        tool(cases[0][1])  # warm up (model load)
        secs, hit, total, coll = [], 0, 0, []
        for s, data, before in cases:
            t = time.perf_counter()
            after = tool(data)
            secs.append(time.perf_counter() - t)
            if after is None:
                continue
            inside = np.zeros(before.shape, bool)
            for ln in s.lines:
                if ln.safe:
                    continue
                total += 1
                hit += (before[ln.mask] != after[ln.mask]).mean() >= 0.9
            for ln in s.lines:
                x0, y0, x1, y1 = ln.box
                inside[max(0, y0 - 12):y1 + 12, max(0, x0 - 12):x1 + 12] = True
            coll.append(float(((before != after) & ~inside).mean()))
        rows.append((name, hit / max(1, total), statistics.median(coll) if coll else float("nan"),
                     statistics.median(secs)))
    print(f"\n{args.n} synthetic {args.size}x{args.size} 12-bit RLE chest X-rays, 1 process\n")
    print("| tool | PHI line recall | median collateral | median s/image |")
    print("| --- | ---: | ---: | ---: |")
    for name, rec, col, sec in rows:
        print(f"| {name} | {rec:.3f} | {col:.2%} | {sec:.2f} |")


if __name__ == "__main__":
    main()
