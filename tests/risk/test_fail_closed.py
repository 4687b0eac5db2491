"""What a k target must never pass (review of issue 18): a quasi-identifier several columns
hold measured on the first only; rows with no person key counted as persons; record files
the reader does not read; a --population or --audit that is not there; and the audit
log's fingerprints of generalised cells, which must not regroup rows by their old value."""

from __future__ import annotations

import json
import sqlite3

from typer.testing import CliRunner

from deid.cli import app
from deid.policy import build_pipeline
from deid.risk.measures import measure
from deid.risk.quasi import read_release
from helpers import KEY, make_ds, write

runner = CliRunner()
ENV = {"DEID_KEY": KEY.decode()}
CITIES = ["北京市", "上海市", "天津市", "重庆市", "浙江省杭州市", "广东省广州市", "四川省成都市", "湖北省武汉市"]
CITIES += ["江苏省南京市", "陕西省西安市"]

RISK = {
    "quasi": [
        {"name": "birth-date", "fields": ["birth-date", "PatientBirthDate"], "hierarchy": "date"},
        {"name": "sex", "fields": ["性别", "sex", "PatientSex"], "hierarchy": "category"},
        {"name": "address", "fields": ["address"], "hierarchy": "address"},
    ],
    "person": ["patient-id", "PatientID"],
}
PIPE = build_pipeline({"name": "t", "risk": RISK}, "t")


def cli(*args: str):
    return runner.invoke(app, list(args), env=ENV)


def pipeline_file(tmp_path, k: int | None = 5):
    risk = dict(RISK, k=k, max_suppression=0.0)
    path = tmp_path / "p.yaml"
    doc = {"name": "t", "records": {"free_text": False, "ner": "off", "operators": {"patient-id": "pseudonym"}}}
    path.write_text(json.dumps(dict(doc, risk=risk), ensure_ascii=False), "utf-8")
    return path


def natives(folder):
    """10 persons alike in 家庭住址, sex and birth date (two classes of 5), each born in another city."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["病历号,性别,家庭住址,籍贯,出生日期"]
    lines += [f"MRN{i:03d},男,北京市海淀区,{CITIES[i]},{'1990-01-01' if i < 5 else '1991-02-02'}" for i in range(10)]
    (folder / "p.csv").write_text("\n".join(lines) + "\n", "utf-8")
    return folder


def test_every_column_of_a_quasi_identifier_is_in_the_class_key(tmp_path):
    table = read_release([natives(tmp_path / "in")], PIPE)
    assert table.keys[:3] == ["birth-date", "sex", "address"] and len(table.keys) == 4  # 籍贯: a sub-column
    m = measure(table, target=5)
    assert (m.k, m.classes, m.meets) == (1, 10, False)  # each person alone: 籍贯 differs


def test_a_run_generalises_every_column_of_a_quasi_identifier(tmp_path):
    src = natives(tmp_path / "in")
    out = tmp_path / "out"
    res = cli("run", str(src), "--out", str(out), "-p", str(pipeline_file(tmp_path)), "--engine", "inline")
    assert res.exit_code == 0, res.output
    rows = [r.split(",") for r in (out / "p.csv").read_text("utf-8").splitlines()[1:]]
    classes: dict[tuple, int] = {}
    for r in rows:
        classes[tuple(r[1:])] = classes.get(tuple(r[1:]), 0) + 1
    assert min(classes.values()) >= 5  # counted here over every column, 籍贯 included
    assert cli("risk", str(out), "-p", str(pipeline_file(tmp_path)), "--k", "5").exit_code == 0
    assert cli("risk", str(src), "-p", str(pipeline_file(tmp_path)), "--k", "5").exit_code == 1


def test_rows_without_a_person_key_do_not_meet_a_target(tmp_path):
    """One row a person cannot be told from several rows of one person: fail closed."""
    (tmp_path / "t.csv").write_text("性别,出生日期\n" + "男,1990-01-01\n" * 10, "utf-8")
    m = measure(read_release([tmp_path], PIPE), target=5)
    assert (m.k, m.persons_unknown, m.persons_unknown_files, m.meets) == (10, 10, 1, False)
    assert "persons unknown: 10 rows of 1 files" in m.why_not()
    assert measure(read_release([tmp_path], PIPE)).meets  # no target: measured, marked, not failed
    res = cli("risk", str(tmp_path), "-p", str(pipeline_file(tmp_path)), "--k", "5")
    assert res.exit_code == 1 and "persons unknown" in res.stdout


def test_dicom_without_patient_id_is_a_person_unknown(tmp_path):
    for s in range(6):  # six studies, maybe of one patient
        study = f"1.2.826.0.1.3680043.8.498.7{s}"
        write(make_ds("", sop_uid=f"{study}.1", study_uid=study, PatientSex="F"), tmp_path / f"{s}.dcm")
    m = measure(read_release([tmp_path], PIPE), target=5)
    assert (m.k, m.persons, m.persons_unknown, m.meets) == (6, 6, 6, False)


def test_a_run_with_k_and_no_person_field_fails_the_target_with_the_reason(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "t.csv").write_text("性别,出生日期\n" + "男,1990-01-01\n" * 10, "utf-8")
    res = cli("run", str(src), "--out", str(tmp_path / "out"), "-p", str(pipeline_file(tmp_path)), "--engine", "inline")
    assert res.exit_code == 1 and "persons unknown" in res.stdout


def test_a_record_file_not_measured_fails_a_target_and_other_files_do_not(tmp_path):
    lines = ["patient_id,sex,出生日期"] + [f"p{i},M,1990-01-01" for i in range(6)]
    (tmp_path / "a.csv").write_text("\n".join(lines) + "\n", "utf-8")
    (tmp_path / "README.md").write_text("about this release\n", "utf-8")
    (tmp_path / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    pipe = str(pipeline_file(tmp_path, None))
    ok = cli("risk", str(tmp_path), "-p", pipe, "--k", "5")
    assert ok.exit_code == 0, ok.output
    for name in ("b.json", "c.hl7", "d.txt"):
        (tmp_path / name).write_text('{"sex": "F", "birth_date": "1980-02-03"}', "utf-8")
        res = cli("risk", str(tmp_path), "-p", pipe, "--k", "5")
        assert res.exit_code == 1 and "record files not measured" in res.stdout, name
        check = cli("check", str(tmp_path), "-p", pipe, "--risk", "5")
        assert check.exit_code == 1 and "not measured" in check.output, name
        (tmp_path / name).unlink()


def test_a_missing_population_or_audit_is_one_line_exit_2_before_any_measure(tmp_path):
    lines = ["patient_id,sex"] + [f"p{i},M" for i in range(6)]
    (tmp_path / "a.csv").write_text("\n".join(lines) + "\n", "utf-8")
    pipe = str(pipeline_file(tmp_path, None))
    for opt in ("--population", "--audit"):
        res = cli("risk", str(tmp_path / "a.csv"), "-p", pipe, opt, str(tmp_path / "nope.sqlite"))
        assert res.exit_code == 2, (opt, res.output)
        assert "nope.sqlite" in res.output and "k-anonymity" not in res.output and "Traceback" not in res.output
        assert len(res.output.strip().splitlines()) == 1
    folder = tmp_path / "pop.csv"
    folder.mkdir()  # there, but not a readable file
    res = cli("risk", str(tmp_path / "a.csv"), "-p", pipe, "--population", str(folder))
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1


def test_equal_old_values_do_not_share_a_fingerprint_in_the_audit_log(tmp_path):
    """The output and the log must not regroup generalised rows by their original value."""
    src = natives(tmp_path / "in")
    out = tmp_path / "out"
    assert (
        cli("run", str(src), "--out", str(out), "-p", str(pipeline_file(tmp_path)), "--engine", "inline").exit_code == 0
    )
    db = sqlite3.connect(out.with_name("out.audit.sqlite"))
    got = db.execute(
        "SELECT rule_id, COUNT(*), COUNT(DISTINCT fingerprint) FROM events WHERE category='quasi-identifier' "
        "AND action='generalize' GROUP BY rule_id"
    ).fetchall()
    db.close()
    # 家庭住址 is one value in all 10 rows: still 10 fingerprints
    assert got and all(n == distinct for _rule, n, distinct in got)
    assert any(n >= 10 for _rule, n, _d in got)


def test_l_diversity_counts_single_non_empty_values_per_class():
    """A person with rows HIV and flu brings two values, not a third "HIV|flu"; an empty
    diagnosis is no value; a field no row holds is not reported (no l=1 for it)."""
    from deid.risk.quasi import Table

    rows = [("p1", "HIV"), ("p1", "flu"), ("p2", "HIV"), ("p3", "flu"), ("p4", "HIV"), ("p5", "")]
    table = Table(
        ("sex",),
        ("category",),
        [["M"] * 4 + ["F"] * 2],
        {"dx": [d for _p, d in rows], "absent": [""] * len(rows)},
        [p for p, _d in rows],
        [(0, i) for i in range(len(rows))],
    )
    m = measure(table)
    # class M: p1 p2 p3 -> {HIV, flu}: 2 (joined sets said 3); class F: p4 p5 -> {HIV}: 1 ("" made it 2)
    assert m.l_diversity == {"dx": 1}
    table.sensitive["dx"][4] = "flu"
    table.quasi[0][3] = "F"  # class M: p1 p2 -> {HIV, flu}; class F: p3 p4 p5 -> {flu}
    assert measure(table).l_diversity == {"dx": 1}


def test_loss_and_levels_leave_out_quasi_identifiers_the_release_does_not_hold(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    lines = [{"id": i, "age": str(30 + i % 10), "sex": "男" if i % 3 else "女"} for i in range(40)]
    (src / "v.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", "utf-8")
    pipe = tmp_path / "p.yaml"
    risk = {
        "k": 4,
        "max_suppression": 0.2,
        "person": ["id"],
        "quasi": [
            {"name": "age", "fields": ["age"], "hierarchy": "age"},
            {"name": "sex", "fields": ["sex"], "hierarchy": "category"},
            {"name": "school", "fields": ["school"], "hierarchy": "school"},  # no file has it
        ],
    }
    doc = {"name": "t", "records": {"free_text": False, "ner": "off", "fields": {"id": "safe"}}, "risk": risk}
    pipe.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    res = cli(
        "run", str(src), "--out", str(tmp_path / "out"), "-p", str(pipe), "--engine", "inline", "--format", "json"
    )
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout.strip().splitlines()[-1])["risk"]
    assert got["levels"] == {"age": 1, "sex": 0}  # no level for school
    assert got["loss"] == round((1 / 3 + 0) / 2, 6)  # the mean over age and sex, not over three


def test_assessment_grade_3_only_for_the_logged_output_with_nothing_left_open(tmp_path):
    src = natives(tmp_path / "in")
    out = tmp_path / "out"
    pipe = str(pipeline_file(tmp_path))
    assert cli("run", str(src), "--out", str(out), "-p", pipe, "--engine", "inline").exit_code == 0
    doc = tmp_path / "a.md"

    def grade(folder, *more: str) -> str:
        cli("risk", str(folder), "-p", pipe, "--assessment", str(doc), *more)
        text = doc.read_text("utf-8")
        doc.unlink()
        return text

    assert "Grade: grade 3" in grade(out)
    # the same log beside another output (here: one edited since): at most grade 1
    other = tmp_path / "other"
    other.mkdir()
    (other / "p.csv").write_text((out / "p.csv").read_text("utf-8") + "\n", "utf-8")
    assert "Grade: grade 1 at most" in grade(other, "--audit", str(out.with_name("out.audit.sqlite")))
    # a record file of the run that nobody measured (a JSON document): not controlled
    (src / "b.json").write_text('{"sex": "F"}', "utf-8")
    out2 = tmp_path / "out2"
    assert cli("run", str(src), "--out", str(out2), "-p", pipe, "--engine", "inline").exit_code == 1
    text = grade(out2)
    assert "Grade: grade 2" in text and "were not measured" in text
