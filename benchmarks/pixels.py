"""Burned-in text: recall, collateral and seconds per image for deid and for
presidio-image-redactor, in one run, one thread each.

Data: synthetic 12-bit RLE chest X-rays from tests/pixels/synth.py (ground truth: every
text line's stroke mask), plus the shared presidio test images in
../shared/data/external/presidio (ground truth: word boxes).

presidio-image-redactor is installed into its own venv (benchmarks/.work/venvs/) and run
offline by benchmarks/_presidio_runner.py: Tesseract from Debian, spaCy's blank English
pipeline, header values as its deny list (use_metadata=True, its default).
Threads: deid with DEID_OCR_THREADS=1, Tesseract with OMP_THREAD_LIMIT=1, so seconds
per image are per core. Model loading is outside the timed region for both.

Seconds per image by case (deid, one thread, median of --repeat runs of each file):
CR 2048x2048 (the synthetic chest X-rays above), CT 512x512 and US RGB 30-frame cine
(both from the independent generator, tests/pixels/realistic.py), whole handler: decode,
every detector pass and view, recognition, verify, the guard and encode.

With --baseline REV the CR files are also timed with deid as it was at git revision REV
(checked out into benchmarks/.work/baseline-REV), alternating with this tree, in the same
run: the speed-up is a ratio measured under the same load.

    python benchmarks/pixels.py [--n 8] [--size 2048] [--repeat 3] [--skip-presidio] [--baseline REV]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("DEID_OCR_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
TREE = Path(os.environ.get("DEID_BENCH_TREE", ROOT))  # whose deid is timed (--baseline)
# this file is named pixels.py, like the tests' package: keep its folder off the path
sys.path = [str(TREE), str(ROOT), str(ROOT / "tests")] + [
    p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"
]

import numpy as np  # noqa: E402
import pydicom  # noqa: E402

WORK = ROOT / "benchmarks" / ".work" / "pixels"
SHARED = ROOT.parent / "shared" / "data" / "external" / "presidio"
REAL = {
    "CR chest (presidio 0_ORIGINAL)": ("0_ORIGINAL_compressed.dcm", "sample_data/0_ORIGINAL.dcm"),
    "CT (presidio 2_ORIGINAL)": ("2_ORIGINAL.dcm", "sample_data/2_ORIGINAL.dcm"),
    "RGB PET, no text (negative control)": ("RGB_ORIGINAL.dcm", None),
}


def _header_bench():
    spec = importlib.util.spec_from_file_location("header_throughput", ROOT / "benchmarks" / "header_throughput.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["header_throughput"] = mod  # its dataclasses look themselves up there
    spec.loader.exec_module(mod)
    return mod


def run_deid(files: list[Path]) -> tuple[list[np.ndarray | None], list[float]]:
    try:
        from deid.core import Context
        from deid.dicom.handler import DicomHandler
    except ImportError:  # a --baseline tree from before deid/core.py (issue 16)
        from deid.handlers import Context, DicomHandler  # type: ignore[no-redef]
    from deid.policy import load_pipeline
    from deid.pseudonym import Pseudonymizer
    from helpers import KEY, read

    ctx, handler = Context(load_pipeline("chest-xray"), Pseudonymizer(KEY)), DicomHandler()
    handler._process(files[0].read_bytes(), "fp", ctx, "warm.dcm")  # model load, outside the timing
    outs, secs = [], []
    for f in files:
        data = f.read_bytes()
        t = time.perf_counter()
        res = handler._process(data, "fp", ctx, f.name)
        secs.append(time.perf_counter() - t)
        outs.append(read(res.data).pixel_array if res.status == "ok" else None)
    return outs, secs


def run_presidio(files: list[Path]) -> tuple[list[np.ndarray | None], list[float], str]:
    hb = _header_bench()
    tool = hb.Tool("presidio-image-redactor", "presidio-image-redactor")
    hb.install(tool)
    if tool.status != "ok":
        return [None] * len(files), [], tool.status
    out = WORK / "presidio-out"
    env = {**os.environ, "OMP_THREAD_LIMIT": "1", "HF_HUB_OFFLINE": "1"}
    r = subprocess.run(
        [str(hb.venv_python(tool)), str(ROOT / "benchmarks" / "_presidio_runner.py"), str(out)]
        + [str(f) for f in files],
        capture_output=True,
        text=True,
        env=env,
    )
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    if len(rows) != len(files):
        return [None] * len(files), [], f"failed: {(r.stderr.strip().splitlines() or ['?'])[-1][:120]}"
    outs = [
        np.load(out / f"{n}.npy") if not row["error"] and (out / f"{n}.npy").exists() else None
        for n, row in enumerate(rows)
    ]
    errors = sorted({row["error"] for row in rows if row["error"]})
    return outs, [row["seconds"] for row in rows], tool.version + (f" (errors: {', '.join(errors)})" if errors else "")


def cases(n: int) -> dict[str, list[Path]]:
    """CT 512x512 and US RGB 30-frame cine files from the independent generator: the first
    n seeds of each kind that match (cine: exactly 30 frames)."""
    from pixels.realistic import case

    out: dict[str, list[Path]] = {"CT 512x512": [], "US RGB 30-frame cine": []}
    folder = WORK / "cases"
    folder.mkdir(parents=True, exist_ok=True)
    for label, kind, want in (
        ("CT 512x512", "ct", lambda c: c.rows == c.cols == 512),
        ("US RGB 30-frame cine", "us-cine", lambda c: c.frames == 30),
    ):
        seed = 0
        while len(out[label]) < n and seed < 2000:
            f = folder / f"{kind}-{seed:05d}.dcm"
            if f.exists() or want(c := case(seed, kind)):
                if not f.exists():
                    c.write(f)
                out[label].append(f)
            seed += 1
    return out


def time_deid(files: list[Path], repeat: int) -> list[float]:
    """Median seconds per file over `repeat` runs (model load outside the timing)."""
    try:
        from deid.core import Context
        from deid.dicom.handler import DicomHandler
    except ImportError:  # a --baseline tree from before deid/core.py (issue 16)
        from deid.handlers import Context, DicomHandler  # type: ignore[no-redef]
    from deid.policy import load_pipeline
    from deid.pseudonym import Pseudonymizer
    from helpers import KEY

    ctx, handler = Context(load_pipeline("chest-xray"), Pseudonymizer(KEY)), DicomHandler()
    handler._process(files[0].read_bytes(), "fp", ctx, "warm.dcm")
    out = []
    for f in files:
        data, runs = f.read_bytes(), []
        for _ in range(repeat):
            t = time.perf_counter()
            handler._process(data, "fp", ctx, f.name)
            runs.append(time.perf_counter() - t)
        out.append(statistics.median(runs))
    return out


def baseline_tree(rev: str) -> Path:
    """A checkout of `rev` (git worktree) to time against."""
    dest = WORK.parent / f"baseline-{rev}"
    if not (dest / "deid").is_dir():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--force", "--detach", str(dest), rev],
            check=True,
            capture_output=True,
        )
    return dest


def time_in(tree: Path, files: list[Path], repeat: int) -> list[float]:
    """time_deid() run by `tree`'s deid, in a child process."""
    env = {**os.environ, "DEID_BENCH_TREE": str(tree), "PYTHONPATH": str(tree)}
    r = subprocess.run(
        [sys.executable, __file__, "--repeat", str(repeat), "--time-only"] + [str(f) for f in files],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(r.stdout.strip().splitlines()[-1])


def synthetic(n: int, size: int) -> tuple[list[Path], list]:
    from helpers import to_bytes
    from pixels.synth import chest_case, to_dataset

    folder = WORK / f"synthetic-{size}"
    folder.mkdir(parents=True, exist_ok=True)
    files, truths = [], []
    for seed in range(n):
        s = chest_case(100 + seed, size, size)
        f = folder / f"chest{seed:02d}.dcm"
        if not f.exists():
            f.write_bytes(to_bytes(to_dataset(s, bits=12, syntax="rle")))
        files.append(f)
        truths.append(s)
    return files, truths


def score_synthetic(truths, befores, afters) -> dict:
    hit = total = 0
    coll = []
    for s, before, after in zip(truths, befores, afters):
        lines = [ln for ln in s.lines if not ln.safe]
        total += len(lines)
        if after is None or after.shape != before.shape:
            continue
        changed = before != after
        hit += sum(changed[ln.mask].mean() >= 0.9 for ln in lines)
        inside = np.zeros(before.shape, bool)
        for ln in s.lines:
            x0, y0, x1, y1 = ln.box
            inside[max(0, y0 - 12) : y1 + 12, max(0, x0 - 12) : x1 + 12] = True
        coll.append(float((changed & ~inside).mean()))
    return {
        "recall": hit / max(1, total),
        "collateral": statistics.median(coll) if coll else None,
        "failed": sum(a is None for a in afters),
    }


def score_real(gt_key: str | None, before: np.ndarray, after: np.ndarray | None) -> dict:
    """Ground-truth words covered (>= 90 % of a word's ink pixels changed; ink = pixels far
    from the word box's median) and changed pixels outside the word boxes."""
    if after is None or after.shape != before.shape:
        return {"words": None, "collateral": None}
    changed = (before != after).any(axis=-1) if before.ndim == 3 else before != after
    gray = before.mean(axis=-1) if before.ndim == 3 else before.astype(np.float64)
    inside = np.zeros(changed.shape, bool)
    words = json.loads((SHARED / "ground_truth.json").read_text()).get(gt_key, []) if gt_key else []
    covered = 0
    span = float(gray.max() - gray.min()) or 1.0
    for w in words:  # ground truth is in presidio's 25 px padded space
        x0, y0 = max(0, w["left"] - 25), max(0, w["top"] - 25)
        x1, y1 = x0 + w["width"], y0 + w["height"]
        box = gray[y0:y1, x0:x1]
        ink = np.abs(box - np.median(box)) > 0.2 * span
        covered += bool(ink.any()) and changed[y0:y1, x0:x1][ink].mean() >= 0.9
        inside[max(0, y0 - 12) : y1 + 12, max(0, x0 - 12) : x1 + 12] = True
    return {"words": f"{covered}/{len(words)}" if words else "-", "collateral": float((changed & ~inside).mean())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--skip-presidio", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cases", type=int, default=3, help="files per case for the s/image table (at least 1)")
    ap.add_argument("--baseline", help="git revision to time the CR files against, in the same run")
    ap.add_argument("--time-only", nargs="*", help=argparse.SUPPRESS)  # the child of --baseline
    args = ap.parse_args()
    if args.cases < 1:
        ap.error("--cases must be at least 1: each case is timed on its own files")
    if args.time_only is not None:
        print(json.dumps(time_deid([Path(f) for f in args.time_only], args.repeat)))
        return
    files, truths = synthetic(args.n, args.size)
    real = [SHARED / name for name, _gt in REAL.values()]
    befores = [pydicom.dcmread(f).pixel_array for f in files + real]
    tools = {"deid": run_deid}
    if not args.skip_presidio:
        tools["presidio-image-redactor"] = run_presidio
    results = {}
    for name, fn in tools.items():
        print(f"running {name} ...", file=sys.stderr)
        got = fn(files + real)
        outs, secs = got[0], got[1]
        note = got[2] if len(got) > 2 else ""
        results[name] = {
            "note": note,
            "synthetic": score_synthetic(truths, befores, outs[: len(files)]),
            "s_per_image": statistics.median(secs[: len(files)]) if secs else None,
            "real": [
                score_real(gt, b, a)
                for (gt, b, a) in zip([g for _n, g in REAL.values()], befores[len(files) :], outs[len(files) :])
            ],
        }
    print(f"\n{args.n} synthetic {args.size}x{args.size} 12-bit RLE chest X-rays; 1 thread per tool\n")
    print("| tool | PHI line recall | median collateral | median s/image | failed |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        s = r["synthetic"]
        col = f"{s['collateral']:.2%}" if s["collateral"] is not None else "-"
        sec = f"{r['s_per_image']:.2f}" if r["s_per_image"] is not None else "-"
        print(f"| {name} {r['note']} | {s['recall']:.3f} | {col} | {sec} | {s['failed']} |")
    if len(results) == 2 and all(r["s_per_image"] for r in results.values()):
        print(
            f"\npresidio / deid seconds per image: "
            f"{results['presidio-image-redactor']['s_per_image'] / results['deid']['s_per_image']:.1f}x"
        )
    print(
        f"\ndeid seconds per image by case (chest-xray pipeline, 1 thread, median of {args.repeat} runs per "
        "file, then the median over files)\n"
    )
    print("| case | files | median s/image | per file |")
    print("| --- | ---: | ---: | --- |")
    by_case = {f"CR {args.size}x{args.size} (synthetic chest, 12-bit RLE)": files[: args.cases], **cases(args.cases)}
    for label, fs in by_case.items():
        secs = time_deid(fs, args.repeat)
        print(f"| {label} | {len(fs)} | {statistics.median(secs):.2f} | {', '.join(f'{x:.2f}' for x in secs)} |")
    if args.baseline:
        tree, mine, base = baseline_tree(args.baseline), [], []
        for f in files:  # alternate file by file, so both see the same load
            mine += time_in(ROOT, [f], args.repeat)
            base += time_in(tree, [f], args.repeat)
        print(
            f"\nCR {args.size}x{args.size}, this tree against {args.baseline} (alternating, 1 thread, median of "
            f"{args.repeat} runs per file)\n"
        )
        print("| deid | median s/image | per file |")
        print("| --- | ---: | --- |")
        for label, secs in (("this tree", mine), (args.baseline, base)):
            print(f"| {label} | {statistics.median(secs):.2f} | {', '.join(f'{x:.2f}' for x in secs)} |")
        print(f"\nthis tree / {args.baseline}: {statistics.median(mine) / statistics.median(base):.2f}x the time")
    print("\nShared presidio test images (ground-truth words covered; changed pixels outside them)\n")
    print("| image | " + " | ".join(results) + " |")
    print("| --- |" + " ---: |" * len(results))
    for k, label in enumerate(REAL):
        cells = []
        for r in results.values():
            x = r["real"][k]
            cells.append("failed" if x["collateral"] is None else f"{x['words']} words, {x['collateral']:.1%} outside")
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
