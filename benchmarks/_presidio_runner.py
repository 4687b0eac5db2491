"""Run presidio-image-redactor on DICOM files, offline; executed by benchmarks/pixels.py
inside presidio's own venv (benchmarks/.work/venvs/presidio-image-redactor).

Offline set-up, as a new user following presidio's docs but without a model download:
Tesseract from Debian (tesseract-ocr), spaCy's blank English pipeline saved to disk as
the NLP engine (so only pattern recognizers and the header deny-list can fire), and
`use_metadata=True` (presidio's default: header values are looked for in the pixels).

    python _presidio_runner.py WORKDIR IN1.dcm IN2.dcm ...

Writes WORKDIR/<n>.npy (the redacted pixel array, or nothing on failure) and prints one
JSON line per file: {"file": ..., "seconds": ..., "error": ...}.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import pydicom
import spacy
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_image_redactor import DicomImageRedactorEngine, ImageAnalyzerEngine


def engine(work: Path) -> DicomImageRedactorEngine:
    model = work / "spacy-blank-en"
    if not model.exists():
        spacy.blank("en").to_disk(model)
    nlp = NlpEngineProvider(
        nlp_configuration={"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": str(model)}]}
    ).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
    return DicomImageRedactorEngine(image_analyzer_engine=ImageAnalyzerEngine(analyzer_engine=analyzer))


def main() -> None:
    work = Path(sys.argv[1])
    work.mkdir(parents=True, exist_ok=True)
    eng = engine(work)
    for n, name in enumerate(sys.argv[2:]):
        t = time.perf_counter()
        err = ""
        try:
            ds = pydicom.dcmread(name)
            out = eng.redact(ds, fill="contrast", use_metadata=True)
            np.save(work / f"{n}.npy", out.pixel_array)
        except Exception as e:  # a failure is a result here, reported by the caller
            err = f"{type(e).__name__}"
        print(json.dumps({"file": name, "seconds": time.perf_counter() - t, "error": err}), flush=True)


if __name__ == "__main__":
    main()
