"""Policy engine: the table is data, options stack, combined codes resolve, bad YAML is refused."""

from __future__ import annotations

import pytest

from deid.errors import PolicyError
from deid.policy import build_pipeline, load_pipeline, shipped_pipelines
from deid.policy.engine import resolve_combined
from deid.policy.table import load_table


def test_table_has_all_621_rows_and_repeating_groups():
    t = load_table()
    assert len(t.rows) == 621
    assert t.lookup(0x50001234).name == "Curve Data"  # (50xx,xxxx)
    assert t.lookup(0x60023000).name == "Overlay Data"  # (60xx,3000)
    assert t.lookup(0x60104000).name == "Overlay Comments"
    assert t.private.basic == "X"


@pytest.mark.parametrize(
    "code,typ,want",
    [
        ("X/Z", 2, "Z"),
        ("X/Z", 3, "X"),
        ("X/Z", None, "Z"),
        ("X/D", 1, "D"),
        ("X/D", 3, "X"),
        ("X/D", None, "D"),
        ("Z/D", 1, "D"),
        ("Z/D", 2, "Z"),
        ("X/Z/D", 1, "D"),
        ("X/Z/D", 2, "Z"),
        ("X/Z/D", 3, "X"),
        ("X/Z/U*", None, "U"),
        ("X/Z/U*", 3, "U"),
    ],
)
def test_combined_codes(code, typ, want):
    assert resolve_combined(code, typ)[0] == want


def test_options_stack_and_every_decision_has_a_rule_id():
    p = build_pipeline({"dicom": {"options": ["retain_device_identity", "retain_institution_identity"]}}, "t")
    d = p.dicom.action_for(0x00080080, "LO", "InstitutionName", "1.2.840.10008.5.1.4.1.1.2")
    assert d.action == "keep" and d.rule_id == "ps3.15:retain_institution_identity:(0008,0080)"
    d = p.dicom.action_for(0x00181000, "LO", "DeviceSerialNumber", "1.2.840.10008.5.1.4.1.1.2")
    assert d.action == "keep" and "retain_device_identity" in d.rule_id
    basic = build_pipeline({"dicom": {}}, "t")
    d = basic.dicom.action_for(0x00080080, "LO", "InstitutionName", "1.2.840.10008.5.1.4.1.1.2")
    assert d.action == "remove" and d.rule_id.endswith(":type3")


def test_shipped_pipelines_load():
    names = shipped_pipelines()
    assert {"dicom-basic", "dicom-research"} <= set(names)
    r = load_pipeline("dicom-research").dicom
    assert set(r.options) == {
        "retain_long_modified_dates",
        "clean_descriptors",
        "retain_patient_characteristics",
        "retain_safe_private",
    }


@pytest.mark.parametrize(
    "raw,needle",
    [
        ({"dicom": {"options": ["retain_all"]}}, "retain_all"),
        ({"dicom": {"profile": "extended"}}, "profile"),
        ({"dicom": {"options": ["retain_long_full_dates", "retain_long_modified_dates"]}}, "one of"),
        ({"dicom": {"overrides": [{"keyword": "PatientName", "action": "obliterate"}]}}, "obliterate"),
        ({"dicom": {"overrides": [{"keyword": "NotAKeyword", "action": "keep"}]}}, "NotAKeyword"),
        ({"dicom": {"overrides": [{"action": "keep"}]}}, "needs one of"),
        ({"dicom": {"overrides": [{"tag": "(10,10)", "action": "keep"}]}}, "(gggg,eeee)"),
        ({"dicom": {"date_shift_days": [5, 1]}}, "date_shift_days"),
        ({"dicm": {}}, "unknown top-level"),
        ({"outputs": [{"folder": "x"}]}, "'outputs' is not a pipeline key"),  # was accepted and ignored
        ({"records": {"operators": {"phnoe": "mask"}}}, "records.operators.phnoe: no such category"),  # was ignored
    ],
)
def test_invalid_pipelines_are_refused_with_the_reason(raw, needle):
    with pytest.raises(PolicyError) as exc:
        build_pipeline(raw, "t.yaml")
    assert needle in str(exc.value)


def test_records_operators_may_name_a_category_the_pipeline_defines():
    p = build_pipeline({"records": {"fields": {"科室": "department"}, "operators": {"department": "keep"}}}, "t")
    assert p.records.operators["department"] == "keep"


def test_policy_hash_changes_with_content():
    a = build_pipeline({"dicom": {"options": []}}, "a")
    b = build_pipeline({"dicom": {"options": ["clean_descriptors"]}}, "a")
    assert a.policy_hash != b.policy_hash
