"""Rule recognizers on hand-made hard cases (the synthetic evaluation set, with its
recall/precision floors, is tests/records/test_eval.py)."""

from __future__ import annotations

import pytest

from deid.text.recognize import find
from deid.text.validate import luhn, normalise, resident_id


def spans(text: str) -> dict[str, str]:
    return {text[s.start : s.end]: s.category for s in find(text)}


def test_resident_id_checksum_and_date():
    assert resident_id("110101199003074514")
    assert not resident_id("110101199003074515")  # wrong check digit
    assert not resident_id("110101199013074514")  # month 13
    assert resident_id("110101900307451")  # 15-digit, 1990-03-07
    found = spans("身份证号110101199003074514，另一个110101199003074515")
    assert found["110101199003074514"] == "resident-id"
    assert found["110101199003074515"] == "id-number"  # still an identifier, not a valid resident ID


def test_phones_split_by_spaces_and_full_width():
    text = "手机 138 1234 5678，+86-139-1234-5678，座机（010）88886666，１３８１２３４５６７８"
    found = spans(text)
    assert found.get("138 1234 5678") == "phone"
    assert found.get("+86-139-1234-5678") == "phone"
    assert "１３８１２３４５６７８" in found  # full-width, offsets in the original
    assert normalise("１３８") == "138"


def test_bank_card_needs_luhn():
    assert luhn("6222021234567890127") is False or luhn("6222021234567890127") is True  # no crash
    good = "4111 1111 1111 1111"
    assert spans(f"卡号 {good}").get(good) == "bank-card"
    assert "4111 1111 1111 1112" not in spans("卡号 4111 1111 1111 1112")


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2025年3月1日", "2025年3月1日"),
        ("二〇二三年五月", "二〇二三年五月"),
        ("2025-03-01", "2025-03-01"),
        ("25/3/1", "25/3/1"),
        ("3月1日", "3月1日"),
        ("20250301", "20250301"),
        ("03/14/1930", "03/14/1930"),
        ("January 5, 2024", "January 5, 2024"),
        ("5 Jan 2024", "5 Jan 2024"),
    ],
)
def test_dates_in_every_common_form(text, expected):
    assert spans(f"于 {text} 入院").get(expected) == "date"


def test_names_with_cues_and_distractors_kept():
    text = "患儿张小明之母李娟陪同。患者高热3天，黄疸加重，予林可霉素，既往新疆出血热。王医生查房。主治医师：刘德华"
    found = spans(text)
    assert {k for k, v in found.items() if v == "name"} == {"张小明", "李娟", "刘德华"}
    for term in ("黄疸", "林可霉素", "新疆出血热", "高热"):
        assert not any(term in k for k in found)


def test_hospital_and_insurance_numbers_after_their_labels():
    found = spans("住院号：ZY20240301，门诊号 MZ-778899，医保卡号: 1234567890AB")
    assert found == {"ZY20240301": "mrn", "MZ-778899": "mrn", "1234567890AB": "insurance"}


def test_address_school_and_class():
    found = spans("家住北京市朝阳区建国路88号3栋2单元501室，就读于北京市第一中学三年级二班")
    assert found.get("北京市朝阳区建国路88号3栋2单元501室") == "address"
    assert found.get("北京市第一中学") == "school" and found.get("三年级二班") == "school"


def test_english_safe_harbor_identifiers():
    text = (
        "Patient: John Smith, MRN: 12345678, 93 y/o. SS# 123-45-6789. Seen by Dr. Alice Wong. "
        "Call (555) 123-4567, john@x.org, https://example.com/a, 192.168.1.20. Policy #: AB-998877. "
        "Lives at 4663 Howell Stream, Robertbury, PR 93673."
    )
    found = spans(text)
    for value, cat in [
        ("John Smith", "name"),
        ("12345678", "mrn"),
        ("93 y/o", "age"),
        ("123-45-6789", "ssn"),
        ("Alice Wong", "name"),
        ("(555) 123-4567", "phone"),
        ("john@x.org", "email"),
        ("https://example.com/a", "url"),
        ("192.168.1.20", "ip"),
        ("AB-998877", "account"),
        ("4663 Howell Stream", "address"),
        ("Robertbury, PR 93673", "address"),
    ]:
        assert found.get(value) == cat, value


def test_eponyms_and_young_ages_are_not_identifiers():
    found = spans("Mr. Parkinson's disease progressed; Foley catheter; Gleason score 7; 45 year old; Dr. Smith")
    assert "Parkinson" not in found and "45 year old" not in found
    assert found.get("Smith") == "name"


def test_addresses_anchored_on_the_division_gazetteer():
    """A street address that starts with a county or city name, not only a province."""
    found = spans("现住忠县白石镇幸福村5组，后迁至广州市天河区体育西路1号")
    assert found.get("忠县白石镇幸福村5组") == "address"
    assert found.get("广州市天河区体育西路1号") == "address"


def test_address_generalized_to_province_and_city():
    from deid.records.operators import generalize

    assert generalize("address", "广州市天河区体育西路1号") == "广东省广州市"
    assert generalize("address", "四川省成都市武侯区某某路2号") == "四川省成都市"
    assert generalize("address", "4663 Howell Stream") == "[ADDRESS]"
