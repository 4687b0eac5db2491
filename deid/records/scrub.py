"""De-identify one record (a CSV row, a JSON object, an HL7 message, a text file):
fields whose name says what they hold get their category's operator; everything else
is scanned with the recognizers and each span found is replaced in place.

The record's patient key (its patient ID field, else its patient name) drives the
pseudonyms and the date offset, the same way the DICOM PatientID does: one patient,
one pseudonym and one offset across records and images under one key.
"""

from __future__ import annotations

import re
from typing import Callable, Iterator, NamedTuple, Sequence, cast

from ..categories import REMEMBERED  # values looked for again in free text and later records
from ..core import AuditEvent
from ..operators.base import RemoveType
from ..policy.records import RecordPolicy, norm_field
from ..pseudonym import Pseudonymizer
from ..text.ner import model as name_model
from ..text.recognize import Span, find, resolve
from ..text.spread import worth
from .operators import REMOVE, Operators

NOT_BY_NAME = frozenset({None, "safe", "free-text"})
# categories whose operator reads the value's form (shift a date, keep a birth year, group
# an age): decided by name only when the value is that and nothing else. "2024-01-01 John
# Smith 13800138000" under a date column is free text: its date moves and the rest is read
# by the recognizers (the date operator alone kept the name and the phone)
SHAPED = frozenset({"date", "birth-date", "age"})
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|august|september|october|november|december"
_UNITS = "y/o|years|year|yrs|yr|yo|old|months|month|mos|mo|weeks|week|wks|wk|days|day|am|pm|y|m|w|d|t|z"
_NOT_SHAPE = re.compile(
    rf"(?i)(?<![a-z])(?:{_MONTHS}|{_UNITS})(?![a-z])\.?|[0-9\s/.,:+\-()'TZ年月日号时分秒岁周个天以上下左右约]"
)


def shaped(value: str) -> bool:
    """Whether `value` is a date, time or age and nothing else: digits, separators, month
    names and the words of an age (45 years, 45岁, 3 mo, 90+, March 7, 1990)."""
    return not _NOT_SHAPE.sub("", value)


MEMORY_LIMIT = 256  # values remembered per patient (a bound, not a cache)
SHORT, FOUND_LIMIT = 200, 50_000  # cell values cached by Scrubber.find: length, count
KEYLESS = frozenset({"tag", "generalize", "mask", "remove", "keep"})  # results that depend on the value alone


class Field(NamedTuple):
    location: str  # audit location: row[3].联系电话, $.name[0].given[1], PID-5, text[120:131]
    name: str  # what the field map looks up: column header, JSON key, PID-5, Patient.name
    value: str
    category: str | None = None  # set by a format that knows better than the name (FHIR telecom email)


class Scrubber:
    def __init__(
        self,
        policy: RecordPolicy,
        pseudo: Pseudonymizer,
        date_shift_days: tuple[int, int],
        fallback_key: str,
        operators: type[Operators] = Operators,
    ):
        self.policy, self.pseudo = policy, pseudo.per_file()
        self.ops = operators(self.pseudo, date_shift_days)
        self.fallback_key = fallback_key
        self.names = name_model(policy.ner) if "zh" in policy.languages else None
        self.counts = {"fields_changed": 0, "spans": 0, "records": 0}
        self._rewritten: dict[str, str] = {}
        self.memory: dict[str, dict[str, str]] = {}  # patient key -> value found in free text -> category
        self._categories: dict[str, str | None] = {}  # field name -> category (names repeat every row)
        self._found: dict[str, list[Span]] = {}  # short cell value -> spans (values repeat too)
        self._applied: dict[tuple, str | RemoveType] = {}  # (operator, category, value) -> new value (KEYLESS)
        self._parts: dict[tuple, tuple] = {}  # (category, value) -> its parts (identity_pattern)
        self._rules: dict[tuple, tuple[str, str]] = {}  # (field name, category) -> operator, audit rule id

    def category(self, f: Field) -> str | None:
        return f.category or self._category_of(f.name)

    def _category_of(self, name: str) -> str | None:
        try:
            return self._categories[name]
        except KeyError:
            cat = self._categories[name] = self.policy.category_of(name)
            return cat

    def patient_key(self, fields: list[Field], cats: list | None = None) -> tuple[str, str]:
        """(key, the patient's name as written) of a record (`cats`: its fields'
        categories, when the caller has them)."""
        cats = [self.category(f) for f in fields] if cats is None else cats
        pid = next((f.value for f, c in zip(fields, cats) if c == "patient-id" and f.value.strip()), "")
        name = next((f.value for f, c in zip(fields, cats) if c == "patient-name" and f.value.strip()), "")
        if pid:
            return "id:" + pid.strip(), name
        if name:
            return "name:" + re.sub(r"\s+", " ", name).strip().upper(), name
        return self.fallback_key, ""

    def scrub(
        self, fields: list[Field], key: str | None = None, related: Sequence[Field] = ()
    ) -> tuple[list, list[AuditEvent]]:
        """New values (str, or REMOVE) for `fields`, and one audit event per change.
        `related`: fields of the record this one belongs to (the Patient resource an
        Observation points at), whose identifying values are looked for here too."""
        every = list(fields) + list(related) if related else fields
        cats = [f.category or self._category_of(f.name) for f in every]
        pkey, pname = self.patient_key(every, cats)
        key = key or pkey
        self.counts["records"] += 1
        known, unknown = None, True  # the record's own values: built when a free-text field needs them
        out: list[str | RemoveType] = []
        events: list[AuditEvent] = []
        for f, cat in zip(fields, cats):
            if cat in SHAPED and not shaped(f.value):
                cat = None  # more than a date or an age: read as free text
            if cat in NOT_BY_NAME:
                if self.policy.free_text and len(f.value.strip()) > 1:  # one character holds no identifier
                    if unknown:
                        remembered = [Field("", "", v, c) for v, c in self.memory.get(key, {}).items()]
                        known, unknown = (
                            identity_pattern(list(every) + remembered, self.category, cats, self._parts),
                            False,
                        )
                    cleaned, evs = self.scrub_text(f.value, f.location, key, pname, known)
                    out.append(cleaned)
                    events += evs
                else:
                    out.append(f.value)
                continue
            assert cat is not None  # NOT_BY_NAME holds None
            op, rule = self._plan(f.name, cat)
            new: str | RemoveType
            if cat == "date" and op == "shift-date":
                new = self._shift_each(f.value, key)  # 2021-03-04至2021-03-10: both dates move
            elif op in KEYLESS:
                new = self._keyless(op, cat, f.value)
            else:
                new = self.ops.apply(op, cat, f.value, key)
            out.append(new)
            if new is REMOVE or new != f.value:
                self.counts["fields_changed"] += 1
                events.append(AuditEvent(f.location, op, cat, rule, self.pseudo.fingerprint(f.value), "by field name"))
        return out, events

    def _keyless(self, op: str, cat: str, value: str) -> str | RemoveType:
        """An operator whose result depends on the value alone, applied once per distinct
        value of a file (a column repeats its cities, ZIP codes and departments)."""
        try:
            return self._applied[(op, cat, value)]
        except KeyError:
            if len(self._applied) >= FOUND_LIMIT:
                self._applied.clear()
            new = self._applied[(op, cat, value)] = self.ops.apply(op, cat, value, "")
            return new

    def _plan(self, name: str, cat: str) -> tuple[str, str]:
        """(operator, audit rule id) of a field, looked up once per field name."""
        try:
            return self._rules[(name, cat)]
        except KeyError:
            plan = self._rules[(name, cat)] = (self.policy.operator_for(cat), f"field:{norm_field(name)}")
            return plan

    def find(self, text: str) -> list[Span]:
        """The recognizers under this policy (languages, partial dates); short values are
        looked up once per file (a column repeats its values)."""
        if len(text) > SHORT:
            return find(text, self.policy.languages, self.policy.partial_dates)
        hit = self._found.get(text)
        if hit is None:
            if len(self._found) >= FOUND_LIMIT:
                self._found.clear()
            hit = self._found[text] = find(text, self.policy.languages, self.policy.partial_dates)
        return hit

    def remember(self, key: str, value: str, category: str) -> None:
        """A value found in this patient's free text: looked for in their later records."""
        mem = self.memory.setdefault(key, {})
        if category in REMEMBERED and len(mem) < MEMORY_LIMIT and worth(value):
            mem.setdefault(value.strip(), category)

    def rewritten(self, text: str) -> str:
        """`text` as free-text scrubbing would leave it (no audit events): for things that
        are not values but may hold one (a CSV header cell, a JSON key, a file path).
        Cached: the same keys and headers recur in every record."""
        cache = self._rewritten
        if text not in cache:
            cache[text] = self.scrub_text(text, "", self.fallback_key)[0]
        return cache[text]

    def _shift_each(self, value: str, key: str) -> str | RemoveType:
        spans = [sp for sp in self.find(value) if sp.category == "date"]
        if len(spans) < 2:
            return self.ops.apply("shift-date", "date", value, key)
        parts, pos = [], 0
        for sp in spans:
            new = cast(
                str, self.ops.apply("shift-date", "date", value[sp.start : sp.end], key, value)
            )  # text gives text
            parts += [value[pos : sp.start], new]
            pos = sp.end
        return "".join(parts) + value[pos:]

    def scrub_text(
        self,
        text: str,
        location: str,
        key: str,
        patient_name: str = "",
        known: tuple[Known, dict[str, str]] | None = None,
    ) -> tuple[str, list[AuditEvent]]:
        """Replace every span the recognizers find, and every value this record's own
        fields hold (its patient's name in a note: 'Patient John Smith called');
        offsets in the audit are the input's."""
        if not text or not text.strip():
            return text, []
        spans = self.find(text)
        if self.names is not None:
            spans = resolve(spans + self.names.names(text))
        if known is not None:
            rx, cats = known
            exact = [
                Span(identity_category(m.group(0), cats), m.start(), m.end(), "record-identity")
                for m in rx.finditer(text)
            ]
            if exact:
                # a value this record holds is known exactly: it bounds a guessed name span
                # that overlaps it ('王芳产后' read as a three-character name)
                guessed = [
                    sp
                    for sp in spans
                    if not (sp.category == "name" and any(sp.start < e.end and e.start < sp.end for e in exact))
                ]
                spans = resolve(guessed + exact)
        if not spans:
            return text, []
        parts, events, pos = [], [], 0
        for sp in spans:
            value = text[sp.start : sp.end]
            cat = sp.category
            if cat == "name" and patient_name and _same_name(value, patient_name):
                cat = "patient-name"
            op = self.policy.operator_for(cat)
            new = self.ops.apply(op, cat, value, key, context=text)
            if isinstance(new, RemoveType):  # REMOVE
                new = ""
            if new == value:
                continue
            if location:  # a real field, not a header cell or a path being tested
                self.remember(key, value, cat)
            parts.append(text[pos : sp.start])
            parts.append(new)
            pos = sp.end
            self.counts["spans"] += 1
            events.append(
                AuditEvent(
                    f"{location}[{sp.start}:{sp.end}]",
                    op,
                    cat,
                    f"recognizer:{sp.rule}",
                    self.pseudo.fingerprint(value),
                    "free text",
                )
            )
        parts.append(text[pos:])
        return "".join(parts), events


def _squash(s: str) -> str:
    return re.sub(r"[\s^,.·]", "", s).upper()


def _same_name(a: str, b: str) -> bool:
    return _squash(a) == _squash(b)


def identity_pattern(
    fields: list[Field],
    category: Callable[[Field], str | None],
    cats: list[str | None] | None = None,
    cache: dict[tuple[str, str], tuple] | None = None,
) -> tuple["Known", dict] | None:
    """A regex for the identifying values this record's own fields hold, as they may be
    written in its free text: whole values, and Latin name parts of 3+ letters written
    as names are (Smith, SMITH; not 'may' for a patient called May). 'SMITH^JOHN' finds
    'John Smith'; adjacent parts join into one span. Chinese names are matched whole (a
    given name alone, 正常 of 李正常, is too often a word). Returns (regex, squashed
    token -> category)."""
    by_part: dict[str, str] = {}
    raw: set[str] = set()
    low: set[str] = set()
    known = list(cats or ())  # categories the caller has, for the first fields
    for i, f in enumerate(fields):
        cat = known[i] if i < len(known) else category(f)
        if cat not in REMEMBERED or not f.value.strip():
            continue
        parts = cache.get((cat, f.value)) if cache is not None else None
        if parts is None:
            parts = _parts(cat, f.value)
            if cache is not None:
                if len(cache) >= FOUND_LIMIT:
                    cache.clear()
                cache[(cat, f.value)] = parts
        for squashed, forms, lower in parts:
            by_part.setdefault(squashed, cat)
            raw.update(forms)
            low.add(lower)
    if not raw:
        return None
    return Known(raw, low), by_part


def _parts(cat: str, value: str) -> tuple:
    """((squashed part, the forms it is looked for in, its lower case), ...) of one field
    value; the scrubber keeps them for its file (a patient's name is on each of their
    rows), `cache` in identity_pattern."""
    v = value.strip()
    toks = {v}
    if cat in ("patient-name", "name"):
        toks |= {t for t in re.split(r"[\s^,=]+", v) if (t.isascii() and len(t) >= 3) or len(t) >= 2}
    out = []
    for t in toks:
        if len(t) >= 2:
            forms = (t, t.upper(), t.capitalize()) if t.isascii() and t.isalpha() else (t,)
            out.append((_squash(t), forms, t.lower()))
    return tuple(out)


class Known:
    """The regex for a record's own values, compiled only for a text that holds one of
    them: most cells of a row hold none, and a row's values differ from the next row's."""

    def __init__(self, raw: set[str], low: set[str]):
        self.raw, self.low = raw, low  # the forms looked for; their lower case
        self._rx: re.Pattern | None = None

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        low = text.lower()
        if not any(t in low for t in self.low):
            return iter(())
        if self._rx is None:
            one = "(?:" + "|".join(re.escape(t) for t in sorted(self.raw, key=len, reverse=True)) + ")"
            self._rx = re.compile(rf"(?<![0-9A-Za-z]){one}(?:(?:[\s,+]|%20)+{one})*(?![0-9A-Za-z])")
        return self._rx.finditer(text)


def identity_category(match: str, cats: dict) -> str:
    return cats.get(_squash(match)) or cats.get(_squash(re.split(r"[\s,]+", match)[0])) or "name"
