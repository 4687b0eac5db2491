"""Validators that turn a pattern match into a finding: checksums and real dates.

A 17-digit run is not a resident ID unless its GB 11643 check digit and embedded birth
date are right; a 16-19 digit run is not a bank card unless it passes Luhn. This keeps
lab values, accession numbers and timestamps from being taken for identifiers of the
wrong kind (they may still be caught, as plain ID numbers, by a looser rule).
"""

from __future__ import annotations

import unicodedata
from datetime import date

_GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


# one character for one: zero-width characters read as spaces, dashes as '-', so a phone
# written 138\u200b1234\u200b5678 or 138—1234—5678 is still a phone
_SAME_LENGTH = {**{c: " " for c in "\u200b\u200c\u200d\u2060\ufeff\u00a0"}, **{c: "-" for c in "‐‑‒–—―−"}}


def normalise(text: str) -> str:
    """Full-width to half-width, one character for one character, so offsets found in
    the result are offsets in the original (NFKC where it maps a character to one)."""
    if text.isascii():
        return text  # nothing to map: every rule below is about non-ASCII characters
    out = []
    for c in text:
        if c in _SAME_LENGTH:
            out.append(_SAME_LENGTH[c])
            continue
        n = unicodedata.normalize("NFKC", c) if ord(c) > 0x7F else c
        out.append(n if len(n) == 1 else c)
    return "".join(out)


def real_date(y: int, m: int, d: int, lo: int = 1880, hi: int = 2100) -> bool:
    try:
        date(y, m, d)
    except ValueError:
        return False
    return lo <= y <= hi


def resident_id_check_digit(body: str) -> str:
    """The GB 11643 check character of an 18-digit resident ID's first 17 digits."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(body, _GB11643_WEIGHTS)) % 11]


def resident_id(s: str) -> bool:
    """18 characters: 17 digits + check digit (or X), with a real birth date (GB 11643);
    or a pre-1999 15-digit ID with a real YYMMDD birth date."""
    s = s.upper()
    if len(s) == 18 and s[:17].isdigit() and (s[17].isdigit() or s[17] == "X"):
        if not real_date(int(s[6:10]), int(s[10:12]), int(s[12:14])):
            return False
        return resident_id_check_digit(s[:17]) == s[17]
    if len(s) == 15 and s.isdigit():
        return real_date(1900 + int(s[6:8]), int(s[8:10]), int(s[10:12]))
    return False


def luhn(digits: str) -> bool:
    d = [int(c) for c in digits if c.isdigit()]
    if len(d) < 12:
        return False
    total = 0
    for i, v in enumerate(reversed(d)):
        if i % 2:
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return total % 10 == 0


def ssn(s: str) -> bool:
    """US SSN shape with the never-issued areas/groups/serials excluded."""
    d = "".join(c for c in s if c.isdigit())
    if len(d) != 9:
        return False
    area, group, serial = d[:3], d[3:5], d[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"
