"""The "find, don't change" operator set: `deid check` and `verify:` run the records
handler itself through its public `findings()`, with the `find` operator standing in for
the policy's and no key."""

from __future__ import annotations

import pytest

from deid import operators
from deid.core import Context, Item
from deid.findings import Finding
from deid.operators.find import NoKey
from deid.policy import load_pipeline
from deid.records.handler import RecordHandler

CSV = (
    "patient_id,name,phone,note,visit_date\n"
    "P-0123456789AB,N-0123456789,,seen today,2021-03-04\n"
    "ZY20210001,ROE^RICHARD,13812345678,call back on 13812345678,2021-03-05\n"
).encode()


def _findings(data: bytes, rel: str = "visits.csv") -> list[Finding]:
    return RecordHandler().findings(Item("", rel), Context(load_pipeline("records"), NoKey()), data)


def test_findings_name_what_process_would_change_and_never_a_value():
    found = _findings(CSV)
    assert found and all(isinstance(f, Finding) and f.file == "visits.csv" and not f.excerpt for f in found)
    where = {f.location for f in found}
    assert where >= {"row[2].patient_id", "row[2].name", "row[2].phone"}, where
    assert any(w.startswith("row[2].note[") for w in where), where
    assert not any(f.location.startswith("row[1].") for f in found)  # deid's own pseudonyms
    assert not any(f.category == "date" for f in found)  # dates are not judged
    assert "13812345678" not in repr(found) and "ROE" not in repr(found)


def test_process_still_changes_what_findings_report():
    from deid.pseudonym import Pseudonymizer

    res = RecordHandler().process(
        Item("", "visits.csv"), Context(load_pipeline("records"), Pseudonymizer(b"k" * 32)), CSV
    )
    assert res.status == "ok" and b"13812345678" not in (res.data or b"")


def test_an_unreadable_file_is_one_finding():
    assert _findings(b"{not json", "x.json") == [Finding("x.json", "<file>", "unreadable", "malformed-json")]


def test_a_path_that_names_someone_is_a_finding():
    assert Finding("ROE RICHARD 13812345678.txt", "<path>", "identity", "deid:path-identity") in _findings(
        b"nothing here\n", "ROE RICHARD 13812345678.txt"
    )


def test_find_is_not_an_operator_a_pipeline_may_name():
    assert "find" in operators.REGISTRY
    for stack in ("dicom", "records"):
        assert "find" not in operators.names(stack)
        with pytest.raises(operators.OperatorError):
            operators.validate("find", stack)


def test_a_find_run_holds_no_key():
    key = NoKey()
    assert key.fingerprint("anything") == "" and key.per_file() is key
    with pytest.raises(RuntimeError):
        key.pseudonym("ROE^RICHARD")


def test_generalised_fields_are_judged_by_whether_generalising_still_changes_them():
    """A birth date, an address or an age under their own labels: the raw values are
    findings; what `deid run` wrote for them (a year, a province and city, 90+) is not.
    Find alone could not tell (a year looks like any year), so these went unjudged."""
    from deid.pseudonym import Pseudonymizer

    raw = (
        "出生日期,家庭住址,年龄,dob,age\n"
        "1990-03-07,广东省广州市天河区体育西路103号,93,03/07/1990,95\n"
        "1988,浙江省杭州市,45,1988,45\n"
    ).encode()
    found = {(f.location, f.category) for f in _findings(raw, "register.csv")}
    assert found == {
        ("row[1].出生日期", "birth-date"),
        ("row[1].家庭住址", "address"),
        ("row[1].年龄", "age"),
        ("row[1].dob", "birth-date"),
        ("row[1].age", "age"),
    }, found
    out = RecordHandler().process(
        Item("", "register.csv"), Context(load_pipeline("records"), Pseudonymizer(b"k" * 32)), raw
    )
    assert out.status == "ok" and _findings(out.data or b"", "register.csv") == []
