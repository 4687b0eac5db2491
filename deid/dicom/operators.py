"""Value operators for DICOM elements, one function per action, all VR-aware.

PS3.15 E.1.1 action codes: D (dummy), Z (empty), X (remove), K (keep),
C (clean), U (uid). Dates/times are shifted by whole days so DA, DT and TM
stay valid; ages over 89 become 090Y (HIPAA Safe Harbor).
"""
from __future__ import annotations

import datetime as _dt
import re
from functools import lru_cache

# Dummy values valid for each VR (PS3.5 6.2). None -> zero-filled binary of the VR's width.
DUMMY_TEXT: dict[str, str] = {
    "AE": "DEID", "AS": "000D", "CS": "ANONYMIZED", "DA": "19000101", "DS": "0",
    "DT": "19000101000000", "IS": "0", "LO": "ANONYMIZED", "LT": "ANONYMIZED",
    "PN": "ANONYMIZED", "SH": "ANONYMIZED", "ST": "ANONYMIZED", "TM": "000000",
    "UC": "ANONYMIZED", "UR": "urn:deid:removed", "UT": "ANONYMIZED",
}
DUMMY_NUMBER: dict[str, int | float] = {
    "FL": 0.0, "FD": 0.0, "SL": 0, "SS": 0, "UL": 0, "US": 0, "SV": 0, "UV": 0,
}
BINARY_WIDTH = {"OB": 2, "OD": 8, "OF": 4, "OL": 4, "OV": 8, "OW": 2, "UN": 2, "AT": 4}
TEXT_VRS = frozenset({"LO", "LT", "SH", "ST", "UT", "UC", "PN", "CS", "AE", "UR"})


def dummy_value(vr: str):
    if vr in DUMMY_TEXT:
        return DUMMY_TEXT[vr]
    if vr in DUMMY_NUMBER:
        return DUMMY_NUMBER[vr]
    if vr == "AT":
        return 0
    return b"\x00" * BINARY_WIDTH.get(vr, 2)


# -- dates -----------------------------------------------------------------
_DA = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DT = re.compile(r"^(\d{4})(\d{2})(\d{2})(.*)$")


def shift_da(value: str, days: int) -> str | None:
    """Shift a DA (YYYYMMDD); returns None when the value is not a full date."""
    v = value.strip()
    m = _DA.match(v)
    if not m:
        return None
    try:
        d = _dt.date(int(m[1]), int(m[2]), int(m[3])) + _dt.timedelta(days=days)
    except (ValueError, OverflowError):
        return None
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


def shift_dt(value: str, days: int) -> str | None:
    """Shift the date part of a DT; the time and offset are kept."""
    v = value.strip()
    m = _DT.match(v)
    if not m:
        return None
    head = shift_da(m[1] + m[2] + m[3], days)
    if head is None or (m[4] and not re.fullmatch(r"[0-9.]*([+-]\d{4})?", m[4])):
        return None
    return head + m[4]


def shift_value(vr: str, value: str, days: int) -> str | None:
    """DA/DT shift by days; TM is kept (whole-day shifts leave times of day valid).

    Ranges ("A-B") shift both ends. None means the value could not be read:
    the caller empties it (fail safe).
    """
    if vr == "TM":
        return value if re.fullmatch(r"\s*\d{2,6}(\.\d{1,6})?\s*", value or "") else None
    fn = shift_da if vr == "DA" else shift_dt
    if "-" in value and vr == "DA":
        parts = value.split("-")
        shifted = [fn(p, days) if p else "" for p in parts]
        return None if any(s is None for s in shifted) else "-".join(shifted)  # type: ignore[arg-type]
    return fn(value, days)


# -- ages ------------------------------------------------------------------
_AS = re.compile(r"^(\d{3})([DWMY])$")


def generalize_age(value: str) -> str | None:
    """'095Y' -> '090Y'; ages up to 89 years are kept; unreadable -> None (caller empties)."""
    m = _AS.match((value or "").strip())
    if not m:
        return None
    n, unit = int(m[1]), m[2]
    years = {"D": n / 365.25, "W": n / 52.18, "M": n / 12, "Y": n}[unit]
    return "090Y" if years >= 90 else value.strip()


# -- clean (descriptors) ---------------------------------------------------
MASK = "[REMOVED]"


def clean_text(text: str, identity: "IdentityValues", langs: tuple[str, ...] = ("zh", "en"),
               partial_dates: bool = False) -> tuple[str, int]:
    """Cut header identity values and every identifier the recognizers find
    (deid.text, the stack records and `deid check` use) out of free text.

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


def date_forms(da: str) -> list[str]:
    """A DA value (YYYYMMDD) in the forms people write it: 2012-01-09, 09.01.2012, 01/09/2012,
    2012年1月9日, ... Empty for anything that is not a full date."""
    da = da.strip()
    if len(da) != 8 or not da.isdigit():
        return []
    y, m, d = da[:4], da[4:6], da[6:]
    return [da, f"{y}-{m}-{d}", f"{d}.{m}.{y}", f"{m}.{d}.{y}", f"{m}/{d}/{y}", f"{d}/{m}/{y}",
            f"{y}/{m}/{d}", f"{y}.{m}.{d}", f"{y}年{int(m)}月{int(d)}日"]


def name_tokens(values: list[str]) -> set[str]:
    """Every form in which an identity value may be written in free text or a path.

    Person names are split into their parts and also joined (刘^超 -> 刘超;
    LI^YANG -> "LI YANG", "YANG LI"); hyphen and apostrophe variants are added
    (QUIXLEY-VORMANN, O'QUINTRELL). Tokens shorter than 2 characters are dropped:
    超 alone would also cut 超声.
    """
    tokens: set[str] = set()

    def add(tok: str) -> None:
        tok = tok.strip()
        if len(tok) >= 2:
            tokens.add(tok)

    for v in values:
        for group in (v or "").split("="):  # PN component groups: alphabetic=ideographic=phonetic
            parts = [p for p in re.split(r"[\^\\,;/\s]+", group) if p.strip()]
            for part in parts:
                add(part)
                for sub in re.split(r"[-']", part):
                    add(sub)
                add(re.sub(r"[-']", "", part))
                add(re.sub(r"[-']", " ", part))
            if len(parts) > 1:
                if all(not p.isascii() for p in parts):
                    add("".join(parts))
                    add("".join(reversed(parts)))
                add(" ".join(parts))
                add(" ".join(reversed(parts)))
    return tokens


class IdentityValues:
    """Identity values found in a header, compiled once per file for clean().

    ASCII tokens match as whole words; non-ASCII tokens match anywhere (Chinese
    has no word breaks). See name_tokens() for the forms.
    """

    def __init__(self, values: list[str]):
        tokens = name_tokens(values)
        ascii_tokens = {t for t in tokens if t.isascii()}
        other_tokens = tokens - ascii_tokens
        self.count = len(tokens)
        alts = []
        if ascii_tokens:
            words = "|".join(re.escape(t) for t in sorted(ascii_tokens, key=len, reverse=True))
            alts.append(f"(?<![A-Za-z0-9])(?:{words})(?![A-Za-z0-9])")
        if other_tokens:
            alts.append("|".join(re.escape(t) for t in sorted(other_tokens, key=len, reverse=True)))
        self.pattern = re.compile("|".join(alts), re.IGNORECASE) if alts else None
        # alphanumerics only, upper case: for OCR text, which loses spaces and punctuation
        self.squashed = frozenset(sq for sq in ("".join(c for c in t.upper() if c.isalnum()) for t in tokens)
                                  if len(sq) >= 4)
