"""The honest broker's vault: `deid run --vault` maps what the outputs hold back to the inputs,
readable only with its own key; nothing is collected without it. Every value is synthetic."""
from __future__ import annotations

import csv
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from typer.testing import CliRunner

from deid.cli import app
from deid.handlers import Context, DicomHandler, Item
from deid.policy import load_pipeline
from deid.pseudonym import Pseudonymizer
from deid.vault import Vault, open_to_read
from helpers import KEY, make_ds, read, write

runner = CliRunner()
VAULT_KEY = b"vault-test-key-fedcba9876543210-fedcba"
PIPELINE = """\
name: vault-test
dicom:
  profile: basic
  overrides:
    - {keyword: PatientID, action: pseudonym}
    - {keyword: AccessionNumber, action: pseudonym}
records:
  languages: [en]
  free_text: false
pixels: {mode: "off"}
"""
PIDS = ("VLT-PID-4417", "VLT-PID-5528")
ACCESSIONS = ("VLT-ACC-0071", "VLT-ACC-0082")
ROOT = "1.2.826.0.1.3680043.10.999."          # synthetic UIDs under one test root
STUDIES = (ROOT + "1.1", ROOT + "2.1")


@pytest.fixture(autouse=True)
def _no_vault_key_env(monkeypatch):
    monkeypatch.delenv("DEID_VAULT_KEY", raising=False)


def _tree(root: Path) -> dict[str, Dataset]:
    """Patient A: one study, series 1 (2 images) and 2 (1 image, referencing the first);
    patient B: one image. Plus a CSV whose mrn column holds patient B's ID."""
    src = root / "in"
    files: dict[str, Dataset] = {}
    layout = [("a/s1/1.dcm", 0, "1.1.1", "1.1.1.1"), ("a/s1/2.dcm", 0, "1.1.1", "1.1.1.2"),
              ("a/s2/1.dcm", 0, "1.1.2", "1.1.2.1"), ("b/1.dcm", 1, "2.1.1", "2.1.1.1")]
    for rel, p, series, sop in layout:
        ds = make_ds(patient_id=PIDS[p], name=f"SYNTH^PATIENT{p}", study_uid=STUDIES[p], sop_uid=ROOT + sop,
                     SeriesInstanceUID=ROOT + series, AccessionNumber=ACCESSIONS[p])
        if rel == "a/s2/1.dcm":
            ref = Dataset()
            ref.ReferencedSOPClassUID = ds.SOPClassUID
            ref.ReferencedSOPInstanceUID = ROOT + "1.1.1.1"
            ds.ReferencedImageSequence = Sequence([ref])
        write(ds, src / rel)
        files[rel] = ds
    (src / "visits.csv").write_text(f"mrn,note\n{PIDS[1]},follow-up\n")
    (root / "pipe.yaml").write_text(PIPELINE)
    return files


def _run(root: Path, out: str, *extra: str, env: dict | None = None):
    args = ["run", str(root / "in"), "--out", str(root / out), "-q", "-p", str(root / "pipe.yaml"), *extra]
    return runner.invoke(app, args, env=env)


def _vault_run(root: Path, out: str = "out", vault: str = "vault.sqlite", *extra: str):
    res = _run(root, out, "--vault", str(root / vault), "--vault-key-file", str(root / "vault.key"), *extra)
    assert res.exit_code == 0, res.output
    return res


def _key_file(root: Path, key: bytes = VAULT_KEY) -> Path:
    (root / "vault.key").write_bytes(key + b"\n")
    return root / "vault.key"


def _rows(path: Path) -> list[tuple[str, str, str]]:
    with Vault(path, VAULT_KEY) as v:
        return sorted(v.rows())


def _one(v: Vault, kind: str, **side: str) -> str:
    found = v.lookup(kind=kind, **side)
    assert len(found) == 1, (kind, found)
    _k, orig, pseud = found[0]
    return pseud if "original" in side else orig


def test_vault_maps_every_input_value_to_the_output_and_back(tmp_path):
    files = _tree(tmp_path)
    res = _run(tmp_path, "out", "--vault", str(tmp_path / "vault.sqlite"), "--vault-key-file",
               str(tmp_path / "vault.key"), "--engine", "inline")
    assert res.exit_code == 0, res.output
    assert "new vault key" in res.output  # created, and said where
    for p in (tmp_path / "vault.key", tmp_path / "vault.sqlite"):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    with open_to_read(tmp_path / "vault.sqlite", tmp_path / "vault.key") as v:
        for rel, ds in files.items():
            o = read(tmp_path / "out" / rel)
            assert o.PatientID != ds.PatientID and o.SOPInstanceUID != ds.SOPInstanceUID
            assert _one(v, "patient-id", original=ds.PatientID) == o.PatientID
            assert _one(v, "patient-id", pseudonym=o.PatientID) == ds.PatientID
            assert _one(v, "accession", original=ds.AccessionNumber) == o.AccessionNumber
            for kw in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
                assert _one(v, "uid", original=ds[kw].value) == o[kw].value
                assert _one(v, "uid", pseudonym=o[kw].value) == ds[kw].value
        nested = read(tmp_path / "out" / "a/s2/1.dcm").ReferencedImageSequence[0].ReferencedSOPInstanceUID
        assert _one(v, "uid", pseudonym=nested) == ROOT + "1.1.1.1"  # a UID at depth 1
        csv_out = (tmp_path / "out" / "visits.csv").read_text()
        assert _one(v, "patient-id", original=PIDS[1]) in csv_out  # records share the DICOM pseudonym
        kinds = [k for k, _o, _p in v.rows()]
    input_uids = {u for ds in files.values() for u in (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)}
    assert kinds.count("patient-id") == 2 and kinds.count("accession") == 2
    assert kinds.count("uid") == len(input_uids)  # one row per distinct UID, however often it occurs
    # the CLI round trip: original -> pseudonym -> original
    o = read(tmp_path / "out" / "b/1.dcm")
    key = ["--vault-key-file", str(tmp_path / "vault.key")]
    fwd = runner.invoke(app, ["vault", "lookup", str(tmp_path / "vault.sqlite"), *key, "--original", PIDS[1]])
    assert fwd.exit_code == 0 and fwd.stdout.strip() == o.PatientID
    back = runner.invoke(app, ["vault", "lookup", str(tmp_path / "vault.sqlite"), *key, "--pseudonym",
                               o.SOPInstanceUID, "--kind", "uid"])
    assert back.exit_code == 0 and back.stdout.strip() == ROOT + "2.1.1.1"
    miss = runner.invoke(app, ["vault", "lookup", str(tmp_path / "vault.sqlite"), *key, "--original", "VLT-NONE"])
    assert miss.exit_code == 1 and miss.stdout == ""
    # the same key, read from DEID_VAULT_KEY instead of a file
    env = runner.invoke(app, ["vault", "lookup", str(tmp_path / "vault.sqlite"), "--original", PIDS[0]],
                        env={"DEID_VAULT_KEY": (tmp_path / "vault.key").read_text().strip()})
    assert env.exit_code == 0 and env.stdout.strip() == read(tmp_path / "out" / "a/s1/1.dcm").PatientID


def test_wrong_key_reads_nothing_and_the_file_holds_no_value(tmp_path):
    files = _tree(tmp_path)
    _key_file(tmp_path)
    _vault_run(tmp_path)
    outs = [read(tmp_path / "out" / rel) for rel in files]
    values = {*PIDS, *ACCESSIONS} | {str(ds[kw].value) for ds in [*files.values(), *outs]
                                     for kw in ("PatientID", "AccessionNumber", "StudyInstanceUID",
                                                "SeriesInstanceUID", "SOPInstanceUID")}
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("vault.sqlite*"))
    assert raw and not [v for v in values if v.encode() in raw]
    (tmp_path / "other.key").write_bytes(b"some-other-vault-key-0123456789abcdef\n")
    wrong = ["--vault-key-file", str(tmp_path / "other.key")]
    for args in (["lookup", "--original", PIDS[0]], ["lookup", "--pseudonym", outs[0].PatientID],
                 ["export", "--format", "midi-b", "--out", str(tmp_path / "exp")]):
        res = runner.invoke(app, ["vault", args[0], str(tmp_path / "vault.sqlite"), *wrong, *args[1:]])
        assert res.exit_code == 2
        assert "the vault key does not open this vault" in res.output
        assert not [v for v in values if v in res.output]
    assert not (tmp_path / "exp").exists()
    # a run with a wrong key refuses to add to the vault
    res = _run(tmp_path, "out2", "--vault", str(tmp_path / "vault.sqlite"), *wrong)
    assert res.exit_code == 2 and "does not open this vault" in res.output and not (tmp_path / "out2").exists()


def test_an_altered_row_fails_its_integrity_check(tmp_path):
    _tree(tmp_path)
    _key_file(tmp_path)
    _vault_run(tmp_path)
    db = sqlite3.connect(tmp_path / "vault.sqlite")
    for ix, box in db.execute("SELECT ix, box FROM mappings WHERE kind='patient-id'").fetchall():
        db.execute("UPDATE mappings SET box=? WHERE ix=?", (box[:20] + bytes([box[20] ^ 1]) + box[21:], ix))
    db.commit()
    db.close()
    res = runner.invoke(app, ["vault", "lookup", str(tmp_path / "vault.sqlite"), "--vault-key-file",
                              str(tmp_path / "vault.key"), "--original", PIDS[0]])
    assert res.exit_code == 2 and "integrity" in res.output and PIDS[0] not in res.output


def test_refused_without_a_separate_vault_key(tmp_path):
    _tree(tmp_path)
    vault = ["--vault", str(tmp_path / "vault.sqlite")]
    (tmp_path / "same.key").write_bytes(KEY + b"\n")  # the pseudonym key (DEID_KEY in tests)
    cases = [(vault + ["--vault-key-file", str(tmp_path / "same.key")], None, "is the pseudonym key"),
             (vault, {"DEID_VAULT_KEY": KEY.decode()}, "is the pseudonym key"),
             (vault, None, "no vault key"),
             (["--vault-key-file", str(tmp_path / "v.key")], None, "needs --vault"),
             (vault + ["--vault-key-file", str(tmp_path / "v.key"), "--dry-run"], None, "dry run")]
    for args, env, message in cases:
        res = _run(tmp_path, "out", *args, env=env)
        assert res.exit_code == 2, (args, res.output)
        assert message in res.output
    assert not (tmp_path / "vault.sqlite").exists() and not (tmp_path / "out").exists()
    res = _run(tmp_path, "out", "--vault", str(tmp_path / "out" / "v.sqlite"), "--vault-key-file",
               str(tmp_path / "v.key"))
    assert res.exit_code == 2 and "must not be inside --out" in res.output


def test_nothing_is_collected_without_the_vault(tmp_path):
    files = _tree(tmp_path)
    pipe = load_pipeline(tmp_path / "pipe.yaml")
    item = Item(str(tmp_path / "in" / "b/1.dcm"), "b/1.dcm")
    off = DicomHandler().process(item, Context(pipe, Pseudonymizer(KEY)))
    on = DicomHandler().process(item, Context(pipe, Pseudonymizer(KEY), collect_mappings=True))
    assert off.status == on.status == "ok" and off.data == on.data
    assert off.mappings == []
    assert ("patient-id", PIDS[1], read(on.data).PatientID) in on.mappings
    assert ("uid", files["b/1.dcm"].SOPInstanceUID, read(on.data).SOPInstanceUID) in on.mappings
    res = _run(tmp_path, "out", "--engine", "inline")
    assert res.exit_code == 0, res.output
    assert "vault:" not in res.output and not [p for p in tmp_path.rglob("*.sqlite*") if "audit" not in p.name]


def test_outputs_not_written_leave_nothing_in_the_vault(tmp_path, monkeypatch):
    """Only a written output's mappings are kept: its pseudonyms exist nowhere else."""
    import deid.engine.runner as runner_mod
    from deid.audit.log import AuditLog
    from deid.engine.discover import discover
    from deid.engine.runner import Job, run

    _tree(tmp_path)

    def fail(_path, _data):
        raise OSError("disk full")

    monkeypatch.setattr(runner_mod, "atomic_write", fail)
    got: list = []
    job = Job(Context(load_pipeline(tmp_path / "pipe.yaml"), Pseudonymizer(KEY), collect_mappings=True),
              tmp_path / "out", tmp_path / "q")
    log = AuditLog(tmp_path / "a.sqlite")
    log.start_run("t", "h", {}, "kid")
    s = run(discover([tmp_path / "in"]), job, log, mappings=got.extend)
    log.close()
    assert s.quarantined == 5 and got == []


def test_pool_gives_the_same_vault_as_inline(tmp_path):
    _tree(tmp_path)
    _key_file(tmp_path)
    _vault_run(tmp_path, "o1", "v1.sqlite", "--engine", "inline")
    _vault_run(tmp_path, "o2", "v2.sqlite", "--engine", "local", "--workers", "2")
    rows = _rows(tmp_path / "v1.sqlite")
    assert len(rows) > 10 and rows == _rows(tmp_path / "v2.sqlite")


@pytest.mark.slow
def test_dask_gives_the_same_vault_as_inline(tmp_path):
    pytest.importorskip("dask.distributed")
    _tree(tmp_path)
    _key_file(tmp_path)
    _vault_run(tmp_path, "o1", "v1.sqlite", "--engine", "inline")
    _vault_run(tmp_path, "o3", "v3.sqlite", "--engine", "dask", "--workers", "2")
    assert _rows(tmp_path / "v1.sqlite") == _rows(tmp_path / "v3.sqlite")


def test_midi_b_export_matches_the_outputs(tmp_path):
    files = _tree(tmp_path)
    _key_file(tmp_path)
    _vault_run(tmp_path)
    _vault_run(tmp_path, "out-again")  # the same mappings again: still one row each
    exp = tmp_path / "exp"
    res = runner.invoke(app, ["vault", "export", str(tmp_path / "vault.sqlite"), "--vault-key-file",
                              str(tmp_path / "vault.key"), "--format", "midi-b", "--out", str(exp)])
    assert res.exit_code == 0, res.output
    maps = {}
    for name in ("uid_mapping.csv", "patid_mapping.csv"):
        path = exp / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text().splitlines()[0] == "id_old,id_new"
        rows = list(csv.DictReader(path.open(newline="")))
        olds = [r["id_old"] for r in rows]
        assert len(olds) == len(set(olds))
        maps[name] = {r["id_old"]: r["id_new"] for r in rows}
    uids, pats = maps["uid_mapping.csv"], maps["patid_mapping.csv"]
    assert set(pats) == set(PIDS)
    assert len(uids) == len({u for ds in files.values()
                             for u in (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)})
    for rel, ds in files.items():
        o = read(tmp_path / "out" / rel)
        assert uids[ds.SOPInstanceUID] == o.SOPInstanceUID and uids[ds.StudyInstanceUID] == o.StudyInstanceUID
        assert pats[ds.PatientID] == o.PatientID
    assert not [p for p in exp.iterdir() if p.name.endswith(".part")]
    res = runner.invoke(app, ["vault", "export", str(tmp_path / "vault.sqlite"), "--vault-key-file",
                              str(tmp_path / "vault.key"), "--format", "csv", "--out", str(exp)])
    assert res.exit_code == 0, res.output
    lines = (exp / "vault_mapping.csv").read_text().splitlines()
    assert lines[0] == "kind,id_old,id_new" and len(lines) - 1 == len(uids) + len(pats) + len(ACCESSIONS)
    assert os.path.getsize(exp / "uid_mapping.csv") > 0
