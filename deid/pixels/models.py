"""The OCR models: PP-OCRv6 small (detector, recognizer) from the `rapidocr` 3.10.0 wheel.

deid uses the wheel only as a carrier of the ONNX files; it runs them itself with
onnxruntime. Two reasons: rapidocr's session options turn onnxruntime's CPU memory
arena off (detection about 2.5x slower), and its pipeline drops boxes whose text
score is low, which must never hide a box from redaction. Each file is checked
against its SHA-256 before it is loaded: a different model is an error, not a guess.
Nothing is downloaded, ever.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ..util import packaged_file, threads

MODELS = {
    "det": ("PP-OCRv6_det_small.onnx", "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f"),
    "rec": ("PP-OCRv6_rec_small.onnx", "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884"),
}
WHEEL = "rapidocr==3.10.0"


def model_path(kind: str) -> Path:
    """Path of a bundled model inside the installed rapidocr wheel, SHA-256 checked."""
    name, digest = MODELS[kind]
    return packaged_file("rapidocr", f"models/{name}", digest, WHEEL)


@lru_cache(maxsize=None)
def session(kind: str) -> Any:
    """One onnxruntime session per model per process, memory arena on."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.enable_cpu_mem_arena = True
    opts.intra_op_num_threads = threads()
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(model_path(kind)), sess_options=opts, providers=["CPUExecutionProvider"])
