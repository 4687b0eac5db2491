"""What an operator does to one value of one category.

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

import re
from datetime import date, timedelta
from functools import lru_cache

from ..pseudonym import Pseudonymizer
from ..text.rules_zh import divisions, provinces
from ..text.tags import ZH_TAGS, en_tag

REMOVE = object()  # operator result: drop the field


HAN = re.compile("[\u4e00-\u9fff]")


def has_han(text: str) -> bool:
    return not text.isascii() and HAN.search(text) is not None


def tag(category: str, like: str) -> str:
    if has_han(like):
        return f"[{ZH_TAGS.get(category, category)}]"
    return en_tag(category)


def mask(value: str) -> str:
    return "".join(c if c in " -/.:()（）" else "*" for c in value)


class Operators:
    mappings: list[tuple[str, str, str]] | None = None   # a list (set by the handler) for the vault

    def __init__(self, pseudo: Pseudonymizer, date_shift_days: tuple[int, int]):
        self.pseudo, self.shift_range = pseudo, date_shift_days

    def apply(self, op: str, category: str, value: str, patient_key: str, context: str = ""):
        """New value for `value` (a str), or REMOVE. `context`: the surrounding text, so a
        tag is Chinese in Chinese text."""
        if op == "keep" or not value.strip():
            return value
        if op == "remove":
            return REMOVE
        if op == "mask":
            return mask(value)
        if op == "tag":
            return tag(category, context or value)
        if op == "pseudonym":
            return self.pseudonym(category, value, patient_key)
        if op == "shift-date":
            shifted = shift_date(value, self.pseudo.date_offset(patient_key, *self.shift_range))
            return shifted if shifted is not None else tag("date", context or value)
        if op == "generalize":
            return generalize(category, value, context)
        raise ValueError(f"unknown operator {op}")  # pragma: no cover - policy checks the names

    def pseudonym(self, category: str, value: str, patient_key: str) -> str:
        """A patient ID or MRN anywhere -> the pseudonym DICOM gives that PatientID; the
        record's patient name -> its patient's pseudonym; other names -> N-."""
        if category in ("patient-id", "mrn"):
            new = self.pseudo.pseudonym("id:" + value.strip())
            if self.mappings is not None:
                self.mappings.append(("patient-id", value.strip(), new))
            return new
        if category == "fhir-reference" and "/" in value:  # Patient/123 -> Patient/<pseudonym of 123>
            kind, _, ident = value.rpartition("/")
            return f"{kind}/{self.pseudo.pseudonym(ident, prefix='', namespace='fhir-id')}"
        if category == "fhir-id":
            return self.pseudo.pseudonym(value.strip(), prefix="", namespace="fhir-id")
        if category == "patient-name":
            return self.pseudo.pseudonym(patient_key or "name:" + re.sub(r"\s+", " ", value).strip().upper())
        if category == "name":
            return self.pseudo.pseudonym(re.sub(r"\s+", " ", value).strip().upper(), prefix="N-",
                                         namespace="person-name")[:12]
        return self.pseudo.pseudonym(value.strip(), prefix="H-", namespace=f"value:{category}")


# --- dates ---------------------------------------------------------------------------
_DATE_FORMS = [
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), "{y:04d}{m:02d}{d:02d}"),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2}[\d.+-]*)$"), "ts"),         # HL7 TS: date and time
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(.*)$"), None),
    (re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(.*)$"), None),
    (re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})(.*)$"), None),
    (re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*([日号]?)(.*)$"), "zh"),
]
_MDY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def shift_date(value: str, days: int) -> str | None:
    """Shift a date written in a common form by `days`, keeping the form; None when the
    value is not a full date this knows (the caller tags it instead)."""
    v = value.strip()
    for rx, fmt in _DATE_FORMS:
        m = rx.match(v)
        if not m:
            continue
        try:
            d = date(int(m.group(1)), int(m.group(2)), int(m.group(3))) + timedelta(days=days)
        except ValueError:
            return None
        if fmt == "ts":
            return f"{d.year:04d}{d.month:02d}{d.day:02d}{m.group(4)}"
        if fmt == "zh":
            return f"{d.year}年{d.month}月{d.day}{m.group(4)}{_shift_time(m.group(5))}"
        if fmt:
            return fmt.format(y=d.year, m=d.month, d=d.day)
        sep = v[4]
        pad = len(m.group(2)) == 2
        mm, dd = (f"{d.month:02d}", f"{d.day:02d}") if pad else (str(d.month), str(d.day))
        return f"{d.year}{sep}{mm}{sep}{dd}{_shift_time(m.group(4))}"
    m = _MDY.match(v)
    if m:
        try:
            d = date(int(m.group(3)), int(m.group(1)), int(m.group(2))) + timedelta(days=days)
        except ValueError:
            return None
        return f"{d.month:02d}/{d.day:02d}/{d.year}"
    return None


def _shift_time(rest: str) -> str:
    return rest  # the time of day does not identify once the date has moved


# --- generalize ----------------------------------------------------------------------
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
    gazetteer (data/divisions_zh.tsv), or by suffix when the city is not in it; [地址]
    when neither is there."""
    out, rest = "", v
    for p in provinces():
        if rest.startswith(p):
            out, rest = p, rest[len(p):]
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
    pairs = [(code, n) for code, n in divisions().items() if code[2:4] != "00" and code[4:] == "00"]
    return tuple(sorted(pairs, key=lambda p: len(p[1]), reverse=True))
