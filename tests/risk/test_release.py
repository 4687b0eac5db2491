"""The acceptance case: a synthetic newborn register of 30,000 rows (birth date, sex,
district, hospital; tests/risk/newborn.py) through `deid run` with `risk.k: 5`: the output
is 5-anonymous, the suppressed share and the loss are reported, every generalisation and
suppression is an audit event without a value, `deid check --risk 5` exits 0 on it and 1
on the same register run without the k target. Then `deid risk`, the assessment and the
HTML report on that run, and the policy's validation."""

from __future__ import annotations

import csv
import json
import re
import sqlite3

import pytest
from typer.testing import CliRunner

from deid.audit.log import verify
from deid.cli import app
from deid.errors import PolicyError
from deid.policy import build_pipeline
from helpers import KEY
from risk.newborn import pipeline_file, register, write

runner = CliRunner()
ENV = {"DEID_KEY": KEY.decode()}


def cli(*args: str):
    return runner.invoke(app, list(args), env=ENV)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The register, run with risk.k: 5 and without it."""
    base = tmp_path_factory.mktemp("newborn")
    src = write(base / "in" / "register.csv")
    outs = {}
    for k in (5, None):
        pipe = pipeline_file(base, k)
        out = base / f"out-{k}"
        res = cli("run", str(src.parent), "--out", str(out), "-p", str(pipe), "--engine", "inline", "--format", "json")
        assert res.exit_code == 0, res.output
        outs[k] = (out, json.loads(res.stdout.strip().splitlines()[-1]), pipe)
    return base, outs


def rows(out):
    with open(out / "register.csv", encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_output_is_5_anonymous_and_says_what_it_cost(runs):
    _base, outs = runs
    out, summary, _pipe = outs[5]
    risk = summary["risk"]
    assert risk["reached"] and risk["measures"]["k"] >= 5
    body = rows(out)[1:]
    classes: dict[tuple, int] = {}
    for r in body:
        classes[(r[1], r[2], r[3], r[4])] = classes.get((r[1], r[2], r[3], r[4]), 0) + 1
    assert len(body) == 30_000 and min(classes.values()) >= 5  # counted here, not taken from deid
    suppressed = sum(1 for r in body if r[1:5] == ["*"] * 4)
    assert suppressed == risk["suppressed_persons"] > 0
    assert risk["suppressed_share"] == pytest.approx(suppressed / 30_000) and risk["suppressed_share"] <= 0.05
    assert 0 < risk["loss"] < 1 and risk["loss_measure"].startswith("precision")
    assert "birth-date" in risk["levels"] and any(risk["levels"].values())
    # the register without the pass is far from it: the pass did real work
    assert outs[None][1].get("risk") is None
    assert rows(outs[None][0])[1][1].count("-") == 2  # a full date left as it was


def test_every_generalisation_and_suppression_is_an_audit_event_without_a_value(runs):
    _base, outs = runs
    out, summary, _pipe = outs[5]
    audit = out.with_name(out.name + ".audit.sqlite")
    assert verify(audit) == []
    db = sqlite3.connect(audit)
    got = dict(db.execute("SELECT action, COUNT(*) FROM events WHERE category='quasi-identifier' GROUP BY action"))
    assert got["suppress"] == summary["risk"]["suppressed_persons"]
    assert got["generalize"] == summary["risk"]["generalised_cells"]
    assert db.execute("SELECT COUNT(*) FROM events WHERE location='<file>'").fetchone()[0] == 1  # accounting unchanged
    sample = db.execute(
        "SELECT location, rule_id, fingerprint, detail FROM events WHERE action='generalize' LIMIT 1"
    ).fetchone()
    assert sample[0].startswith("row[") and sample[0].endswith(".出生日期")
    assert sample[1].startswith("risk:k=5:birth-date:date:") and len(sample[2]) == 24
    text = "\n".join("\t".join(map(str, r)) for r in db.execute("SELECT * FROM events"))
    # no date (every birth date is one), no district or hospital (all start 北京), no diagnosis
    assert not re.search(r"20\d\d-\d\d|北京|足月儿", text)


def test_check_risk_passes_the_generalised_output_and_fails_the_raw_one(runs):
    _base, outs = runs
    ok = cli("check", str(outs[5][0]), "-p", str(outs[5][2]), "--risk", "5")
    assert ok.exit_code == 0, ok.output
    below = cli("check", str(outs[None][0]), "-p", str(outs[5][2]), "--risk", "5")
    assert below.exit_code == 1 and "below the target" in below.output


def test_deid_risk_text_json_and_assessment(runs, tmp_path):
    base, outs = runs
    out, _summary, pipe = outs[5]
    res = cli("risk", str(out), "-p", str(pipe), "--format", "json")
    assert res.exit_code == 0
    m = json.loads(res.stdout)
    assert m["k"] >= 5 and m["persons"] == 30_000 and "诊断" in m["l_diversity"]
    assert sum(b["persons"] for b in m["histogram"]) == 30_000
    raw = cli("risk", str(outs[None][0]), "-p", str(pipe), "--k", "5")
    assert raw.exit_code == 1 and "k-anonymity\t1" in raw.stdout
    values = {v for r in register()[:200] for v in (r[1], r[4], r[3])}
    for name in ("a.md", "a.html"):
        res = cli("risk", str(out), "-p", str(pipe), "--assessment", str(tmp_path / name))
        assert res.exit_code == 0, res.output
        doc = (tmp_path / name).read_text("utf-8")
        for heading in ("评估范围与数据描述", "Quantitative results", "残余风险", "Conclusion and grade", "pseudonym"):
            assert heading in doc
        assert "第 2 级" in doc  # k=5 reached, but a class holds one diagnosis only (l=1): not controlled
        assert not [v for v in values if v in doc]
    report = tmp_path / "report.html"
    audit = out.with_name(out.name + ".audit.sqlite")
    assert cli("audit", "report", str(audit), "--out", str(report)).exit_code == 0
    page = report.read_text("utf-8")
    assert "Re-identification risk" in page and "reached" in page and "risk:k=5:suppress" in page
    assert not [v for v in values if v in page]


def test_jsonl_records_are_rewritten_in_place(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    lines = [{"id": i, "age": str(30 + i % 10), "sex": "男" if i % 3 else "女", "note": "ok"} for i in range(40)]
    (src / "visits.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", "utf-8")
    run_age_sex(tmp_path, src, "fields: {note: safe, id: safe}", k=4, sup=0.2, sex="sex")
    got = [json.loads(x) for x in (tmp_path / "out" / "visits.jsonl").read_text("utf-8").splitlines() if x]
    assert [g["id"] for g in got] == list(range(40)) and all(list(g) == ["id", "age", "sex", "note"] for g in got)
    classes: dict[tuple, int] = {}
    for g in got:
        classes[(g["age"], g["sex"])] = classes.get((g["age"], g["sex"]), 0) + 1
    assert min(classes.values()) >= 4
    assert {g["age"] for g in got} <= {"30-34", "35-39", "30-39", "*"}


def run_age_sex(tmp_path, src, records: str, k: int, sup: float, sex: str) -> dict:
    """`deid run` with quasi-identifiers age and sex and this k; the summary's `risk`."""
    pipe = tmp_path / "p.yaml"
    pipe.write_text(
        f"name: t\nrecords: {{free_text: false, ner: off, {records}}}\n"
        f"risk:\n  k: {k}\n  max_suppression: {sup}\n  quasi:\n"
        f"    - {{name: age, fields: [age], hierarchy: age}}\n    - {{name: sex, fields: [{sex}], hierarchy: category}}\n"
        "  person: [patient-id, id]\n",
        "utf-8",
    )
    res = cli(
        "run", str(src), "--out", str(tmp_path / "out"), "-p", str(pipe), "--engine", "inline", "--format", "json"
    )
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout.strip().splitlines()[-1])["risk"]


def test_k_target_that_cannot_be_reached_exits_1(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "t.csv").write_text("age,sex\n31,男\n45,女\n", "utf-8")
    pipe = tmp_path / "p.yaml"
    pipe.write_text(
        "name: t\nrecords: {free_text: false, ner: off}\nrisk: {k: 5, quasi: [{name: age, fields: [age], hierarchy: age}]}\n",
        "utf-8",
    )
    res = cli("run", str(src), "--out", str(tmp_path / "out"), "-p", str(pipe), "--engine", "inline")
    assert res.exit_code == 1 and "NOT reached" in res.stdout


@pytest.mark.parametrize(
    "risk, message",
    [
        ({"k": 5, "color": 1}, "unknown keys under risk"),
        ({"k": 1}, "risk.k"),
        ({"k": True}, "risk.k"),
        ({"max_suppression": 2}, "max_suppression"),
        ({"quasi": [{"name": "a", "fields": ["age"], "hierarchy": "zip"}]}, "hierarchy"),
        ({"quasi": [{"name": "a", "fields": ["age"], "hierarchy": "age", "x": 1}]}, "risk.quasi"),
        ({"quasi": [{"name": f"q{i}", "hierarchy": "age"} for i in range(7)]}, "combinations"),
        ({"sensitive": "dx"}, "risk.sensitive"),
    ],
)
def test_policy_validation(risk, message):
    with pytest.raises(PolicyError, match=message):
        build_pipeline({"name": "t", "risk": risk}, "t.yaml")


def test_a_bad_risk_section_is_exit_2(tmp_path):
    pipe = tmp_path / "p.yaml"
    pipe.write_text("name: t\nrisk: {k: 5, colour: red}\n", "utf-8")
    (tmp_path / "x.csv").write_text("a\n1\n", "utf-8")
    res = cli("risk", str(tmp_path / "x.csv"), "-p", str(pipe))
    assert res.exit_code == 2 and "unknown keys under risk" in res.output and "Traceback" not in res.output


def test_journalist_and_marketer_risk_against_a_population(runs, tmp_path):
    """A population file holding every class of the release four times over: the
    journalist's highest risk is 1/(4 min f), the marketer's (1/n) sum f/F = |J|/(4n)."""
    _base, outs = runs
    out, _summary, pipe = outs[5]
    body = rows(out)[1:]
    f: dict[tuple, int] = {}
    for r in body:
        f[tuple(r[1:5])] = f.get(tuple(r[1:5]), 0) + 1
    pop = tmp_path / "population.csv"
    with open(pop, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["出生日期", "性别", "区县", "分娩医院", "count"])
        w.writerows([*key, 4 * n] for key, n in f.items())
    res = cli("risk", str(out), "-p", str(pipe), "--population", str(pop), "--format", "json")
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)
    assert m["population"] and m["journalist_max"] == pytest.approx(1 / (4 * min(f.values())))
    assert m["marketer"] == pytest.approx(len(f) / (4 * len(body))) == pytest.approx(m["journalist_avg"])
    assert m["prosecutor_avg"] == pytest.approx(len(f) / len(body))


def test_a_release_pass_that_cannot_write_stops_the_run_and_a_rerun_finishes_it(tmp_path, monkeypatch):
    import errno

    import deid.risk.release as release

    src = write(tmp_path / "in" / "register.csv", n=2_000, seed=5)
    pipe = pipeline_file(tmp_path)
    out = tmp_path / "out"

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as mp:
        mp.setattr(release, "rewrite", full)
        stopped = cli("run", str(src.parent), "--out", str(out), "-p", str(pipe), "--engine", "inline")
    assert stopped.exit_code == 3 and "release pass could not finish" in stopped.stdout
    again = cli("run", str(src.parent), "--out", str(out), "-p", str(pipe), "--engine", "inline", "--format", "json")
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    assert summary["done_earlier"] == 1 and summary["risk"]["reached"]
    assert verify(out.with_name("out.audit.sqlite")) == []


def test_ctrl_c_during_the_release_pass_closes_the_audit_log_and_a_rerun_skips_the_inputs(tmp_path, monkeypatch):
    """Ctrl-C in the pass: the audit rows recorded are committed (the log verifies and says
    the input was written), so a rerun skips it and only makes the pass again."""
    import deid.risk.release as release

    src = write(tmp_path / "in" / "register.csv", n=2_000, seed=5)
    pipe = pipeline_file(tmp_path)
    out = tmp_path / "out"

    def interrupt(*_a, **_k):
        raise KeyboardInterrupt

    with monkeypatch.context() as mp:
        mp.setattr(release, "rewrite", interrupt)
        stopped = cli("run", str(src.parent), "--out", str(out), "-p", str(pipe), "--engine", "inline")
    assert stopped.exit_code == 3, stopped.output
    audit = out.with_name("out.audit.sqlite")
    assert verify(audit) == []
    db = sqlite3.connect(audit)
    written = db.execute("SELECT COUNT(*) FROM events WHERE location='<file>' AND action='write'").fetchone()[0]
    db.close()
    assert written == 1
    again = cli("run", str(src.parent), "--out", str(out), "-p", str(pipe), "--engine", "inline", "--format", "json")
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    assert summary["done_earlier"] == 1 and summary["risk"]["reached"]


def test_several_rows_of_one_person_are_generalised_and_suppressed_together(tmp_path):
    """k counts persons: 60 patients with 1-4 visits each; a suppressed patient loses every row."""
    import random

    rnd = random.Random(4)
    src = tmp_path / "in"
    src.mkdir()
    with open(src / "visits.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["病案号", "年龄", "性别"])
        for p in range(60):
            age, sex = rnd.randint(20, 80), rnd.choice("男女")
            w.writerows([f"MRN{p:04d}", age, sex] for _ in range(rnd.randint(1, 4)))
    risk = run_age_sex(tmp_path, src, "operators: {patient-id: pseudonym, age: keep}", k=3, sup=0.1, sex="性别")
    with open(tmp_path / "out" / "visits.csv", encoding="utf-8", newline="") as fh:
        body = list(csv.reader(fh))[1:]
    people: dict[str, set] = {}
    for pid, age, sex in body:
        people.setdefault(pid, set()).add((age, sex))
    assert len(people) == 60 and all(len(v) == 1 for v in people.values())  # one person, one generalised value
    classes: dict[tuple, int] = {}
    for v in people.values():
        classes[next(iter(v))] = classes.get(next(iter(v)), 0) + 1
    assert min(classes.values()) >= 3
    gone = [p for p, v in people.items() if v == {("*", "*")}]
    assert (
        len(gone) == risk["suppressed_persons"] and sum(1 for r in body if r[0] in gone) == risk["suppressed_records"]
    )
