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

import deid.vault as vault_mod
from deid.cli import app
from deid.core import Context, Item
from deid.dicom.handler import DicomHandler
from deid.errors import VaultError
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
ROOT = "1.2.826.0.1.3680043.10.999."  # synthetic UIDs under one test root
STUDIES = (ROOT + "1.1", ROOT + "2.1")


@pytest.fixture(autouse=True)
def _no_vault_key_env(monkeypatch):
    monkeypatch.delenv("DEID_VAULT_KEY", raising=False)


def _tree(root: Path) -> dict[str, Dataset]:
    """Patient A: one study, series 1 (2 images) and 2 (1 image, referencing the first);
    patient B: one image. Plus a CSV whose mrn column holds patient B's ID."""
    src = root / "in"
    files: dict[str, Dataset] = {}
    layout = [
        ("a/s1/1.dcm", 0, "1.1.1", "1.1.1.1"),
        ("a/s1/2.dcm", 0, "1.1.1", "1.1.1.2"),
        ("a/s2/1.dcm", 0, "1.1.2", "1.1.2.1"),
        ("b/1.dcm", 1, "2.1.1", "2.1.1.1"),
    ]
    for rel, p, series, sop in layout:
        ds = make_ds(
            patient_id=PIDS[p],
            name=f"SYNTH^PATIENT{p}",
            study_uid=STUDIES[p],
            sop_uid=ROOT + sop,
            SeriesInstanceUID=ROOT + series,
            AccessionNumber=ACCESSIONS[p],
        )
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
    return _private(root / "vault.key", key + b"\n")


def _private(path: Path, data: bytes) -> Path:
    """A key file as deid accepts it: readable by its owner only."""
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def _rows(path: Path) -> list[tuple[str, str, str]]:
    with Vault(path, VAULT_KEY) as v:
        return sorted(v.rows())


def _one(v: Vault, kind: str, **side: str) -> str:
    found = v.lookup(kind=kind, **side)
    assert len(found) == 1, (kind, found)
    _k, orig, pseud = found[0]
    return pseud if "original" in side else orig


def _vault(tmp_path) -> list[str]:
    """--vault and --vault-key-file beside the run's folders."""
    return ["--vault", str(tmp_path / "vault.sqlite"), "--vault-key-file", str(tmp_path / "vault.key")]


def test_vault_maps_every_input_value_to_the_output_and_back(tmp_path):
    files = _tree(tmp_path)
    res = _run(
        tmp_path,
        "out",
        *_vault(tmp_path),
        "--engine",
        "inline",
    )
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
    back = runner.invoke(
        app, ["vault", "lookup", str(tmp_path / "vault.sqlite"), *key, "--pseudonym", o.SOPInstanceUID, "--kind", "uid"]
    )
    assert back.exit_code == 0 and back.stdout.strip() == ROOT + "2.1.1.1"
    miss = runner.invoke(app, ["vault", "lookup", str(tmp_path / "vault.sqlite"), *key, "--original", "VLT-NONE"])
    assert miss.exit_code == 1 and miss.stdout == ""
    # the same key, read from DEID_VAULT_KEY instead of a file
    env = runner.invoke(
        app,
        ["vault", "lookup", str(tmp_path / "vault.sqlite"), "--original", PIDS[0]],
        env={"DEID_VAULT_KEY": (tmp_path / "vault.key").read_text().strip()},
    )
    assert env.exit_code == 0 and env.stdout.strip() == read(tmp_path / "out" / "a/s1/1.dcm").PatientID


def test_wrong_key_reads_nothing_and_the_file_holds_no_value(tmp_path):
    files = _tree(tmp_path)
    _key_file(tmp_path)
    _vault_run(tmp_path)
    outs = [read(tmp_path / "out" / rel) for rel in files]
    values = {*PIDS, *ACCESSIONS} | {
        str(ds[kw].value)
        for ds in [*files.values(), *outs]
        for kw in ("PatientID", "AccessionNumber", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
    }
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("vault.sqlite*"))
    assert raw and not [v for v in values if v.encode() in raw]
    _private(tmp_path / "other.key", b"some-other-vault-key-0123456789abcdef\n")
    wrong = ["--vault-key-file", str(tmp_path / "other.key")]
    for args in (
        ["lookup", "--original", PIDS[0]],
        ["lookup", "--pseudonym", outs[0].PatientID],
        ["export", "--format", "midi-b", "--out", str(tmp_path / "exp")],
    ):
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
    res = runner.invoke(
        app,
        [
            "vault",
            "lookup",
            str(tmp_path / "vault.sqlite"),
            "--vault-key-file",
            str(tmp_path / "vault.key"),
            "--original",
            PIDS[0],
        ],
    )
    assert res.exit_code == 2 and "integrity" in res.output and PIDS[0] not in res.output


def test_refused_without_a_separate_vault_key(tmp_path):
    _tree(tmp_path)
    vault = ["--vault", str(tmp_path / "vault.sqlite")]
    _private(tmp_path / "same.key", KEY + b"\n")  # the pseudonym key (DEID_KEY in tests)
    cases = [
        (vault + ["--vault-key-file", str(tmp_path / "same.key")], None, "is the pseudonym key"),
        (vault, {"DEID_VAULT_KEY": KEY.decode()}, "is the pseudonym key"),
        (vault, None, "no vault key"),
        (["--vault-key-file", str(tmp_path / "v.key")], None, "needs --vault"),
        (vault + ["--vault-key-file", str(tmp_path / "v.key"), "--dry-run"], None, "dry run"),
    ]
    for args, env, message in cases:
        res = _run(tmp_path, "out", *args, env=env)
        assert res.exit_code == 2, (args, res.output)
        assert message in res.output
    assert not (tmp_path / "vault.sqlite").exists() and not (tmp_path / "out").exists()
    res = _run(
        tmp_path, "out", "--vault", str(tmp_path / "out" / "v.sqlite"), "--vault-key-file", str(tmp_path / "v.key")
    )
    assert res.exit_code == 2 and "must not be inside --out" in res.output
    # nor inside the quarantine beside it (the sink's folders, not only --out)
    q = str(tmp_path / "out.quarantine" / "v.sqlite")
    res = _run(tmp_path, "out", "--vault", q, "--vault-key-file", str(tmp_path / "v.key"))
    assert res.exit_code == 2 and "must not be inside --out, its quarantine or --preview" in res.output


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
    import deid.engine.sinks.folder as folder_sink
    from deid.audit.log import AuditLog
    from deid.engine.discover import discover
    from deid.engine.job import Job
    from deid.engine.runner import run
    from deid.engine.sinks import FolderSink

    _tree(tmp_path)

    def fail(_path, _data):
        raise OSError("disk full")

    monkeypatch.setattr(folder_sink, "atomic_write", fail)
    got: list = []
    job = Job(
        Context(load_pipeline(tmp_path / "pipe.yaml"), Pseudonymizer(KEY), collect_mappings=True),
        FolderSink(tmp_path / "out", tmp_path / "q"),
    )
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
    res = runner.invoke(
        app,
        [
            "vault",
            "export",
            str(tmp_path / "vault.sqlite"),
            "--vault-key-file",
            str(tmp_path / "vault.key"),
            "--format",
            "midi-b",
            "--out",
            str(exp),
        ],
    )
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
    assert len(uids) == len(
        {u for ds in files.values() for u in (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)}
    )
    for rel, ds in files.items():
        o = read(tmp_path / "out" / rel)
        assert uids[ds.SOPInstanceUID] == o.SOPInstanceUID and uids[ds.StudyInstanceUID] == o.StudyInstanceUID
        assert pats[ds.PatientID] == o.PatientID
    assert not [p for p in exp.iterdir() if p.name.endswith(".part")]
    res = runner.invoke(
        app,
        [
            "vault",
            "export",
            str(tmp_path / "vault.sqlite"),
            "--vault-key-file",
            str(tmp_path / "vault.key"),
            "--format",
            "csv",
            "--out",
            str(exp),
        ],
    )
    assert res.exit_code == 0, res.output
    lines = (exp / "vault_mapping.csv").read_text().splitlines()
    assert lines[0] == "kind,id_old,id_new" and len(lines) - 1 == len(uids) + len(pats) + len(ACCESSIONS)
    assert os.path.getsize(exp / "uid_mapping.csv") > 0


# -- integrity, identity, locking, resume, safety -------------------------------------------------
def _lookup(root: Path, *args: str, vault: str = "vault.sqlite", **kw):
    return runner.invoke(
        app, ["vault", "lookup", str(root / vault), "--vault-key-file", str(root / "vault.key"), *args], **kw
    )


def _said(res) -> str:
    """What a command printed, with rich's line wrapping undone."""
    return " ".join(res.output.split())


def _pids(root: Path) -> dict[str, str]:
    """Output PatientID of each synthetic patient."""
    return {PIDS[0]: read(root / "out" / "a/s1/1.dcm").PatientID, PIDS[1]: read(root / "out" / "b/1.dcm").PatientID}


def test_a_swapped_reverse_index_fails_the_integrity_check(tmp_path):
    _tree(tmp_path)
    _key_file(tmp_path)
    _vault_run(tmp_path, "out", "vault.sqlite", "--engine", "inline")
    out_pid = _pids(tmp_path)
    db = sqlite3.connect(tmp_path / "vault.sqlite")
    (ix_a, rix_a), (ix_b, rix_b) = db.execute("SELECT ix, rix FROM mappings WHERE kind='patient-id'").fetchall()
    db.execute("UPDATE mappings SET rix=? WHERE ix=?", (rix_b, ix_a))
    db.execute("UPDATE mappings SET rix=? WHERE ix=?", (rix_a, ix_b))
    db.commit()
    db.close()
    for pseud in out_pid.values():  # never the other patient's original
        res = _lookup(tmp_path, "--pseudonym", pseud)
        assert res.exit_code == 2 and "integrity" in _said(res), res.output
        assert not [p for p in PIDS if p in _said(res)]
    # a row that opens but holds another value than the one asked for (forged by a key holder)
    with Vault(tmp_path / "v2.sqlite", VAULT_KEY, pseudonym_key_id="kid") as v:
        v.add([("patient-id", PIDS[0], "P-REAL")])
        rid, ix, rix = v.keys.row_id("patient-id", "VLT-OTHER", "P-X"), v.keys.ix("patient-id", PIDS[0]), b"r" * 32
        ad = vault_mod._ad("patient-id", rid, ix, rix)
        box = b"n" * 12 + v.keys.enc.encrypt(b"n" * 12, b'["VLT-OTHER", "P-X"]', ad)
        v.db.execute("INSERT INTO mappings VALUES (?,?,?,?,?)", (rid, ix, rix, "patient-id", box))
    with Vault(tmp_path / "v2.sqlite", VAULT_KEY) as v, pytest.raises(VaultError, match="integrity"):
        v.lookup(original=PIDS[0])


def test_one_original_with_two_pseudonyms_keeps_both(tmp_path):
    _tree(tmp_path)
    _key_file(tmp_path)
    (tmp_path / "pipe.yaml").write_text(
        PIPELINE.replace("{keyword: PatientID, action: pseudonym}", "{keyword: PatientID, action: hash}")
    )
    _vault_run(tmp_path, "out", "vault.sqlite", "--engine", "inline")
    hashed = read(tmp_path / "out" / "b/1.dcm").PatientID
    in_record = (tmp_path / "out" / "visits.csv").read_text().splitlines()[1].split(",")[0]
    assert hashed.startswith("H-") and in_record.startswith("P-")
    with Vault(tmp_path / "vault.sqlite", VAULT_KEY) as v:
        assert {p for _k, _o, p in v.lookup(original=PIDS[1], kind="patient-id")} == {hashed, in_record}
        assert [o for _k, o, _p in v.lookup(pseudonym=hashed)] == [PIDS[1]]
        assert [o for _k, o, _p in v.lookup(pseudonym=in_record)] == [PIDS[1]]
        count = len(list(v.rows()))
    res = _lookup(tmp_path, "--original", PIDS[1], "--kind", "patient-id")
    assert res.exit_code == 0 and set(res.stdout.split()) == {hashed, in_record}
    _vault_run(tmp_path, "out-again", "vault.sqlite", "--engine", "inline")
    assert len(_rows(tmp_path / "vault.sqlite")) == count  # the same triples again: no new row


def test_a_run_under_another_pseudonym_key_is_refused(tmp_path):
    _tree(tmp_path)
    _key_file(tmp_path)
    _vault_run(tmp_path, "out", "vault.sqlite", "--engine", "inline")
    db = sqlite3.connect(tmp_path / "vault.sqlite")
    assert db.execute("SELECT value FROM meta WHERE name='pseudonym-key'").fetchone()[0] == Pseudonymizer(KEY).key_id
    db.close()
    _private(tmp_path / "other.key", b"another-pseudonym-key-0123456789abcdef\n")
    res = _run(
        tmp_path,
        "out2",
        "--key-file",
        str(tmp_path / "other.key"),
        *_vault(tmp_path),
    )
    assert res.exit_code == 2 and "belongs to another pseudonym key; use a new vault" in _said(res)
    assert not (tmp_path / "out2").exists()


class _FullDisk:
    """A vault connection whose n-th write fails, as on a full disk."""

    def __init__(self, db: sqlite3.Connection, writes: int):
        self._db, self._left = db, writes

    def __getattr__(self, name):
        return getattr(self._db, name)

    def executemany(self, *args):
        self._left -= 1
        if self._left < 0:
            raise sqlite3.OperationalError("database or disk is full")
        return self._db.executemany(*args)


def test_a_vault_write_failure_stops_the_run_and_the_resumed_run_completes_the_vault(tmp_path, monkeypatch):
    _tree(tmp_path)
    _key_file(tmp_path)
    _vault_run(tmp_path, "ref", "ref.sqlite", "--engine", "inline")
    real = vault_mod.open_for_run

    def failing(*args, **kw):
        v, where = real(*args, **kw)
        v.db = _FullDisk(v.db, 2)
        return v, where

    monkeypatch.setattr(vault_mod, "open_for_run", failing)
    res = _run(
        tmp_path,
        "out",
        *_vault(tmp_path),
        "--engine",
        "inline",
    )
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit), res.output
    assert "cannot store mappings" in _said(res) and "disk is full" in _said(res) and "redoes them" in _said(res)
    assert not [p for p in PIDS if p in _said(res)]
    monkeypatch.setattr(vault_mod, "open_for_run", real)
    again = _vault_run(tmp_path, "out", "vault.sqlite", "--engine", "inline")
    assert "resuming an interrupted run" in _said(again)  # what was not stored was not done
    assert _rows(tmp_path / "vault.sqlite") == _rows(tmp_path / "ref.sqlite")


def test_a_vault_in_use_is_refused_before_any_input_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(Vault, "BUSY_SECONDS", 0.05, raising=False)
    _tree(tmp_path)
    _key_file(tmp_path)
    _vault_run(tmp_path, "out", "vault.sqlite", "--engine", "inline")
    args = (
        *_vault(tmp_path),
        "--engine",
        "inline",
    )
    other = sqlite3.connect(tmp_path / "vault.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # any other writer
    res = _run(tmp_path, "out2", *args)
    other.execute("ROLLBACK")
    other.close()
    assert res.exit_code == 2 and "is in use" in _said(res) and isinstance(res.exception, SystemExit)
    assert not (tmp_path / "out2").exists()
    with vault_mod.open_for_run(tmp_path / "vault.sqlite", tmp_path / "vault.key", KEY, tmp_path / "x")[0]:
        res = _run(tmp_path, "out3", *args)  # a second run while one holds the vault
        assert res.exit_code == 2 and "is in use" in _said(res) and not (tmp_path / "out3").exists()
        res = _lookup(tmp_path, "--original", PIDS[0])
        assert res.exit_code == 2 and "is in use" in _said(res) and "not a deid vault" not in _said(res)
    assert _lookup(tmp_path, "--original", PIDS[0]).exit_code == 0  # released on close


def test_resume_starts_over_when_the_vault_changes(tmp_path):
    _tree(tmp_path)
    _key_file(tmp_path)
    _vault_run(tmp_path, "ref", "ref.sqlite", "--engine", "inline")

    def interrupt_last_run(out: str) -> None:
        db = sqlite3.connect(tmp_path / f"{out}.audit.sqlite")
        db.execute("UPDATE runs SET finished=NULL WHERE started=(SELECT max(started) FROM runs)")
        db.commit()
        db.close()

    def resumed(res) -> bool:
        return "resuming an interrupted run" in _said(res)

    assert _run(tmp_path, "o1", "--engine", "inline").exit_code == 0  # no vault, interrupted
    interrupt_last_run("o1")
    assert not resumed(_vault_run(tmp_path, "o1", "v1.sqlite", "--engine", "inline"))  # started over
    assert _rows(tmp_path / "v1.sqlite") == _rows(tmp_path / "ref.sqlite")  # every input's mappings
    _vault_run(tmp_path, "o2", "v2.sqlite", "--engine", "inline")  # with a vault, interrupted
    interrupt_last_run("o2")
    assert not resumed(_run(tmp_path, "o2", "--engine", "inline"))
    assert not resumed(_vault_run(tmp_path, "o2", "other.sqlite", "--engine", "inline"))
    assert resumed(_vault_run(tmp_path, "o2", "v2.sqlite", "--engine", "inline"))  # the same vault: resumes


def test_the_vault_has_no_wal_and_reads_from_a_read_only_folder(tmp_path):
    _tree(tmp_path)
    _key_file(tmp_path)
    _vault_run(tmp_path, "out", "broker/vault.sqlite", "--engine", "inline")
    broker = tmp_path / "broker"
    assert (broker / "vault.sqlite").read_bytes()[18:20] == b"\x01\x01"  # rollback journal, not WAL
    assert [p.name for p in broker.iterdir()] == ["vault.sqlite"]
    broker.chmod(0o555)
    try:
        res = _lookup(tmp_path, "--original", PIDS[0], vault="broker/vault.sqlite")
    finally:
        broker.chmod(0o755)
    assert res.exit_code == 0 and res.stdout.strip() == _pids(tmp_path)[PIDS[0]], res.output
    (tmp_path / "garbage.sqlite").write_bytes(b"not a database at all" * 100)
    plain = sqlite3.connect(tmp_path / "plain.sqlite")
    plain.execute("CREATE TABLE t (x)")
    plain.commit()
    plain.close()
    for name in ("garbage.sqlite", "plain.sqlite"):
        res = _lookup(tmp_path, "--original", PIDS[0], vault=name)
        assert res.exit_code == 2 and "is not a deid vault" in _said(res)


def test_export_to_an_unusable_folder_is_an_error(tmp_path):
    _tree(tmp_path)
    _key_file(tmp_path)
    _vault_run(tmp_path, "out", "vault.sqlite", "--engine", "inline")
    (tmp_path / "a-file").write_text("x")
    res = runner.invoke(
        app,
        [
            "vault",
            "export",
            str(tmp_path / "vault.sqlite"),
            "--vault-key-file",
            str(tmp_path / "vault.key"),
            "--out",
            str(tmp_path / "a-file"),
        ],
    )
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit) and "cannot write" in _said(res)


def test_a_vault_or_key_inside_an_input_is_refused(tmp_path):
    _tree(tmp_path)
    _key_file(tmp_path)
    cases = [("in/vault.sqlite", "vault.key"), ("vault.sqlite", "in/new.key"), ("in/visits.csv", "vault.key")]
    for vault, key in cases:
        res = _run(tmp_path, "out", "--vault", str(tmp_path / vault), "--vault-key-file", str(tmp_path / key))
        assert res.exit_code == 2 and "must not be inside an input" in _said(res), (vault, key, res.output)
    assert not (tmp_path / "in/vault.sqlite").exists() and not (tmp_path / "in/new.key").exists()
    assert not (tmp_path / "vault.sqlite").exists() and not (tmp_path / "out").exists()


def test_lookup_reads_the_value_from_stdin(tmp_path):
    _tree(tmp_path)
    _key_file(tmp_path)
    _vault_run(tmp_path, "out", "vault.sqlite", "--engine", "inline")
    pseud = _pids(tmp_path)[PIDS[0]]
    fwd = _lookup(tmp_path, "--original", "-", input=PIDS[0] + "\n")
    assert fwd.exit_code == 0 and fwd.stdout.strip() == pseud
    back = _lookup(tmp_path, "--pseudonym", "-", "--kind", "patient-id", input=pseud + "\n")
    assert back.exit_code == 0 and back.stdout.strip() == PIDS[0]
    assert _lookup(tmp_path, "--original", "-", input="").exit_code == 2


def test_failed_opens_leave_no_key_no_file_and_no_connection(tmp_path, monkeypatch):
    _tree(tmp_path)
    (tmp_path / "a-dir.sqlite").mkdir()
    (tmp_path / "a-file").write_text("x")
    for vault in ("a-dir.sqlite", "a-file/vault.sqlite"):
        res = _run(tmp_path, "out", "--vault", str(tmp_path / vault), "--vault-key-file", str(tmp_path / "new.key"))
        assert res.exit_code == 2 and isinstance(res.exception, SystemExit), (vault, res.output)
        assert not (tmp_path / "new.key").exists() and not (tmp_path / "out").exists()
    # an empty file there before: deid makes it the vault, mode 0600
    (tmp_path / "empty.sqlite").touch(mode=0o644)
    (tmp_path / "empty.sqlite").chmod(0o644)
    _key_file(tmp_path)
    _vault_run(tmp_path, "out", "empty.sqlite", "--engine", "inline")
    assert stat.S_IMODE((tmp_path / "empty.sqlite").stat().st_mode) == 0o600
    plain = sqlite3.connect(tmp_path / "plain.sqlite")
    plain.execute("CREATE TABLE t (x)")
    plain.commit()
    plain.close()
    opened: list[sqlite3.Connection] = []
    connect = sqlite3.connect

    def recording(*args, **kw):
        opened.append(connect(*args, **kw))
        return opened[-1]

    monkeypatch.setattr(vault_mod.sqlite3, "connect", recording)
    for path, key in (("plain.sqlite", VAULT_KEY), ("empty.sqlite", b"a-wrong-vault-key-0123456789abcdef")):
        for writer in (None, "kid"):
            with pytest.raises(VaultError):
                Vault(tmp_path / path, key, pseudonym_key_id=writer)
    assert len(opened) == 4
    for conn in opened:
        with pytest.raises(sqlite3.ProgrammingError):  # closed
            conn.execute("SELECT 1")


def test_a_run_that_loses_the_race_for_a_new_vault_leaves_the_winners_vault_and_key(tmp_path, monkeypatch):
    """Run A makes the empty file; run B takes the lock and builds the vault under the same
    new key file; A gives up. A must not delete B's vault nor the key it is encrypted under."""
    path, key = tmp_path / "v.sqlite", tmp_path / "v.key"
    monkeypatch.setattr(Vault, "BUSY_SECONDS", 0.2)
    winner: list[Vault] = []
    made = Vault._create_file

    def create_then_lose(self):
        mine = made(self)
        if not winner:  # A only: B, opening in between with the same new key file, wins the lock
            winner.append(None)
            winner[0] = vault_mod.open_for_run(path, key, KEY, tmp_path / "out-b")[0]
        return mine

    monkeypatch.setattr(Vault, "_create_file", create_then_lose)
    with pytest.raises(VaultError):
        vault_mod.open_for_run(path, key, KEY, tmp_path / "out-a")  # A
    monkeypatch.setattr(Vault, "_create_file", made)
    [b] = winner
    b.add([("patient-id", "SYN-0001", "P-0000000000AA")])
    b.close()
    assert path.is_file() and key.is_file()
    with open_to_read(path, key) as v:
        assert [m[2] for m in v.lookup(original="SYN-0001")] == ["P-0000000000AA"]


def test_the_vault_cannot_be_the_audit_log(tmp_path):
    _tree(tmp_path)
    key = _key_file(tmp_path)
    res = _run(
        tmp_path,
        "out",
        "--audit",
        str(tmp_path / "x.sqlite"),
        "--vault",
        str(tmp_path / "x.sqlite"),
        "--vault-key-file",
        str(key),
    )
    assert res.exit_code == 2 and "its own file" in res.output
    assert not (tmp_path / "out").exists()


def _killed_mid_batch(path: Path, key: Path, ready) -> None:  # in a forked child
    v, _ = vault_mod.open_for_run(path, key, KEY, path.parent / "out")
    v.add([("patient-id", "SYN-0001", "P-0000000000AA")])
    v.commit()
    v.add([("uid", f"1.2.{i}", f"2.25.{i}") for i in range(20000)])  # spills: a hot journal on disk
    ready.set()
    import time

    time.sleep(60)


def test_lookup_after_a_killed_run_rolls_its_unfinished_write_back(tmp_path):
    import multiprocessing
    import signal

    path, key = tmp_path / "v.sqlite", tmp_path / "v.key"
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    child = ctx.Process(target=_killed_mid_batch, args=(path, key, ready))
    child.start()
    assert ready.wait(60)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    if not Path(f"{path}-journal").exists():
        pytest.skip("SQLite kept the batch in memory: no hot journal to roll back")
    with open_to_read(path, key) as r:
        assert [m[2] for m in r.lookup(original="SYN-0001")] == ["P-0000000000AA"]
        assert r.lookup(original="1.2.5", kind="uid") == []  # the unfinished batch is undone
    assert not Path(f"{path}-journal").exists()
