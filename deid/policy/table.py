"""DICOM PS3.15 Annex E Table E.1-1 as data: load it, index it by tag.

The JSON is the innolitics extraction of the standard (see data/SOURCE.md).
Repeating groups (50xx curves, 60xx overlays) are matched by mask.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data"

# YAML option name -> column of the table (PS3.15 E.3 option).
OPTION_COLUMNS: dict[str, str] = {
    "retain_safe_private": "rtnSafePrivOpt",
    "retain_uids": "rtnUIDsOpt",
    "retain_device_identity": "rtnDevIdOpt",
    "retain_institution_identity": "rtnInstIdOpt",
    "retain_patient_characteristics": "rtnPatCharsOpt",
    "retain_long_full_dates": "rtnLongFullDatesOpt",
    "retain_long_modified_dates": "rtnLongModifDatesOpt",
    "clean_descriptors": "cleanDescOpt",
    "clean_structured_content": "cleanStructContOpt",
    "clean_graphics": "cleanGraphOpt",
}

# CID 7050 "De-identification Method" code per option (PS3.16).
OPTION_CODES: dict[str, tuple[str, str]] = {
    "basic": ("113100", "Basic Application Confidentiality Profile"),
    "clean_pixel_data": ("113101", "Clean Pixel Data Option"),
    "clean_graphics": ("113103", "Clean Graphics Option"),
    "clean_structured_content": ("113104", "Clean Structured Content Option"),
    "clean_descriptors": ("113105", "Clean Descriptors Option"),
    "retain_long_full_dates": ("113106", "Retain Longitudinal Temporal Information Full Dates Option"),
    "retain_long_modified_dates": ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    "retain_patient_characteristics": ("113108", "Retain Patient Characteristics Option"),
    "retain_device_identity": ("113109", "Retain Device Identity Option"),
    "retain_uids": ("113110", "Retain UIDs Option"),
    "retain_safe_private": ("113111", "Retain Safe Private Option"),
    "retain_institution_identity": ("113112", "Retain Institution Identity Option"),
}


@dataclass(frozen=True)
class Row:
    """One row of Table E.1-1."""

    tag: str  # as printed in the standard, e.g. "(0010,0010)" or "(60XX,3000)"
    name: str
    basic: str
    options: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def tag_int(self) -> int | None:
        t = self.tag
        try:
            return int(t[1:5] + t[6:10], 16)
        except ValueError:
            return None


@dataclass(frozen=True)
class Table:
    rows: tuple[Row, ...]
    exact: dict[int, Row]
    masked: tuple[tuple[int, int, Row], ...]  # (mask, value, row) for 50xx/60xx
    private: Row

    def lookup(self, tag: int) -> Row | None:
        row = self.exact.get(tag)
        if row is not None:
            return row
        for mask, value, r in self.masked:
            if tag & mask == value:
                return r
        return None


def _mask_of(tag: str) -> tuple[int, int]:
    hexdigits = tag[1:5] + tag[6:10]
    mask = int("".join("0" if c in "xX" else "F" for c in hexdigits), 16)
    value = int("".join("0" if c in "xX" else c for c in hexdigits), 16)
    return mask, value


@lru_cache(maxsize=1)
def load_table() -> Table:
    raw = json.loads((DATA / "confidentiality_profile_attributes.json").read_text("utf-8"))
    rows: list[Row] = []
    exact: dict[int, Row] = {}
    masked: list[tuple[int, int, Row]] = []
    private: Row | None = None
    for r in raw:
        opts = {name: r[col] for name, col in OPTION_COLUMNS.items() if col in r}
        row = Row(tag=r["tag"], name=r["name"], basic=r["basicProfile"], options=opts)
        rows.append(row)
        if "GGGG" in row.tag:
            private = row
        elif row.tag_int is not None:
            exact[row.tag_int] = row
        else:
            m, v = _mask_of(row.tag)
            masked.append((m, v, row))
    if private is None:  # pragma: no cover - the table always has it
        raise RuntimeError("Table E.1-1 has no private-attributes row")
    return Table(tuple(rows), exact, tuple(masked), private)
