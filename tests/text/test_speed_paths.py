"""The shortcuts that make the recognizers fast never change what they find: a rule's
gates (Rule.needs/chars/words/probe) never skip a text its pattern matches, and the
compiled-free search for values found once is the regex scan it replaces. Texts here
are synthetic."""

from __future__ import annotations

from functools import lru_cache

import pytest

from deid.text.recognize import rules
from deid.text.spread import occurrences, pattern
from deid.text.tokens import tokens
from deid.text.validate import normalise
from records.synth import notes

GLUED = [
    "AccountID: 88812345  PhoneNo: 410-555-0199  PagerNum 45321  LabID: X12-00991",
    "MRN12345678 seen; Pt ID: A1234567; SS# 123-45-6789; Social Security Number 123 45 6789",
    "Patient: Ramona Quist. Next of kin: Dov Quist. Electronically signed by: Ilse Marr",
    "Visit your portal at HTTPS://example.org/x or www.example.com; PO Box 7781; ZIP: 21201",
    "IPv6 fe80:0000:0000:0000:0204:61ff:fe9d:f156 and 10.0.0.12; 2021-03-04; 4.3.2021",
    "DOB 3 Mar 1950, seen 12/03/2021, aged 93, 93 y/o; Frostburg, MD 21532",
    "身份证号110101199003077777，手机号13912345678，住院号：ZY2023001，微信号：wx_12345",
]


@lru_cache(maxsize=1)
def _texts() -> tuple:
    """(text, lower case, words) of the glued labels and of synthetic en and zh notes."""
    texts = [normalise(t) for t in GLUED + [n.text for n in notes("en", 120)] + [n.text for n in notes("zh", 120)]]
    return tuple((t, t.lower(), tokens(t).keys) for t in texts)


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r.id)
def test_a_rule_is_never_skipped_on_a_text_it_matches(rule):
    for t, low, keys in _texts():
        if rule.regex.search(t):
            assert rule.may_match(t, low, keys), t[:60]


@pytest.mark.parametrize(
    "text,values",
    [
        ("Dr. Quorrel and QUORREL; quorrelson is another word", ["Quorrel"]),
        ("MRN 12345678, again 12345678 and 123456789", ["12345678"]),
        ("Maria Lopez-Maria Lopez, maria lopez", ["Maria Lopez", "Lopez", "Maria"]),
        ("王小明来了，王小明走了，王小", ["王小明", "小明"]),
    ],
)
def test_found_values_are_searched_as_the_regex_would(text, values):
    rx = pattern(values)
    assert occurrences(text, values) == ([m.span() for m in rx.finditer(text)] if rx else [])
