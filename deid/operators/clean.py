"""clean (C, DICOM): what can be kept of a value is kept. Free text loses the header's
identity values and every identifier the recognizers find (deid.text: the stack
records and `deid check` use), each cut replaced by [REMOVED]; a date is shifted
(shift-date), an age generalized (generalize); names, codes and anything not text
cannot be cleaned into something safe and are removed."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .base import REMOVE, TEXT_VRS, OpContext, Operator, Target, Value, values
from .generalize import OPERATOR as GENERALIZE
from .shift_date import DATE_VRS
from .shift_date import OPERATOR as SHIFT_DATE

MASK = "[REMOVED]"
UNCLEANABLE = frozenset({"PN", "CS", "AE", "UR"})


class Clean(Operator):
    """Reads from the context, besides the pseudonymizer: `identity` (the header's
    identity values, dicom.operators.IdentityValues), `text_langs`, `partial_dates`."""

    name = "clean"
    stacks = frozenset({"dicom"})

    def resolve(self, form: str) -> Operator:
        if form in DATE_VRS:
            return SHIFT_DATE
        if form == "AS":
            return GENERALIZE
        return self

    def reads_value(self, form: str) -> bool:
        return form in TEXT_VRS and form not in UNCLEANABLE

    def apply(self, value: str, at: Target, ctx: OpContext) -> Value:
        if at.form not in TEXT_VRS or at.form in UNCLEANABLE:
            at.note = "clean-fallback"
            return REMOVE
        c: Any = ctx
        total, cleaned = 0, []
        for t in values(value, at.form):
            new, n = clean_text(t, c.identity, c.text_langs, c.partial_dates)
            cleaned.append(new)
            total += n
        if not total:
            return None
        at.note = f"spans={total}"
        return "\\".join(cleaned)


OPERATOR = Clean()


def clean_text(
    text: str, identity: Any, langs: tuple[str, ...] = ("zh", "en"), partial_dates: bool = False
) -> tuple[str, int]:
    """Cut header identity values (`identity.pattern`) and every identifier the
    recognizers find out of free text.

    Returns (cleaned, number of spans removed). Never returns the removed parts.
    """
    spans = [(sp.start, sp.end) for sp in _find(text, langs, partial_dates)]
    if identity.pattern is not None:
        spans += [m.span() for m in identity.pattern.finditer(text)]
    if not spans:
        return text, 0
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out, pos = [], 0
    for s, e in merged:
        out += [text[pos:s], MASK]
        pos = e
    return "".join(out) + text[pos:], len(merged)


@lru_cache(maxsize=4096)
def _find(text: str, langs: tuple[str, ...], partial_dates: bool) -> tuple:
    """The recognizers once per distinct value: a study repeats its descriptions."""
    from ..text.recognize import find

    return tuple(find(text, langs, partial_dates))
