"""The `records:` section of a pipeline: what happens to patient records (CSV/TSV,
JSON/JSONL, text, HL7 v2, FHIR).

  fields      field name -> category (column header, JSON key, HL7 'PID-5', FHIR path);
              added to the built-in map in deid/records/data/fields.yaml
  operators   category -> operator: pseudonym | mask | tag | shift-date | generalize |
              remove | keep (deid.operators: those whose stacks include records)
  languages   recognizers for free text and fields not in the map: [zh, en]
  free_text   scan free text and unknown fields with the recognizers (default true)
  ner         lac (default): Chinese person names with no cue word, by the LAC model;
              off: rules only
  partial_dates  true (default): a month/day with no year (7/22, on 3/14, the 11th)
              in free text is a date; false: only dates with a year are
  malformed   quarantine (default) | drop-row: a row or line that cannot be parsed
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path

import yaml

from .. import categories, operators
from ..errors import PolicyError
from .sections import section

OPERATORS = operators.names("records")  # at import; validation asks the registry itself
FIELDS_DATA = Path(__file__).resolve().parent.parent / "records" / "data" / "fields.yaml"
PATTERNS_DATA = FIELDS_DATA.with_name("field_patterns.yaml")

# what a hospital exporting records for research would expect when nothing is said
# (deid.categories: each category's default operator)
DEFAULT_OPERATORS = categories.DEFAULT_OPERATORS


@dataclass(frozen=True)
class RecordPolicy:
    fields: dict = field(default_factory=dict)  # normalised field name -> category
    operators: dict = field(default_factory=lambda: dict(DEFAULT_OPERATORS))
    languages: tuple[str, ...] = ("zh", "en")
    free_text: bool = True
    malformed: str = "quarantine"
    ner: str = "lac"
    partial_dates: bool = True
    patterns: tuple = ()  # (glob on the upper-case name, category), in order

    def category_of(self, name: str) -> str | None:
        """By the exact name first, then by the first column-name pattern that fits
        (PAT_FIRST_NAME, CONTACT_PHONE, ADD_LINE_1: EHR exports)."""
        n = norm_field(name)
        if n in self.fields:
            return self.fields[n]
        if not self.patterns or str(name).strip() in categories.LABELS:  # a key deid replaced ([PHONE]) names nothing
            return None
        return _by_pattern(str(name), self.patterns)

    def operator_for(self, category: str) -> str:
        return self.operators.get(category, "tag")  # an identifier nobody named: replaced, never kept


def norm_field(name: str) -> str:
    """Field names compare without case, spaces, '_', '-', colons and byte-order marks:
    'Patient_Name' == 'patient name'. Dots stay: they separate FHIR path steps
    (Patient.id is not patient id)."""
    return "".join(c for c in str(name).lower() if c not in " _-\t：:\ufeff\u200b")


@lru_cache(maxsize=4096)
def _by_pattern(name: str, patterns: tuple) -> str | None:
    up = "".join(c for c in name.upper().replace(" ", "_").replace("-", "_") if c not in "\ufeff\u200b").strip("_")
    for glob, cat in patterns:
        if fnmatchcase(up, glob):
            return cat or None
    return None


def builtin_patterns() -> tuple:
    raw = yaml.safe_load(PATTERNS_DATA.read_text("utf-8")) or []
    return tuple((str(p["glob"]).upper(), p.get("category")) for p in raw)


def builtin_fields() -> dict[str, str]:
    """The shipped map (fields.yaml) over the DICOM keywords (dicom_keyword_fields)."""
    raw = yaml.safe_load(FIELDS_DATA.read_text("utf-8")) or {}
    return {**dicom_keyword_fields(), **{norm_field(n): cat for cat, names in raw.items() for n in names}}


# the category of a DICOM attribute named as a record field, by its VR (PS3.5); a VR not
# here (TM, CS, numbers, ST/LT/UT text, sequences) leaves the field to the recognizers
CATEGORY_BY_VR = {
    "PN": "name",
    "DA": "date",
    "DT": "date",
    "AS": "age",
    "UI": "uid",
    "AE": "id-number",
    "SH": "id-number",
    "LO": "id-number",
}
# the patient's own ID: pseudonymised, and the key that links the patient's records to
# their images. Only this keyword (IssuerOfPatientID, OtherPatientIDs name other things:
# as the key they would give every patient of a hospital one pseudonym)
KEYWORD_EXACT = {"PatientID": "patient-id"}
# words of a keyword that say more than its VR, first match wins: a birth date
# (generalised as its record field is), descriptions and comments (free text: the
# recognizers read them), an institution (a place)
KEYWORD_CATEGORY = (
    ("BirthDate", "birth-date"),
    ("Description", None),
    ("Comment", None),
    ("Institution", "location"),
)


@lru_cache(maxsize=1)
def dicom_keyword_fields() -> dict[str, str]:
    """DICOM keywords as record field names (a PACS worklist exported to CSV, a header
    dumped to JSON: PatientName, AccessionNumber, StudyInstanceUID): every attribute of
    PS3.15 Table E.1-1 that the Basic Profile does not keep, with a category by its VR."""
    from ..dicomdict import entry
    from .table import load_table

    out: dict[str, str] = {}
    for row in load_table().rows:
        tag = row.tag_int
        if tag is None or row.basic in ("K", "C"):
            continue
        keyword, vr = entry(tag)[:2]
        category = CATEGORY_BY_VR.get(vr or "")
        if not keyword or category is None:
            continue
        for word, instead in KEYWORD_CATEGORY:
            if word in keyword:
                category = instead
                break
        category = KEYWORD_EXACT.get(keyword, category)
        if category is not None:
            out[norm_field(keyword)] = category
    return out


def build_record_policy(raw: object, source: str) -> RecordPolicy:
    raw = section(
        raw, "records", ("fields", "operators", "languages", "free_text", "malformed", "ner", "partial_dates"), source
    )
    fields = builtin_fields()
    extra = raw.get("fields") or {}
    if not isinstance(extra, dict):
        raise PolicyError(f"{source}: records.fields must map a field name to a category")
    fields.update({norm_field(k): str(v) for k, v in extra.items()})
    ops = dict(DEFAULT_OPERATORS)
    given = raw.get("operators") or {}
    if not isinstance(given, dict):
        raise PolicyError(f"{source}: records.operators must map a category to an operator")
    named = set(categories.BY_NAME) | set(fields.values())
    for cat, op in given.items():
        if str(cat) not in named:  # a typo (phnoe) would leave phones to the default operator, silently
            raise PolicyError(
                f"{source}: records.operators.{cat}: no such category (a category of deid/categories.py "
                "or one that records.fields names)"
            )
        try:
            operators.validate(op, "records")
        except operators.OperatorError as exc:
            raise PolicyError(f"{source}: records.operators.{cat}: {exc}") from None
        ops[str(cat)] = op
    langs = tuple(raw.get("languages") or ("zh", "en"))
    if not set(langs) <= {"zh", "en"}:
        raise PolicyError(f"{source}: records.languages: choose from zh, en")
    malformed = raw.get("malformed", "quarantine")
    if malformed not in ("quarantine", "drop-row"):
        raise PolicyError(f"{source}: records.malformed must be quarantine or drop-row")
    ner = raw.get("ner", "lac")
    ner = "off" if ner is False else ner  # YAML reads a bare `off` as false
    if ner not in ("lac", "off"):
        raise PolicyError(f"{source}: records.ner must be lac or off")
    partial = raw.get("partial_dates", True)
    if not isinstance(partial, bool):
        raise PolicyError(f"{source}: records.partial_dates must be true or false")
    return RecordPolicy(
        fields=fields,
        operators=ops,
        languages=langs,
        free_text=bool(raw.get("free_text", True)),
        malformed=malformed,
        ner=ner,
        partial_dates=partial,
        patterns=builtin_patterns(),
    )
