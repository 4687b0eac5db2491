"""Generalisation hierarchies: each maps a value to a coarser one, level by level, up to
`*` (suppressed). A registry keyed by name, so a pipeline names a hierarchy and the policy
checks the name here at load (this module sits in the policy's layer for that reason).

  age       45 -> 45-49 (5-year band) -> 40-49 (10-year) -> *; 90 and over are 90+ at every level
  date      2023-04-15 -> 2023-04 (month) -> 2023 (year) -> *
  address   北京市海淀区 -> 北京市 (prefecture) -> 北京市 (province) -> *   (GB/T 2260 gazetteer)
  school    北京市海淀区第一中学 -> 北京市海淀区 (its district) -> *
  category  any value -> *   (sex, hospital, occupation, ethnicity, device model)

Every level accepts a value that is already coarser (2023-04 at the month level stays
2023-04), so a release generalised once can be measured and generalised again. A value a
level cannot place (an unreadable date, an address the gazetteer does not know) becomes
`*` there: an unplaced value is never left finer than the level asks. An empty value
(the field is absent) stays empty at every level, the top included: its absence is not a
value to hide, and the search and the rewrite (which leaves an absent cell absent) must
agree on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

SUPPRESSED = "*"


@dataclass(frozen=True)
class Hierarchy:
    name: str
    height: int  # levels above the value itself; the top one is always `*`
    step: Callable[[str, int], str]  # (value, level 1..height-1) -> the value at that level
    about: str

    def at(self, value: str, level: int) -> str:
        """`value` generalised to `level` (0: as it is)."""
        if level <= 0:
            return value
        v = value.strip()
        if not v:
            return ""
        if level >= self.height:
            return SUPPRESSED
        if v == SUPPRESSED:
            return v
        return self.step(v, level)


# -- age ------------------------------------------------------------------------------
_AS = re.compile(r"^(\d{3})([DWMY])$")  # DICOM AS (PS3.5 6.2)
_BAND = re.compile(r"^(\d{1,3})\s*[-~–]\s*(\d{1,3})")
_NUM = re.compile(r"\d{1,3}")
# an age with its unit: 12个月, 3周, 10天, 1岁3个月, 18 months (周岁 before 周, 个月 before 月)
_UNIT = re.compile(r"(\d{1,4})\s*(周岁|岁|个月|月|周|星期|天|日|years?|yrs?|months?|mos?|weeks?|wks?|days?)", re.I)
_AS_PER_YEAR = {"D": 365, "W": 52, "M": 12, "Y": 1}


def _per_year(unit: str) -> int:
    u = unit.lower()
    if u in ("周岁", "岁") or u.startswith("y"):
        return 1
    if u in ("个月", "月") or u.startswith("mo"):
        return 12
    if u in ("周", "星期") or u.startswith("w"):
        return 52
    return 365


def _years(v: str) -> tuple[int, int] | None:
    """(low, high) years a value stands for: 45 -> (45, 45), 40-44 -> (40, 44), 90+ -> (90, 200)."""
    m = _AS.match(v)
    if m:
        n = int(m[1]) // _AS_PER_YEAR[m[2]]  # 024M is 2 years, 003M under one
        return n, n
    if "+" in v or "以上" in v:
        m2 = _NUM.search(v)
        return (int(m2.group()), 200) if m2 else None
    m = _BAND.match(v)
    if m:
        return int(m[1]), int(m[2])
    units = _UNIT.findall(v)
    if units:  # whole years of what the units add up to: 12个月 is 1, 3周 0
        n = int(sum(int(x) / _per_year(u) for x, u in units) + 1e-9)
        return n, n
    m2 = _NUM.search(v)
    return (int(m2.group()), int(m2.group())) if m2 else None


def _age(v: str, level: int) -> str:
    span = _years(v)
    if span is None:
        return SUPPRESSED
    lo, hi = span
    if lo >= 90:
        return "90+"
    width = 5 if level == 1 else 10
    start = lo - lo % width
    if hi > start + width - 1:  # a band wider than this level's: keep it, or the 10-year one
        start, width = lo - lo % 10, 10
        if hi > start + 9:
            return SUPPRESSED
    return f"{start}-{min(start + width - 1, 89)}"


# -- date -----------------------------------------------------------------------------
_DATE = re.compile(r"^((?:18|19|20)\d{2})(?:[-/.年]?(\d{1,2})(?:[-/.月]?(\d{1,2})日?)?)?(?:[ T].*)?$")


def _date(v: str, level: int) -> str:
    m = _DATE.match(v)
    if not m:
        return SUPPRESSED
    year, month = m[1], m[2]
    if level == 1 and month and 1 <= int(month) <= 12:
        return f"{year}-{int(month):02d}"
    return year


# -- address (China's divisions) --------------------------------------------------------
MUNICIPALITIES = ("11", "12", "31", "50")  # 北京 天津 上海 重庆: the province is the prefecture


@lru_cache(maxsize=1)
def _gazetteer() -> tuple[tuple[tuple[str, str], ...], dict[str, str]]:
    """((name, adcode) longest first, adcode -> name) from deid/text's division table."""
    from ..text.rules_zh import divisions

    codes = divisions()
    names = sorted(((n, c) for c, n in codes.items()), key=lambda p: len(p[0]), reverse=True)
    return tuple(names), codes


@lru_cache(maxsize=65536)
def place_code(v: str) -> str | None:
    """The adcode of the finest division an address names from its start, when that is
    certain: province, then prefecture, then county, each inside the one before it. A
    bare county name that several provinces have is not certain: None."""
    names, codes = _gazetteer()
    rest, code = v, ""
    for _round in range(3):
        hits = [(n, c) for n, c in names if rest.startswith(n) and (not code or _inside(c, code))]
        if not hits:
            break
        best = len(hits[0][0])
        same = {c for n, c in hits if len(n) == best}
        if len(same) > 1:
            return code or None
        code, rest = same.pop(), rest[best:]
    if not code:
        short = {c for c, n in codes.items() if c.endswith("0000") and v.startswith(n.rstrip("省市")[:2])}
        return next(iter(short)) if len(short) == 1 else None
    return code


def _inside(child: str, parent: str) -> bool:
    if parent.endswith("0000"):
        return child[:2] == parent[:2] and child != parent
    if parent.endswith("00"):
        return child[:4] == parent[:4] and child != parent
    return False


def _address(v: str, level: int) -> str:
    code = place_code(v)
    if code is None:
        return SUPPRESSED
    _names, codes = _gazetteer()
    province = codes.get(code[:2] + "0000", "")
    if level >= 2 or code[:2] in MUNICIPALITIES or code.endswith("0000"):
        return province or SUPPRESSED
    prefecture = codes.get(code[:4] + "00")
    return province + prefecture if prefecture else province


# -- school -> its district ---------------------------------------------------------------
_DISTRICT = re.compile(r"^(.*?(?:区|县|旗|市))")


def _school(v: str) -> str:
    code = place_code(v)
    if code is None or code.endswith("00"):
        m = _DISTRICT.match(v)  # a district the gazetteer does not certify: only one it does
        return m[1] if m and place_code(m[1]) else SUPPRESSED
    _names, codes = _gazetteer()
    province = codes.get(code[:2] + "0000", "")
    prefecture = "" if code[:2] in MUNICIPALITIES else codes.get(code[:4] + "00", "")
    return province + prefecture + codes[code]


HIERARCHIES: dict[str, Hierarchy] = {
    h.name: h
    for h in (
        Hierarchy("age", 3, _age, "age -> 5-year band -> 10-year band -> * (90 and over: 90+)"),
        Hierarchy("date", 3, _date, "date -> month -> year -> *"),
        Hierarchy("address", 3, _address, "address -> prefecture -> province -> *"),
        Hierarchy("school", 2, lambda v, _lvl: _school(v), "school -> district -> *"),
        Hierarchy("category", 1, lambda v, _lvl: v, "value -> *"),
    )
}


def names() -> list[str]:
    return sorted(HIERARCHIES)
