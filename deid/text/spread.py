"""Once found, everywhere: a value found as an identifier somewhere in a text (a name
after its cue, an ID after its label) is an identifier at every other place it occurs
in that text, cue or not. The record pipeline carries found values on to the same
patient's later records (deid.records.scrub)."""

from __future__ import annotations

import re
from typing import Iterable

from ..categories import SPREAD
from .rule import Span

# the categories found once, found everywhere (deid.categories: spread)
CATEGORIES = SPREAD


ALNUM = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")


def worth(value: str) -> bool:
    """Long enough to mean the same thing elsewhere: two Han characters, four others."""
    v = value.strip()
    if v.isascii():
        return len(v) >= 4
    han = sum("\u4e00" <= c <= "\u9fff" for c in v)
    return han >= 2 or (han == 0 and len(v) >= 4)


def pattern(values: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for literal values; Latin and digit values match as whole words."""
    alts = []
    for v in sorted({v.strip() for v in values if worth(v)}, key=len, reverse=True):
        esc = re.escape(v)
        if v.isascii():
            esc = rf"(?<![0-9A-Za-z]){esc}(?![0-9A-Za-z])"
        alts.append(esc)
    return re.compile("|".join(alts), re.IGNORECASE) if alts else None


def everywhere(text: str, spans: list[Span]) -> list[Span]:
    """`spans` plus every other occurrence of the values they hold."""
    keep = [sp for sp in spans if sp.category in CATEGORIES]
    if not keep:
        return spans
    by_value = {text[sp.start : sp.end].strip().lower(): sp for sp in keep}
    taken = {(sp.start, sp.end) for sp in spans}
    out = list(spans)
    for s, e in occurrences(text, [text[sp.start : sp.end] for sp in keep]):
        if (s, e) in taken:
            continue
        src = by_value.get(text[s:e].lower())
        if src is not None:
            out.append(Span(src.category, s, e, src.rule + ":again", src.score))
    return out


def occurrences(text: str, values: Iterable[str]) -> list[tuple[int, int]]:
    """Where `pattern(values)` matches in `text`, found without compiling it (a note's
    values are its own, so a compiled pattern would serve once): every place of each
    value, case-blind, Latin values as whole words, then the leftmost and, at one
    place, the longest, as a regex scan takes them."""
    low = text.lower()
    if len(low) != len(text):  # a character whose lower case is longer: offsets would slip
        rx = pattern(values)
        return [m.span() for m in rx.finditer(text)] if rx is not None else []
    found = []
    for v in {v.strip() for v in values if worth(v)}:
        lv, ascii_ = v.lower(), v.isascii()
        i = low.find(lv)
        while i >= 0:
            e = i + len(lv)
            if not ascii_ or not (_alnum(low, i - 1) or _alnum(low, e)):
                found.append((i, e))
            i = low.find(lv, i + 1)
    out, end = [], 0
    for s, e in sorted(found, key=lambda se: (se[0], -se[1])):
        if s >= end:
            out.append((s, e))
            end = e
    return out


def _alnum(low: str, i: int) -> bool:
    return 0 <= i < len(low) and low[i] in ALNUM
