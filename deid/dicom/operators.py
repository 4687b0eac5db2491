"""The identity values of a DICOM header, in the forms people write them: what `clean`
cuts out of free text and the pixel stage looks for in burned-in text.

The value operators themselves (dummy, uid, shift-date, pseudonym, generalize, clean,
...) are in deid.operators, one file each, shared with the records stack; the names
below stay importable from here.
"""

from __future__ import annotations

import re

from ..operators.base import TEXT_VRS
from ..operators.clean import MASK, clean_text
from ..operators.dummy import BINARY_WIDTH, DUMMY_NUMBER, DUMMY_TEXT, dummy_value
from ..operators.generalize import generalize_age
from ..operators.shift_date import shift_da, shift_dt, shift_value

__all__ = [
    "BINARY_WIDTH",
    "DUMMY_NUMBER",
    "DUMMY_TEXT",
    "MASK",
    "TEXT_VRS",
    "IdentityValues",
    "clean_text",
    "date_forms",
    "dummy_value",
    "generalize_age",
    "name_tokens",
    "shift_da",
    "shift_dt",
    "shift_value",
]


def date_forms(da: str) -> list[str]:
    """A DA value (YYYYMMDD) in the forms people write it: 2012-01-09, 09.01.2012, 01/09/2012,
    2012年1月9日, ... Empty for anything that is not a full date."""
    da = da.strip()
    if len(da) != 8 or not da.isdigit():
        return []
    y, m, d = da[:4], da[4:6], da[6:]
    return [
        da,
        f"{y}-{m}-{d}",
        f"{d}.{m}.{y}",
        f"{m}.{d}.{y}",
        f"{m}/{d}/{y}",
        f"{d}/{m}/{y}",
        f"{y}/{m}/{d}",
        f"{y}.{m}.{d}",
        f"{y}年{int(m)}月{int(d)}日",
    ]


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
        self.squashed = frozenset(
            sq for sq in ("".join(c for c in t.upper() if c.isalnum()) for t in tokens) if len(sq) >= 4
        )
