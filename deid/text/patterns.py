"""Pattern recognizers for identifiers in short text (OCR lines, later free text).

Rules only, English and Chinese: resident ID numbers (GB 11643 checksum and a real
birth date), mobile and landline phones, dates in common numeric and Chinese forms,
e-mail, long digit runs (MRNs, accession and insurance numbers) and names after a
cue word (姓名, 患者, Name:). Each hit is (category, start, end); the text itself is
never returned or logged by callers.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date

_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC keeps offsets for the characters that matter here:
    each full-width digit, letter and punctuation mark maps to one character)."""
    return "".join(unicodedata.normalize("NFKC", c) if len(unicodedata.normalize("NFKC", c)) == 1 else c
                   for c in text)


def _valid_date(y: int, m: int, d: int) -> bool:
    try:
        date(y, m, d)
    except ValueError:
        return False
    return 1880 <= y <= 2100


def valid_resident_id(s: str) -> bool:
    """18 characters: 17 digits + checksum digit or X, with a real birth date (GB 11643)."""
    s = s.upper()
    if len(s) == 18 and s[:17].isdigit() and (s[17].isdigit() or s[17] == "X"):
        if not _valid_date(int(s[6:10]), int(s[10:12]), int(s[12:14])):
            return False
        return "10X98765432"[sum(int(c) * w for c, w in zip(s, _W)) % 11] == s[17]
    if len(s) == 15 and s.isdigit():  # pre-1999 IDs: YYMMDD at 6
        return _valid_date(1900 + int(s[6:8]), int(s[8:10]), int(s[10:12]))
    return False


_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)")
_PHONE = re.compile(r"(?<!\d)(?:\(?\d{3,4}\)?[\s-]?)?\d{3,4}[\s-]\d{4}(?!\d)")
_DATE = re.compile(
    r"(?<!\d)(?:(?:19|20)\d{2}[-/.年]\s?\d{1,2}[-/.月]\s?\d{1,2}日?"
    r"|\d{1,2}[-/.]\d{1,2}[-/.](?:19|20)?\d{2}"
    r"|(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))(?!\d)"
    r"|[〇零一二三四五六七八九]{4}年[一二三四五六七八九十]{1,2}月(?:[一二三四五六七八九十]{1,3}日)?"
    r"|\d{1,2}\s?(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)[A-Z]*\s?(?:19|20)?\d{2}",
    re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_DIGITS = re.compile(r"(?<![0-9])[A-Za-z]{0,3}[-:#]?\d{6,}(?![0-9])")
_CN_NAME_CUE = re.compile(r"(?:姓名|患者|病人|病员|家属|母亲|父亲|医师|医生|护士|签名)\s*[:：]?\s*[\u4e00-\u9fff]{2,4}")
_EN_NAME_CUE = re.compile(r"(?:\bNAME|\bPATIENT|\bPT|\bMR|\bMRS|\bMS|\bDR)\b\.?\s*[:：]?\s*[A-Z][A-Za-z'-]+",
                          re.IGNORECASE)


def find(text: str) -> list[tuple[str, int, int]]:
    """Every identifier-like span: (category, start, end) in `text`."""
    t = normalise(text)
    hits: list[tuple[str, int, int]] = []
    for m in _RESIDENT_ID.finditer(t):
        if valid_resident_id(m.group(1)):
            hits.append(("resident-id", m.start(), m.end()))
    for cat, rx in (("phone", _MOBILE), ("phone", _PHONE), ("date", _DATE), ("email", _EMAIL),
                    ("id-number", _DIGITS), ("name", _CN_NAME_CUE), ("name", _EN_NAME_CUE)):
        hits.extend((cat, m.start(), m.end()) for m in rx.finditer(t))
    return hits


def categories(text: str) -> list[str]:
    """Distinct categories found in `text`, in a stable order."""
    return sorted({c for c, _s, _e in find(text)})
