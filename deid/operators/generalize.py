"""generalize: a value made less precise, so it no longer points at one person.

Ages of 90 and over become one group (HIPAA Safe Harbor), written in the value's own
form: DICOM AS 095Y -> 090Y (an AS must stay an AS: three digits and a unit), records
95 -> 90+, 95岁 -> 90岁以上. Records also turn a birth date or date into its year and an
address into its province and city (Chinese) or [ADDRESS] (English). In DICOM only an
age can be generalized: anything else, or an age that is not an AS, is emptied.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .base import TEXT, CannotApply, OpContext, Operator, Target, Value
from .tag import has_han, tag


class Generalize(Operator):
    name = "generalize"

    def refuse(self, at: Target) -> str | None:
        return None if at.form in (TEXT, "AS") else "generalize-unreadable"

    def apply(self, value: str, at: Target, ctx: OpContext) -> Value:
        if at.form == TEXT:
            return generalize(at.category, value, at.context)
        new = generalize_age(value)
        if new is None:
            raise CannotApply("generalize-unreadable")
        if new == value.strip():
            return None
        at.note = "age>89"
        return new


OPERATOR = Generalize()


# -- DICOM AS (PS3.5 6.2: nnnD, nnnW, nnnM, nnnY) ----------------------------------
_AS = re.compile(r"^(\d{3})([DWMY])$")


def generalize_age(value: str) -> str | None:
    """'095Y' -> '090Y'; ages up to 89 years are kept; unreadable -> None (caller empties)."""
    m = _AS.match((value or "").strip())
    if not m:
        return None
    n, unit = int(m[1]), m[2]
    years = {"D": n / 365.25, "W": n / 52.18, "M": n / 12, "Y": n}[unit]
    return "090Y" if years >= 90 else value.strip()


# -- records ------------------------------------------------------------------------
def generalize(category: str, value: str, context: str = "") -> str:
    v = value.strip()
    if category in ("birth-date", "date"):
        m = re.search(r"(18|19|20)\d{2}", v)
        return m.group(0) if m else tag(category, context or v)
    if category == "age":
        m = re.search(r"\d+", v)
        if m and int(m.group()) >= 90:
            return "90岁以上" if has_han(v + context) else "90+"
        return value
    if category == "address":
        return _province_city(v) if has_han(v) else tag("address", v)
    return tag(category, context or v)


def _province_city(v: str) -> str:
    """The province and prefecture-level city of a Chinese address, from the division
    gazetteer (text/data/divisions_zh.tsv), or by suffix when the city is not in it;
    [地址] when neither is there."""
    from ..text.rules_zh import divisions, provinces  # the gazetteer: only when an address is met

    out, rest = "", v
    for p in provinces():
        if rest.startswith(p):
            out, rest = p, rest[len(p) :]
            break
    for code, name in _prefectures():
        if rest.startswith(name):
            return (out or divisions().get(code[:2] + "0000", "")) + name
    m = re.match(r"(?:(?![县区镇乡街路])[\u4e00-\u9fff]){1,5}?(?:市|自治州|盟|地区|州)", rest)
    if m:
        out += m.group(0)
    return out or "[地址]"


@lru_cache(maxsize=1)
def _prefectures() -> tuple[tuple[str, str], ...]:
    """(adcode, name) of prefecture-level divisions (adcode PPCC00), longest name first."""
    from ..text.rules_zh import divisions

    pairs = [(code, n) for code, n in divisions().items() if code[2:4] != "00" and code[4:] == "00"]
    return tuple(sorted(pairs, key=lambda p: len(p[1]), reverse=True))
