"""Once found, everywhere: a value found as an identifier somewhere in a text (a name
after its cue, an ID after its label) is an identifier at every other place it occurs
in that text, cue or not. The record pipeline carries found values on to the same
patient's later records (deid.records.scrub)."""
from __future__ import annotations

import re

from .rule import Span

CATEGORIES = frozenset({"name", "patient-name", "mrn", "patient-id", "id-number", "phone", "resident-id", "ssn",
                        "email", "insurance", "account", "bank-card", "location"})


def worth(value: str) -> bool:
    """Long enough to mean the same thing elsewhere: two Han characters, four others."""
    v = value.strip()
    han = sum("\u4e00" <= c <= "\u9fff" for c in v)
    return han >= 2 or (han == 0 and len(v) >= 4)


def pattern(values) -> re.Pattern | None:
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
    by_value = {text[sp.start:sp.end].strip().lower(): sp for sp in keep}
    rx = pattern(text[sp.start:sp.end] for sp in keep)
    if rx is None:
        return spans
    taken = {(sp.start, sp.end) for sp in spans}
    out = list(spans)
    for m in rx.finditer(text):
        if (m.start(), m.end()) in taken:
            continue
        src = by_value.get(m.group(0).lower())
        if src is not None:
            out.append(Span(src.category, m.start(), m.end(), src.rule + ":again", src.score))
    return out
