"""The generalisation hierarchies: each level of each, values already coarser, and values
a level cannot place (they become `*`, never stay finer than asked)."""

from __future__ import annotations

import pytest

from deid.risk.hierarchies import HIERARCHIES, SUPPRESSED, names


@pytest.mark.parametrize(
    "name, value, levels",
    [
        ("age", "45", ["45", "45-49", "40-49", "*"]),
        ("age", "045Y", ["045Y", "45-49", "40-49", "*"]),  # DICOM AS
        ("age", "003M", ["003M", "0-4", "0-9", "*"]),  # months: under a year
        ("age", "024M", ["024M", "0-4", "0-9", "*"]),  # 24 months: 2 years
        ("age", "012W", ["012W", "0-4", "0-9", "*"]),
        ("age", "12个月", ["12个月", "0-4", "0-9", "*"]),  # 1 year, not 12
        ("age", "30个月", ["30个月", "0-4", "0-9", "*"]),
        ("age", "3周", ["3周", "0-4", "0-9", "*"]),
        ("age", "10天", ["10天", "0-4", "0-9", "*"]),
        ("age", "1岁3个月", ["1岁3个月", "0-4", "0-9", "*"]),
        ("age", "18 months", ["18 months", "0-4", "0-9", "*"]),
        ("age", "16周岁", ["16周岁", "15-19", "10-19", "*"]),
        ("age", "45岁", ["45岁", "45-49", "40-49", "*"]),
        ("age", "93", ["93", "90+", "90+", "*"]),
        ("age", "90岁以上", ["90岁以上", "90+", "90+", "*"]),
        ("age", "40-44", ["40-44", "40-44", "40-49", "*"]),  # already a band
        ("age", "unknown", ["unknown", "*", "*", "*"]),
        ("date", "2023-04-15", ["2023-04-15", "2023-04", "2023", "*"]),
        ("date", "20230415", ["20230415", "2023-04", "2023", "*"]),  # DICOM DA
        ("date", "2023年4月5日", ["2023年4月5日", "2023-04", "2023", "*"]),
        ("date", "2023", ["2023", "2023", "2023", "*"]),  # a year stays a year
        ("date", "[DATE]", ["[DATE]", "*", "*", "*"]),
        ("address", "浙江省杭州市西湖区", ["浙江省杭州市西湖区", "浙江省杭州市", "浙江省", "*"]),
        ("address", "北京市海淀区", ["北京市海淀区", "北京市", "北京市", "*"]),  # a municipality is its own prefecture
        ("address", "杭州市", ["杭州市", "浙江省杭州市", "浙江省", "*"]),
        ("address", "朝阳区", ["朝阳区", "*", "*", "*"]),  # Beijing's or Changchun's: not certain
        ("school", "北京市海淀区第一中学", ["北京市海淀区第一中学", "北京市海淀区", "*"]),
        ("school", "杭州市西湖区实验小学", ["杭州市西湖区实验小学", "浙江省杭州市西湖区", "*"]),
        ("school", "实验小学", ["实验小学", "*", "*"]),
        ("category", "男", ["男", "*"]),
    ],
)
def test_levels(name, value, levels):
    h = HIERARCHIES[name]
    assert h.height == len(levels) - 1
    assert [h.at(value, lv) for lv in range(h.height + 1)] == levels


def test_empty_stays_empty_at_every_level_and_suppressed_stays_suppressed():
    """An absent cell stays absent at the top too: the release pass leaves it absent, so the
    search must count it as the rewrite leaves it."""
    for h in HIERARCHIES.values():
        assert [h.at(e, lv) for e in ("", "  ") for lv in range(1, h.height + 1)] == ["", ""][:1] * (2 * h.height)
        assert all(h.at(SUPPRESSED, lv) == SUPPRESSED for lv in range(h.height + 1))


def test_each_level_is_idempotent():
    """A value generalised to a level stays there when generalised to it again (a release
    measured or generalised twice gives the same classes)."""
    samples = {
        "age": ["7", "045Y", "93", "62"],
        "date": ["2024-02-29", "19991231"],
        "address": ["浙江省杭州市西湖区", "北京市海淀区"],
        "school": ["北京市海淀区第一中学"],
        "category": ["女"],
    }
    for name, values in samples.items():
        h = HIERARCHIES[name]
        for v in values:
            for lv in range(1, h.height + 1):
                once = h.at(v, lv)
                assert h.at(once, lv) == once, (name, v, lv)


def test_registry_names():
    assert names() == ["address", "age", "category", "date", "school"]
