"""Find identifiers in text: rules first (patterns with validators and context words,
deid.text.rules_zh / rules_en), then the recognizers that weigh context (English
names, places and partial dates: names_en, places_en, dates_en), an optional model
last (`deid.text.ner`). The one recognizer stack of deid: the record pipeline, DICOM
text (clean and unlisted tags), the pixel classifier and `deid check` all call it.

A finding is a Span (category, start, end, rule id); the text itself is never returned
or logged by callers. Offsets are in the caller's string: matching runs on a
full-width-to-half-width copy of the same length (validate.normalise).
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..pseudonym import own_pseudonyms
from . import dates_en, names_en, places_en, rules_en, rules_zh, spread, tags
from .rule import Rule, Span
from .tokens import Tokens, tokens
from .validate import normalise

__all__ = ["Rule", "Span", "find", "resolve", "categories"]

LANGS = ("zh", "en")
SUBSTANCE = re.compile(r"[0-9A-Za-z\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]{2}")
HAN = re.compile(r"[\u4e00-\u9fff]")


def _english(t: str, partial: bool, toks: Tokens) -> list[Span]:
    """Names, places and partial dates, which weigh the words around them."""
    out = dates_en.find(t, partial, toks)
    if toks:
        out += names_en.find(t, toks) + places_en.find(t, toks)
    return out


# context recognizers by language: (function(text, partial_dates, tokens) -> spans, what
# the text must hold)
CONTEXT = {
    "en": ((_english, None),),
    "zh": ((lambda t, partial, toks: rules_zh.latin_names(t), HAN),),
}


@lru_cache(maxsize=4)
def rules(langs: tuple[str, ...] = LANGS) -> tuple[Rule, ...]:
    out: list[Rule] = []
    if "zh" in langs:
        out += rules_zh.RULES
    if "en" in langs:
        out += rules_en.RULES
    return tuple(out)


def find(text: str, langs: tuple[str, ...] = LANGS, partial_dates: bool = False) -> list[Span]:
    """Every identifier span in `text`, overlaps resolved (see `resolve`).
    `partial_dates`: month/day without a year (7/22, the 11th) counts as a date."""
    t = normalise(text)
    found: list[Span] = []
    han = HAN.search(t) is not None
    low = t.lower()
    toks = tokens(t) if "en" in langs and LATIN.search(t) else Tokens()
    keys = toks.keys
    for r in rules(langs):
        if (r.needs_han and not han) or not r.may_match(t, low, keys):
            continue
        for m in r.regex.finditer(t):
            s, e = m.span(r.group)
            if s < 0 or e <= s:
                continue
            if r.check is not None:
                ok = r.check(t[s:e])
                if not ok:
                    continue
                if not isinstance(ok, bool):
                    e = s + int(ok)
            s, e = _trim(t, s, e)
            if e > s:
                found.append(Span(r.category, s, e, r.id, 1.0 + r.priority / 100))
    for lang in langs:
        for fn, needs in CONTEXT.get(lang, ()):
            if needs is None or needs.search(t):
                found += fn(t, partial_dates, toks)
    own = own_pseudonyms(t)
    if own:  # deid's own pseudonyms (N-1234567ABC) are not identifiers: runs stay idempotent
        found = [sp for sp in found if not any(s <= sp.start and sp.end <= e for s, e in own)]
    own_tag = tags.own_tag() if "[" in t else None
    if own_tag is not None and own_tag.search(t):  # a span made only of deid's tags ('校][学校' in [学校][学校])
        bare = own_tag.sub(lambda m: " " * len(m.group()), t)
        found = [sp for sp in found if SUBSTANCE.search(bare, sp.start, sp.end)]
    if "zh" in langs:
        found = [sp for sp in found if not rules_zh.is_distractor(t, sp)]
    if "en" in langs:
        found = [sp for sp in found if not rules_en.is_eponym(t, sp)]
    return resolve(spread.everywhere(t, found))


def _trim(t: str, s: int, e: int) -> tuple[int, int]:
    while s < e and t[s] in " \t,;:：，、":
        s += 1
    while e > s and t[e - 1] in " \t,;:：，、。.":
        e -= 1
    return s, e


def resolve(spans: list[Span]) -> list[Span]:
    """Keep a set of non-overlapping spans: longer first, then higher priority; a span
    overlapping a kept one is merged into it when it reaches further (so nothing found
    is ever dropped from redaction)."""
    order = sorted(spans, key=lambda s: (-(s.end - s.start), -s.score, s.start))
    kept: list[Span] = []
    for sp in order:
        for i, k in enumerate(kept):
            if sp.start < k.end and k.start < sp.end:
                if sp.start < k.start or sp.end > k.end:
                    kept[i] = Span(k.category, min(k.start, sp.start), max(k.end, sp.end), k.rule, k.score)
                break
        else:
            kept.append(sp)
    return _merge_touching(sorted(kept, key=lambda s: s.start))


def _merge_touching(spans: list[Span]) -> list[Span]:
    """Spans that overlap after merging (a merge can grow one into its neighbour)."""
    out: list[Span] = []
    for sp in spans:
        if out and sp.start < out[-1].end:
            k = out[-1]
            out[-1] = Span(k.category, k.start, max(k.end, sp.end), k.rule, k.score)
        else:
            out.append(sp)
    return out


def categories(text: str, partial_dates: bool = False) -> list[str]:
    """Distinct categories found in `text`, in a stable order."""
    return sorted({s.category for s in find(text, partial_dates=partial_dates)})
