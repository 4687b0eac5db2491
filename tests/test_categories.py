"""One category vocabulary (deid.categories): every category a recognizer emits, the
field map names or the records policy defaults to is listed once, with its severity,
default operator and labels."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from deid import categories
from deid.check import HIGH
from deid.policy.records import DEFAULT_OPERATORS, FIELDS_DATA, PATTERNS_DATA
from deid.records.operators import tag

TEXT = Path(categories.__file__).parent / "text"


def test_every_category_in_use_is_listed():
    used = set(yaml.safe_load(FIELDS_DATA.read_text("utf-8")))
    used |= {p.get("category") for p in yaml.safe_load(PATTERNS_DATA.read_text("utf-8")) if p.get("category")}
    for src in TEXT.glob("*.py"):  # Rule("id", "category", ...), Span("category", ...), CATEGORY = "..."
        code = src.read_text("utf-8")
        used |= set(re.findall(r'Rule\(\s*"[^"]+",\s*"([a-z-]+)"', code))
        used |= set(re.findall(r'Span\("([a-z-]+)"', code))
        used |= set(re.findall(r'CATEGORY, PREFIX = "([a-z-]+)"', code))
    assert used - set(categories.BY_NAME) == set()
    assert {"name", "phone", "resident-id", "date", "location"} <= used


def test_the_vocabulary_is_what_check_policy_and_records_read():
    assert HIGH is categories.HIGH and "phone" in HIGH and "date" not in HIGH and "private-tag" not in HIGH
    assert DEFAULT_OPERATORS["patient-name"] == "pseudonym" and DEFAULT_OPERATORS["date"] == "shift-date"
    assert set(DEFAULT_OPERATORS.values()) <= {"pseudonym", "tag", "generalize", "shift-date", "keep"}


def test_labels():
    assert tag("resident-id", "身份证号110101") == "[身份证号]" and tag("resident-id", "ID 1") == "[RESIDENT_ID]"
    assert tag("my-own", "张三") == "[my-own]" and tag("my-own", "x") == "[MY_OWN]"  # a pipeline's own category
