"""Free-text identifiers: recall per category, clinical terms kept, precision and
throughput (characters per second, one thread) for deid rules only, deid rules + the
LAC name model, and presidio-analyzer offline, on the synthetic notes of
tests/records/synth.py (Chinese and English, gold spans), in one run.

presidio-analyzer runs in its own venv (benchmarks/.work/venvs/presidio-image-redactor,
made by benchmarks/pixels.py or here) through benchmarks/_presidio_analyzer_runner.py.

    python benchmarks/records.py [--n 300]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("DEID_OCR_THREADS", "1")  # one thread for every onnxruntime session
ROOT = Path(__file__).resolve().parent.parent
sys.path = [str(ROOT), str(ROOT / "tests")] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

from deid.text.ner import LacNames  # noqa: E402
from deid.text.recognize import find, resolve  # noqa: E402
from deid.text.rule import Span  # noqa: E402
from records.synth import notes, score  # noqa: E402

WORK = ROOT / "benchmarks" / ".work" / "records"
GROUPS = {
    "names": ("name",),
    "IDs/phones/e-mail/dates": ("resident-id", "phone", "email", "date", "mrn", "ssn"),
    "addresses": ("address",),
    "schools": ("school",),
    "ages > 89": ("age",),
}


def timed(texts: list[str], fn) -> tuple[list[list[Span]], float]:
    fn(texts[0])  # warm up (model load)
    t = time.perf_counter()
    out = [fn(x) for x in texts]
    return out, time.perf_counter() - t


def presidio(texts: list[str]) -> tuple[list[list[Span]] | None, float, str]:
    spec = importlib.util.spec_from_file_location("header_throughput", ROOT / "benchmarks" / "header_throughput.py")
    hb = importlib.util.module_from_spec(spec)
    sys.modules["header_throughput"] = hb
    spec.loader.exec_module(hb)
    tool = hb.Tool("presidio-image-redactor", "presidio-image-redactor")
    hb.install(tool)
    if tool.status != "ok":
        return None, 0.0, tool.status
    WORK.mkdir(parents=True, exist_ok=True)
    src = WORK / "texts.json"
    src.write_text(json.dumps(texts, ensure_ascii=False), "utf-8")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    r = subprocess.run(
        [str(hb.venv_python(tool)), str(ROOT / "benchmarks" / "_presidio_analyzer_runner.py"), str(src)],
        capture_output=True,
        text=True,
        env=env,
    )
    if r.returncode:
        return None, 0.0, "failed: " + (r.stderr.strip().splitlines() or ["?"])[-1][:120]
    res = json.loads(r.stdout.strip().splitlines()[-1])
    spans = [[Span(t, s, e, "presidio") for s, e, t in row] for row in res["spans"]]
    return spans, res["seconds"], res["model"]


def group_recall(res: dict) -> dict[str, str]:
    out = {}
    for g, cats in GROUPS.items():
        hits = sum(res["recall"][c] * res["counts"][c] for c in cats if c in res["counts"])
        total = sum(res["counts"][c] for c in cats if c in res["counts"])
        out[g] = f"{hits / total:.3f}" if total else "-"
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--skip-presidio", action="store_true")
    args = ap.parse_args()
    lac = LacNames()
    rows = []
    for lang in ("zh", "en"):
        ns = notes(lang, args.n)
        texts = [n.text for n in ns]
        chars = sum(map(len, texts))
        tools = {"deid rules": lambda x: find(x), "deid rules + LAC": lambda x: resolve(find(x) + lac.names(x))}
        for name, fn in tools.items():
            spans, secs = timed(texts, fn)
            rows.append((lang, name, score_spans(ns, spans), chars / secs))
        if not args.skip_presidio:
            spans, secs, model = presidio(texts)
            label = f"presidio-analyzer ({model})"
            rows.append((lang, label, score_spans(ns, spans) if spans else None, chars / secs if secs else None))
    print(f"\n{args.n} synthetic notes per language (tests/records/synth.py); one thread per tool\n")
    print("| lang | tool | " + " | ".join(GROUPS) + " | clinical terms kept | precision | chars/s |")
    print("| --- | --- |" + " ---: |" * (len(GROUPS) + 3))
    for lang, name, res, cps in rows:
        if res is None:
            print(f"| {lang} | {name} |" + " - |" * (len(GROUPS) + 3))
            continue
        g = group_recall(res)
        print(
            f"| {lang} | {name} | "
            + " | ".join(g.values())
            + f" | {res['clinical_kept']:.3f} | {res['precision']:.3f} | {cps:,.0f} |"
        )


def score_spans(ns, spans) -> dict:
    it = iter(spans)
    return score(ns, lambda _text: next(it))


if __name__ == "__main__":
    main()
