"""The one vocabulary of categories: what a found value, a changed element or a `deid
check` finding is. Recognizers (deid.text) emit these names, the records policy gives
each its default operator, a replacement tag is written with its labels, `deid check`
and `verify: {fail_on: high}` read its severity, and the records scrubber reads which
values are looked for again.

Adding a recognizer category (a Chinese passport number, say) is the recognizer file
plus one line in CATEGORIES below.

Columns:
  name       what the audit log, findings and policies call it
  severity   high: a direct identifier (what `--fail-on high` and `verify.fail_on: high`
             stop for); low: a quasi-identifier (dates, ages) or a finding about the
             file rather than a value (a private tag, a missing marker)
  operator   the records default (records.operators); None: records never decide it
  zh, en     the label a `tag` replacement writes ([姓名] in Chinese text, [NAME]
             otherwise); "" means the name itself ([category], [CATEGORY])
  remembered known from a field or found in free text, the value is looked for in the
             rest of the record's free text and again in the same patient's later records
  spread     found once in a text, every other place the same value stands is found too
  checked    `deid check` on records judges it by `find` (dates, ages, addresses are
             not: a shifted date or a generalized address looks like any other; the
             record stack judges what its policy generalises by generalising it again)
This module imports nothing from deid: every layer may read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    name: str
    severity: str = "low"
    operator: str | None = None
    zh: str = ""
    en: str = ""
    remembered: bool = False
    spread: bool = False
    checked: bool = True

    def label(self, chinese: bool) -> str:
        """[姓名] / [NAME]: what a `tag` replacement writes."""
        if chinese:
            return f"[{self.zh or self.name}]"
        return f"[{self.en or self.name.upper().replace('-', '_')}]"


H = "high"
C = Category
# the records categories first, in the order of the records defaults
CATEGORIES: tuple[Category, ...] = (
    C("patient-name", H, "pseudonym", "姓名", remembered=True, spread=True),
    C("patient-id", H, "pseudonym", "病案号", remembered=True, spread=True),
    C("name", H, "pseudonym", "姓名", remembered=True, spread=True),
    C("mrn", H, "pseudonym", "病案号", remembered=True, spread=True),
    C("resident-id", H, "tag", "身份证号", remembered=True, spread=True),
    C("ssn", H, "tag", "身份证号", remembered=True, spread=True),
    C("phone", H, "tag", "电话", remembered=True, spread=True),
    C("email", H, "tag", "邮箱", remembered=True, spread=True),
    C("bank-card", H, "tag", "银行卡号", remembered=True, spread=True),
    C("insurance", H, "tag", "医保号", remembered=True, spread=True),
    C("account", H, "tag", "账号", remembered=True, spread=True),
    C("id-number", H, "tag", "编号", remembered=True, spread=True),
    C("url", H, "tag", "网址"),
    C("ip", H, "tag", "IP"),
    C("address", H, "generalize", "地址", checked=False),
    C("birth-date", "low", "generalize", "出生日期", checked=False),
    C("age", "low", "generalize", "年龄", checked=False),
    C("date", "low", "shift-date", "日期", checked=False),
    C("school", H, "tag", "学校"),
    C("free-text", "low", "keep"),
    C("safe", "low", "keep"),
    C("location", H, "tag", "地点", spread=True),
    C("fhir-id", "low", "pseudonym", checked=False),
    C("fhir-reference", "low", "pseudonym", checked=False),
    # DICOM decisions (policy.engine) and `deid check` findings
    C("identity", H),  # an identity attribute, a path or file-meta value
    C("uid", "low"),
    C("graphics", "low"),  # overlays and curves
    C("private", "low"),  # a private element the policy decided
    C("overlay-text", H),  # text read in an overlay plane
    C("unreadable", H),  # a file check cannot read: it may hold anything
    C("symlink", H),
    C("undecodable-name", H),
    C("icon-image", H),
    C("encapsulated-document", H),
    C("unknown-tag", H),
    C("private-tag", "low"),
    C("not-deidentified", "low"),
    C("pixel-unused-bits", "low"),
)
del C, H

BY_NAME: dict[str, Category] = {c.name: c for c in CATEGORIES}

# direct identifiers: what --fail-on high and verify.fail_on: high stop for
HIGH: frozenset[str] = frozenset(c.name for c in CATEGORIES if c.severity == "high")
# the records policy's default operators, category -> operator
DEFAULT_OPERATORS: dict[str, str] = {c.name: c.operator for c in CATEGORIES if c.operator is not None}
REMEMBERED: frozenset[str] = frozenset(c.name for c in CATEGORIES if c.remembered)
SPREAD: frozenset[str] = frozenset(c.name for c in CATEGORIES if c.spread)
NOT_CHECKED: frozenset[str] = frozenset(c.name for c in CATEGORIES if not c.checked)
# every label a `tag` replacement writes ([PHONE], [电话]): a JSON key deid replaced is one
LABELS: frozenset[str] = frozenset(c.label(zh) for c in CATEGORIES for zh in (True, False))


def get(name: str) -> Category:
    """The category of this name; a name nobody listed (a pipeline's own records.fields
    category) is a low-severity category labelled by its name."""
    return BY_NAME.get(name) or Category(name)


def is_high(name: str) -> bool:
    return name in HIGH


def label(name: str, chinese: bool) -> str:
    return get(name).label(chinese)
