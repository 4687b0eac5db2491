"""Is this a column of person names? For structured records whose header says nothing
(col7, NM1, 联系人2): a column whose values mostly look like names is a name column.

A value looks like a name when it is one to three words that the English name lists
know (a given name or a surname many people carry, and no clinical term or common
English word that no list holds as a name), or two to four Han characters starting with a
Chinese surname and holding no clinical character.
"""

from __future__ import annotations

import re

from . import lexicon as L
from .rules_zh import CLINICAL_CHARS, surnames

HAN_NAME = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
LATIN_WORDS = re.compile(r"^[A-Za-z][A-Za-z'\-.]*(?:[ ,^]+[A-Za-z][A-Za-z'\-.]*){0,2}$")
SHARE = 0.6  # of the non-empty values sampled
MIN_VALUES = 5


def looks_like_name(value: str) -> bool:
    v = value.strip()
    if HAN_NAME.match(v):
        sur = 2 if v[:2] in surnames() else 1 if v[:1] in surnames() else 0
        return bool(sur) and len(v) > sur and not any(c in CLINICAL_CHARS for c in v[sur:])
    if not LATIN_WORDS.match(v):
        return False
    words = [L.key(w) for w in re.split(r"[ ,^]+", v) if len(w.strip(".")) > 1]
    if not words or any(L.is_clinical(w) for w in words):
        return False
    return all(L.given_share(w) > 0 or L.surname_count(w) >= 100 for w in words) and not all(
        L.is_common(w) and L.given_share(w) < 0.05 for w in words
    )


def name_column(values: list[str]) -> bool:
    """Most of the sampled values look like names."""
    vals = [v for v in values if v and v.strip()]
    if len(vals) < MIN_VALUES:
        return False
    return sum(looks_like_name(v) for v in vals) >= SHARE * len(vals)
