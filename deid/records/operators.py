"""The record stack's side of the operators (deid.operators, one file each, shared with
DICOM): a per-file context that applies the operator a category's policy names.

pseudonym   the patient's own name and ID -> the patient pseudonym, the same string
            DICOM gives PatientName/PatientID under the same key ("P-" + 12 hex);
            other people -> "N-" + 10 hex of their name; other numbers -> "H-" + hex.
            The prefixes make a pseudonym impossible to mistake for a real name.
mask        '*' for every character but separators (keeps length and layout)
tag         a category label: [姓名], [身份证号] in Chinese text, [NAME], [PHONE] otherwise
shift-date  the patient's date offset (the same as their images'), format kept
generalize  birth date -> year; age 90 and over -> 90+ (90岁以上); address -> province
            and city (Chinese) or city/state/ZIP3 dropped (English: [ADDRESS])
remove      the field is dropped (JSON key removed, CSV cell emptied)
keep        unchanged
"""

from __future__ import annotations

from typing import cast

from .. import operators
from ..operators import REMOVE, TEXT, Target
from ..operators.base import RemoveType
from ..operators.generalize import generalize
from ..operators.mask import SEPARATORS, mask
from ..operators.shift_date import shift_date
from ..operators.tag import HAN, has_han, tag
from ..pseudonym import Pseudonymizer

__all__ = ["REMOVE", "HAN", "SEPARATORS", "Operators", "generalize", "has_han", "mask", "shift_date", "tag"]


class Operators:
    """The operator context of one record file (deid.operators.OpContext)."""

    mappings: list[tuple[str, str, str]] | None = None  # a list (set by the handler) for the vault

    def __init__(self, pseudo: Pseudonymizer, date_shift_days: tuple[int, int]):
        self.pseudo, self.date_shift_days = pseudo, date_shift_days

    def apply(self, op: str, category: str, value: str, patient_key: str, context: str = "") -> str | RemoveType:
        """New value for `value` (a str), or REMOVE. `context`: the surrounding text, so a
        tag is Chinese in Chinese text."""
        if op == "keep" or not value.strip():
            return value
        new = operators.get(op).apply(value, Target(TEXT, category, patient_key, context=context), self)
        return value if new is None else cast("str | RemoveType", new)  # a TEXT value is never bytes
