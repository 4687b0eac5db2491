"""Burned-in text removal on independent, realistic synthetic images (tests/pixels/realistic.py).

Generates N cases cycling through every kind (CR/DX/MG/CT/MR/US/SC, Chinese PACS, film,
hidden ranges, hard negatives), writes them as DICOM files, runs the CLI the way users
do, and scores the outputs against per-token ground truth (tests/pixels/realistic_score.py):

    deid run IN --out OUT --pipeline P --key-file K -q --workers 1

A file missing from OUT was quarantined: its reason comes from OUT.quarantine/*.reason.json.

    python benchmarks/pixels_realistic.py --n 40 --pipeline chest-xray --pipeline ultrasound
        [--out DIR]        keep inputs, outputs and results here (default: a temp folder, removed)
        [--png DIR]        side-by-side before / after / changed PNGs per case and pipeline
        [--kinds a,b]      only these kinds   [--seed0 S]   first seed
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "pixels"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pydicom  # noqa: E402
import realistic as R  # noqa: E402
import realistic_score as S  # noqa: E402


def _deid_cmd() -> list[str]:
    exe = shutil.which("deid")
    return [exe] if exe else [sys.executable, "-c", "from deid.cli import main; main()"]


def _key(path: Path) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_hex(32).encode("ascii") + b"\n")  # 32 random bytes, hex
    return path


def _window(ds):
    if "WindowCenter" not in ds:
        return None
    c, w = ds.WindowCenter, ds.WindowWidth
    c = c[0] if isinstance(c, pydicom.multival.MultiValue) else c
    w = w[0] if isinstance(w, pydicom.multival.MultiValue) else w
    return float(c), float(w)


def _rescale(ds):
    return float(getattr(ds, "RescaleIntercept", 0) or 0), float(getattr(ds, "RescaleSlope", 1) or 1)


def _tol(ds_in, ds_out) -> float:
    lossy = {str(ds_in.file_meta.TransferSyntaxUID), str(ds_out.file_meta.TransferSyntaxUID)} & S.LOSSY_TS
    if not lossy:
        return 0
    return 8 if int(ds_in.BitsStored) <= 8 else (2 ** int(ds_in.BitsStored)) * 0.02


def score_one(c: R.Case, in_path: Path, out_dir: Path, qdir: Path):
    ds_in = pydicom.dcmread(in_path)
    before = R.stored_pixels(ds_in)
    out_path = out_dir / in_path.name
    reason_file = qdir / (in_path.name + ".reason.json")

    def unscored(status: str, reason: str):
        """No output to compare: the case scored as `status`, with its reason."""
        sc = S.score_image(c.tokens, before, None, name=c.name, kind=c.kind, status=status, reason=reason)
        return sc, (ds_in, None, 0), before, None

    if out_path.exists():
        try:
            ds_out = pydicom.dcmread(out_path)
            after = R.stored_pixels(ds_out)
        except Exception as exc:  # an unreadable output is a finding of its own
            return unscored("error", f"output unreadable: {type(exc).__name__}: {exc}")
        b, a, extra, pi = S.to_comparable(
            before,
            str(ds_in.PhotometricInterpretation),
            after,
            str(ds_out.PhotometricInterpretation),
            int(ds_in.BitsStored),
        )
        tol = _tol(ds_in, ds_out) + extra
        sc = S.score_image(c.tokens, b, a, name=c.name, kind=c.kind, tol=tol)
        return sc, (ds_in, pi, tol), b, a
    if reason_file.exists():
        return unscored("quarantined", json.loads(reason_file.read_text()).get("reason", "?"))
    return unscored("missing", "no output and no quarantine record")


def _panel(arr, photometric, window, rescale):
    return R.to_png(arr, photometric, window, rescale, maxdim=100000).copy()


def write_png(path: Path, c: R.Case, sc: S.ImageScore, info, before, after) -> None:
    ds_in, pi, tol = info
    pi = pi or str(ds_in.PhotometricInterpretation)
    f = 0
    if before.shape[0] > 1 and after is not None and after.shape == before.shape:  # the worst frame
        ch = S.changed_mask(before, after, tol).reshape(before.shape[0], -1).mean(axis=1)
        f = int(np.argmax(ch)) if ch.max() > 0.15 else 0
    win, resc = _window(ds_in), _rescale(ds_in)
    left = _panel(before[f], pi, win, resc)
    H, W = left.shape[:2]
    t = max(1, int(max(H, W) / 700))
    for tok, ts in zip(c.tokens, sc.tokens if sc.tokens else [None] * len(c.tokens)):
        if tok.frames and f not in tok.frames:
            continue
        if ts is None:
            col = (255, 160, 0) if tok.phi else (150, 150, 150)
        elif tok.safe:
            col = (0, 220, 255) if ts.kept else (255, 0, 255)
        elif tok.phi:
            col = (0, 220, 0) if ts.covered else (255, 0, 0)
        else:
            col = (90, 140, 255) if ts.covered else (255, 230, 0)
        x0, y0, x1, y1 = tok.bbox
        cv2.rectangle(left, (x0 - 2 * t, y0 - 2 * t), (x1 + 2 * t, y1 + 2 * t), col, t)
    panels = [left]
    if after is not None and after.shape == before.shape:
        right = _panel(after[f], pi, win, resc)
        ch = S.changed_mask(before[f : f + 1], after[f : f + 1], tol)[0]
        diff = (right.astype(np.float32) * 0.35).astype(np.uint8)
        diff[ch] = (255, 0, 255)
        panels += [right, diff]
    h = min(900, H)
    panels = [cv2.resize(p, (int(p.shape[1] * h / p.shape[0]), h), interpolation=cv2.INTER_AREA) for p in panels]
    img = np.hstack([np.pad(p, ((0, 0), (0, 6), (0, 0))) for p in panels])
    bar = np.zeros((28, img.shape[1], 3), np.uint8)
    phi = [ts for ts in sc.tokens if ts.phi]
    txt = (
        f"{c.name} f{f} {c.modality} {c.rows}x{c.cols}x{c.frames} {c.photometric} | {sc.status}"
        + (f": {sc.reason[:90]}" if sc.reason else "")
        + (
            f" | PHI covered {sum(t.covered for t in phi)}/{len(phi)} coll {100 * sc.collateral:.2f}%"
            f" changed {100 * sc.changed_frac:.1f}%"
            if sc.status == "ok"
            else ""
        )
    )
    cv2.putText(bar, txt, (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.vstack([bar, img])[..., ::-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--pipeline", action="append", default=None)
    ap.add_argument("--out", type=Path, default=None, help="work folder to keep (default: temp, removed)")
    ap.add_argument("--png", type=Path, default=None)
    ap.add_argument("--kinds", default="", help="comma-separated subset of: " + ",".join(R.KINDS))
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="also print the aggregate as JSON")
    args = ap.parse_args(argv)
    pipelines = args.pipeline or ["chest-xray"]
    kinds = [k for k in args.kinds.split(",") if k] or list(R.KINDS)
    bad = [k for k in kinds if k not in R.KINDS]
    if bad:
        ap.error(f"unknown kinds {bad}")
    work = args.out.resolve() if args.out else Path(tempfile.mkdtemp(prefix="deid-realistic-"))
    work.mkdir(parents=True, exist_ok=True)
    src = work / "in"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir()
    t0 = time.time()
    cases = [R.case(args.seed0 + i, kinds[i % len(kinds)]) for i in range(args.n)]
    for c in cases:
        c.write(src / f"{c.name}.dcm")
    gen_s = time.time() - t0
    (work / "truth.json").write_text(json.dumps([c.summary() for c in cases], ensure_ascii=False, indent=1))
    key = _key(work / "key")
    print(
        f"generated {len(cases)} cases ({', '.join(sorted({c.kind for c in cases}))}) in {gen_s:.1f}s -> {src}",
        file=sys.stderr,
    )
    results = {}
    try:
        for p in pipelines:
            safe_p = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in Path(p).stem)
            out = work / f"out-{safe_p}"
            qdir = out.with_name(out.name + ".quarantine")
            for d in (out, qdir):
                shutil.rmtree(d, ignore_errors=True)
            for f in (out.with_name(out.name + ".audit.sqlite"),):
                f.unlink(missing_ok=True)
            cmd = _deid_cmd() + [
                "run",
                str(src),
                "--out",
                str(out),
                "--pipeline",
                p,
                "--key-file",
                str(key),
                "-q",
                "--workers",
                str(args.workers),
            ]
            print("running: " + " ".join(cmd[-11:]), file=sys.stderr)
            t1 = time.time()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            wall = time.time() - t1
            if proc.returncode not in (0, 1):
                print(f"deid exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}", file=sys.stderr)
                return 2
            scores = []
            for c in cases:
                sc, info, b, a = score_one(c, src / f"{c.name}.dcm", out, qdir)
                scores.append(sc)
                if args.png:
                    write_png(args.png / safe_p / f"{c.name}.png", c, sc, info, b, a)
            agg = S.aggregate(scores)
            results[p] = agg
            print()
            print(
                S.markdown(
                    agg,
                    f"pipeline {p}: {len(cases)} images, seeds {args.seed0}..{args.seed0 + args.n - 1}",
                    wall / max(1, len(cases)),
                )
            )
            if args.json:
                print(json.dumps(agg, default=str, ensure_ascii=False, indent=1))
            (work / f"results-{safe_p}.json").write_text(
                json.dumps(
                    {
                        "aggregate": agg,
                        "images": [
                            {
                                "name": s.name,
                                "kind": s.kind,
                                "status": s.status,
                                "reason": s.reason,
                                "collateral": s.collateral,
                                "changed_frac": s.changed_frac,
                                "tokens": [t.__dict__ for t in s.tokens],
                            }
                            for s in scores
                        ],
                        "wall_seconds": wall,
                        "deid_stdout": proc.stdout[-4000:],
                    },
                    default=str,
                    ensure_ascii=False,
                    indent=1,
                )
            )
    finally:
        if args.out is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
