"""Operators are found through one registry (deid.operators): a toy operator is one
class (below) plus one registry line, and a pipeline may name it in both stacks; a
pipeline naming an unknown operator, or giving one a bad parameter, is a configuration
error (exit 2, one line). Every value is synthetic."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from deid import operators
from deid.cli import app
from deid.errors import PolicyError
from deid.handlers import Context, Item, handler_for
from deid.operators.base import OpContext, Operator, Target, Value
from deid.policy import build_pipeline
from deid.pseudonym import Pseudonymizer
from helpers import KEY, make_ds, read, to_bytes


# -- the toy operator: what a new operator file holds ---------------------------------
class Reverse(Operator):
    """reverse: the value written backwards (a toy; it protects nothing)."""

    name = "reverse"

    def apply(self, value: str, at: Target, ctx: OpContext) -> Value:
        return value.strip()[::-1]


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setattr(operators, "REGISTRY", dict(operators.REGISTRY))  # undone after the test
    operators.register(Reverse())  # the one registry line


def _run(pipe, name: str, data: bytes):
    ctx = Context(pipe, Pseudonymizer(KEY))
    res = handler_for(name, data[:4096]).process(Item(name, name), ctx, data)
    assert res.status == "ok", res.reason
    return res


def test_a_toy_operator_is_used_by_the_records_stack(toy):
    pipe = build_pipeline({"name": "toy", "records": {"operators": {"phone": "reverse"}}}, "toy")
    res = _run(pipe, "contacts.csv", "姓名,联系电话,诊断\n张三,13800138000,高血压\n".encode())
    row = res.data.decode().splitlines()[1].split(",")
    assert row[1] == "00083100831" and row[2] == "高血压"
    assert [(e.location, e.action, e.category) for e in res.events if e.category == "phone"] == [
        ("row[1].联系电话", "reverse", "phone")
    ]


def test_a_toy_operator_is_used_by_the_dicom_stack(toy):
    pipe = build_pipeline(
        {"name": "toy", "dicom": {"overrides": [{"keyword": "StudyDescription", "action": "reverse"}]}}, "toy"
    )
    res = _run(pipe, "x.dcm", to_bytes(make_ds(StudyDescription="CHEST PA")))
    assert read(res.data).StudyDescription == "AP TSEHC"
    assert [e.action for e in res.events if e.location == "StudyDescription"] == ["reverse"]


def test_the_registry_lists_each_stacks_operators():
    assert operators.names("dicom") == (
        "remove",
        "empty",
        "dummy",
        "keep",
        "clean",
        "uid",
        "shift-date",
        "pseudonym",
        "hash",
        "generalize",
    )
    assert set(operators.names("records")) == {"pseudonym", "mask", "tag", "shift-date", "generalize", "remove", "keep"}
    with pytest.raises(ValueError):
        operators.register(type("Dup", (Operator,), {"name": "mask"})())


@pytest.mark.parametrize(
    "raw, says",
    [
        ({"records": {"operators": {"phone": "reverse"}}}, "records.operators.phone: 'reverse' is not one of"),
        ({"records": {"operators": {"phone": "dummy"}}}, "records.operators.phone: 'dummy' is not one of"),
        ({"dicom": {"overrides": [{"keyword": "PatientName", "action": "mask"}]}}, "'mask' is not one of"),
        ({"dicom": {"overrides": [{"keyword": "PatientName", "action": ["keep"]}]}}, "['keep'] is not one of"),
        ({"dicom": {"date_shift_days": [5, 1]}}, "dicom.date_shift_days must be [min, max] whole days"),
    ],
)
def test_an_unknown_operator_or_bad_parameter_is_a_policy_error(raw, says):
    with pytest.raises(PolicyError) as err:
        build_pipeline({"name": "bad", **raw}, "bad.yaml")
    assert says in str(err.value) and "\n" not in str(err.value)


def test_an_unknown_operator_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"name": "bad", "records": {"operators": {"phone": "scramble"}}}))
    res = CliRunner().invoke(app, ["policy", "validate", str(bad)])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "'scramble' is not one of" in lines[0], res.output


def test_an_operator_validates_its_parameters():
    shift = operators.get("shift-date")
    shift.validate({"days": [-30, -1]})
    for bad in ({"days": [1]}, {"days": [-1, -30]}, {"days": "x"}, {"weeks": 2}):
        with pytest.raises(operators.OperatorError):
            shift.validate(bad)
    with pytest.raises(operators.OperatorError):
        operators.get("mask").validate({"char": "#"})
