"""`deid serve` with real peers on loopback: DCMTK's echoscu/storescu send, Orthanc receives.

What Orthanc holds is what `deid run` writes for the same inputs (identical data sets:
Orthanc re-encodes sequences with explicit lengths and writes its own file meta), nothing
identifying reaches it (`deid check` on what is downloaded back), unknown callers are
rejected at association, two senders of one study get one de-identified study, and a
destination that is down holds instances in the spool until it is back."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
import sys
import time

import pydicom
from pydicom.filereader import _read_file_meta_info
from typer.testing import CliRunner

from deid.cli import app
from dicom_peers import (
    ECHOSCU,
    LOOPBACK,
    dcmtk_env,
    env,
    free_port,
    make_study_files,
    needs_dcmtk,
    needs_orthanc,
    serve,
    start_orthanc,
    storescu,
    wait_for,
)

pytestmark = [needs_orthanc, needs_dcmtk]
PIPE = "dicom-research"


def body(data: bytes) -> bytes:
    """A Part 10 file's data set, after its file meta."""
    f = io.BytesIO(data)
    f.seek(132)
    _read_file_meta_info(f)
    return data[f.tell() :]


def _dataset(data: bytes) -> pydicom.Dataset:
    ds = pydicom.dcmread(io.BytesIO(data))
    del ds.file_meta  # Orthanc writes its own
    return ds


def sop(data: bytes) -> str:
    return str(pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).SOPInstanceUID)


def association_rows(audit) -> list[tuple[str, str]]:
    db = sqlite3.connect(audit)
    try:
        return db.execute("SELECT action, detail FROM events WHERE location='<association>'").fetchall()
    finally:
        db.close()


def test_orthanc_holds_what_deid_run_writes_and_nothing_identifying(tmp_path):
    o = start_orthanc(tmp_path / "orthanc", {"DEID": None})
    files = make_study_files(tmp_path / "in", 12, patients=3)
    s = serve(tmp_path, "--ae-title", "DEID", "--forward", o.peer, "--pipeline", PIPE, "--allow-ae", "MODALITY")
    try:
        echo = subprocess.run([ECHOSCU, "-aet", "MODALITY", "-aec", "DEID", LOOPBACK, str(s.port)], capture_output=True)
        assert echo.returncode == 0, echo.stderr
        storescu(s.port, tmp_path / "in")
        wait_for(lambda: len(o.instances()) == 12, what="12 instances in Orthanc")
        assert s.stop() == 0, s.output()  # SIGTERM: drained, exit 0
    finally:
        o.stop() if s.proc.poll() is not None else (s.proc.kill(), o.stop())
    o = start_orthanc(tmp_path / "orthanc", {"DEID": None})  # the same storage, read back
    try:
        got = {sop(p.read_bytes()): p.read_bytes() for p in o.download(tmp_path / "back")}
    finally:
        o.stop()
    # the same inputs through `deid run` to a folder
    res = CliRunner().invoke(app, ["run", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "-p", PIPE, "-q"])
    assert res.exit_code == 0, res.output
    ran = {sop(p.read_bytes()): p.read_bytes() for p in (tmp_path / "out").rglob("*.dcm")}
    assert len(ran) == 12 and set(got) == set(ran)
    for uid, data in ran.items():
        # Orthanc (DCMTK) stores sequences with explicit lengths, so the bytes differ there;
        # the data sets are identical (test_sinks.py: the bytes on the wire are deid's)
        assert _dataset(got[uid]) == _dataset(data)
    # nothing identifying reached Orthanc: deid's own check on what came back
    chk = CliRunner().invoke(app, ["check", str(tmp_path / "back")])
    assert chk.exit_code == 0, chk.output
    raw = b"".join(got.values())
    for f in files:
        ds = pydicom.dcmread(f)
        for value in (ds.PatientID, str(ds.PatientName), ds.SOPInstanceUID, ds.StudyInstanceUID, ds.AccessionNumber):
            assert value.encode() not in raw
    # the spool is empty, the audit log verifies and has the association's row
    assert not list((tmp_path / "spool" / "incoming").iterdir())
    assert CliRunner().invoke(app, ["audit", "verify", str(s.audit)]).exit_code == 0
    rows = association_rows(s.audit)
    assert any(a == "receive" and "calling_ae=MODALITY" in d and "received=12" in d for a, d in rows), rows
    st = s.status()
    assert st["state"] == "stopped" and st["forwarded"] == 12 and st["spool_depth"] == 0 and st["received"] == 12


def test_unknown_callers_are_rejected_at_association(tmp_path):
    o = start_orthanc(tmp_path / "orthanc", {"DEID": None})
    make_study_files(tmp_path / "in", 2)
    s = serve(tmp_path, "--forward", o.peer, "--pipeline", PIPE, "--allow-ae", "MODALITY,CT1")
    try:
        r = storescu(s.port, tmp_path / "in", aet="INTRUDER", check=False)
        assert r.returncode != 0
        assert b"Rejected" in r.stderr or b"rejected" in r.stderr.lower(), r.stderr
        assert storescu(s.port, tmp_path / "in", aet="CT1").returncode == 0
        wait_for(lambda: len(o.instances()) == 2, what="2 instances")
        assert s.stop() == 0
        rows = association_rows(s.audit)
        assert any(a == "reject" and "calling_ae=INTRUDER" in d and "calling-ae-not-allowed" in d for a, d in rows)
        assert s.status()["associations_rejected"] == 1
    finally:
        s.proc.kill()
        o.stop()
    # a source-address allowlist that does not hold loopback refuses every caller
    s = serve(tmp_path, "--forward", o.peer, "--pipeline", PIPE, "--allow-ip", "10.0.0.0/8", name="ip")
    try:
        r = storescu(s.port, tmp_path / "in", check=False)
        assert r.returncode != 0
        assert s.stop() == 0
        assert s.status()["received"] == 0
    finally:
        s.proc.kill()


def test_two_senders_one_study_get_one_deidentified_study(tmp_path):
    o = start_orthanc(tmp_path / "orthanc", {"DEID": None})
    files = make_study_files(tmp_path / "in", 8, patients=1)  # one patient, one study
    status_port = free_port()
    s = serve(tmp_path, "--forward", o.peer, "--pipeline", PIPE, "--status-port", str(status_port))
    try:
        a = subprocess.Popen([*_scu("CT_A", s.port), *map(str, files[:4])], stderr=subprocess.PIPE, env=dcmtk_env())
        b = subprocess.Popen([*_scu("CT_B", s.port), *map(str, files[4:])], stderr=subprocess.PIPE, env=dcmtk_env())
        assert a.wait(120) == 0 and b.wait(120) == 0
        wait_for(lambda: len(o.instances()) == 8, what="8 instances")
        assert len(o.get("/studies")) == 1
        tags = [o.get(f"/instances/{i}/simplified-tags") for i in o.instances()]
        assert len({t["StudyInstanceUID"] for t in tags}) == 1
        assert len({t["StudyDate"] for t in tags}) == 1 and tags[0]["StudyDate"] != "20240102"  # one date shift
        import urllib.request

        with urllib.request.urlopen(f"http://{LOOPBACK}:{status_port}/status", timeout=10) as rsp:
            live = json.loads(rsp.read())  # the live JSON endpoint, loopback only
        assert live["received"] == 8 and live["state"] == "running" and "spool_depth" in live
        # one gateway per spool: a second one is refused before it touches anything
        again = CliRunner().invoke(
            app, ["serve", "--spool", str(s.spool), "--listen", f"{LOOPBACK}:0", "--forward", o.peer]
        )
        assert again.exit_code == 2 and "in use by another deid run" in again.output, again.output
        assert s.stop() == 0
        rows = [d for act, d in association_rows(s.audit) if act == "receive"]
        assert any("calling_ae=CT_A" in d for d in rows) and any("calling_ae=CT_B" in d for d in rows)
    finally:
        s.proc.kill()
        o.stop()


def _scu(aet: str, port: int) -> list[str]:
    from dicom_peers import STORESCU

    return [STORESCU, "-aet", aet, "-aec", "DEID", LOOPBACK, str(port)]


def test_a_destination_that_is_down_keeps_instances_in_the_spool(tmp_path):
    """Down at start: spooled, retried; SIGTERM exits 3 with them spooled; the next start
    forwards them; down again while running: held, and forwarded once it is back."""
    dicom_port, http_port = free_port(), free_port()
    make_study_files(tmp_path / "in", 3)
    make_study_files(tmp_path / "more", 2)
    dest = f"ORTHANC@{LOOPBACK}:{dicom_port}"
    s = serve(tmp_path, "--forward", dest, "--pipeline", PIPE, "--drain-seconds", "1")
    storescu(s.port, tmp_path / "in")  # acknowledged: in the spool, fsynced
    st = wait_for(lambda: (lambda d: d if d.get("retries", 0) >= 1 else None)(s.status()), what="a retry")
    assert st["spool_depth"] == 3 and st["destination_down"] and st["forwarded"] == 0
    assert st["last_problem"] == "destination-down"
    assert s.stop() == 3, s.output()  # stopped with instances still spooled
    assert "still spooled" in s.output()
    o = start_orthanc(tmp_path / "orthanc", {"DEID": None}, ports=(dicom_port, http_port))
    s = serve(tmp_path, "--forward", dest, "--pipeline", PIPE, port=s.port, name="second")
    try:
        wait_for(lambda: len(o.instances()) == 3, what="3 instances resumed from the spool")
        o.stop()  # down while running
        storescu(s.port, tmp_path / "more")
        wait_for(lambda: s.status()["retries"] >= 1, what="a retry while running")
        seen = []
        for _ in range(12):  # through the waits and the tries: down until a batch gets through
            seen.append(s.status()["destination_down"])
            time.sleep(0.25)
        assert all(seen) and s.status()["spool_depth"] == 2
        o = start_orthanc(tmp_path / "orthanc", {"DEID": None}, ports=(dicom_port, http_port))
        wait_for(lambda: len(o.instances()) == 5, timeout=90, what="5 instances after the destination came back")
        assert s.stop() == 0
        assert s.status()["spool_depth"] == 0
    finally:
        s.proc.kill()
        o.stop()


def test_configuration_errors_exit_2_in_one_line(tmp_path):
    spool = ["--spool", str(tmp_path / "spool")]
    cases = [
        ["--listen", "nowhere", "--forward", "A@127.0.0.1:1"],
        ["--listen", "127.0.0.1:0"],  # nowhere to forward
        ["--listen", "127.0.0.1:0", "--forward", "127.0.0.1:104"],
        ["--listen", "127.0.0.1:0", "--forward", "A@127.0.0.1:1", "--ae-title", "X" * 17],
        ["--listen", "127.0.0.1:0", "--forward", "A@127.0.0.1:1", "--tls-cert", str(tmp_path / "none.pem")],
        ["--listen", "127.0.0.1:0", "--stow", "ftp://127.0.0.1/x"],
        ["--listen", "127.0.0.1:0", "--forward", "A@127.0.0.1:1", "--allow-ip", "not-an-address"],
        # a network address with no calling-AE allowlist: any caller could send (the default)
        ["--forward", "A@127.0.0.1:1"],
        ["--listen", "0.0.0.0:0", "--forward", "A@127.0.0.1:1", "--allow-ip", "10.0.0.0/8"],
    ]
    for args in cases:
        r = CliRunner().invoke(app, ["serve", *spool, *args])
        assert r.exit_code == 2, (args, r.output)
        assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output, r.output
    # a port already taken is a configuration error too (a process, so SIGTERM handling is its own)
    import socket

    with socket.socket() as held:
        held.bind((LOOPBACK, 0))
        held.listen()
        port = held.getsockname()[1]
        r = subprocess.run(
            [sys.executable, "-m", "deid.cli", "serve", *spool, "--listen", f"{LOOPBACK}:{port}", "--forward", "A@127.0.0.1:1"],
            capture_output=True, env=env(), timeout=60,
        )  # fmt: skip
        assert r.returncode == 2 and b"cannot listen" in r.stderr, r.stderr
        assert len(r.stderr.decode().strip().splitlines()) == 1
    status = CliRunner().invoke(app, ["serve", "--status", *spool])
    assert status.exit_code == 0 and json.loads(status.stdout)["spool_depth"] == 0


def test_a_quarantined_instance_keeps_its_reason_and_no_name_says_who(tmp_path):
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    from helpers import make_ds, write

    ds = make_ds(name="NESTED^PATIENT", patient_id="PID-NEST-77")
    inner = Dataset()
    inner.CodeValue = "X"
    for _ in range(70):  # deeper than deid reads with certainty: quarantined, never forwarded
        outer = Dataset()
        outer.ContentSequence = Sequence([inner])
        inner = outer
    ds.ContentSequence = Sequence([inner])
    write(ds, tmp_path / "in" / "NESTED_PATIENT" / "deep.dcm")
    make_study_files(tmp_path / "in", 2, patients=1)
    # a UID pydicom warns about, quoting it, while pynetdicom decodes the request on its own
    # thread: it reached the gateway's stderr
    odd = make_ds(name="ODD^VALUE", patient_id="PID-ODD-1", SOPInstanceUID="1.2.3.SMITHJOHN")
    o = start_orthanc(tmp_path / "orthanc", {"DEID": None})
    s = serve(tmp_path, "--forward", o.peer, "--pipeline", PIPE, "--log-level", "INFO")
    try:
        storescu(s.port, tmp_path / "in")
        from pynetdicom import AE

        ae = AE(ae_title="MODALITY")
        ae.add_requested_context(odd.SOPClassUID, odd.file_meta.TransferSyntaxUID)
        assoc = ae.associate(LOOPBACK, s.port, ae_title="DEID")
        assert assoc.is_established
        assert assoc.send_c_store(odd).Status == 0
        assoc.release()
        wait_for(lambda: s.status()["quarantined"] == 1 and s.status()["forwarded"] == 3, what="1 quarantined")
        assert s.stop() == 0
    finally:
        s.proc.kill()
        o.stop()
    q = tmp_path / "spool" / "quarantine"
    copies = [p for p in q.iterdir() if p.name.endswith(".dcm")]
    assert len(copies) == 1 and re.fullmatch(r"(\d{20}-[0-9a-f]{16}|H-[0-9A-F]{12})\.dcm", copies[0].name)
    assert pydicom.dcmread(copies[0]).SOPInstanceUID == ds.SOPInstanceUID  # as received: the raw instance
    reason = json.loads((q / (copies[0].name + ".reason.json")).read_text())
    assert reason["reason"].startswith("unreadable: sequences nested too deep")
    assert (q.stat().st_mode & 0o777) == 0o700 and (copies[0].stat().st_mode & 0o777) == 0o600
    # no identifying value in the log, the status, the audit log or any name under the spool
    text = s.output() + s.spool.joinpath("status.json").read_text() + (q / "REASONS.jsonl").read_text()
    db = sqlite3.connect(s.audit)
    text += json.dumps(db.execute("SELECT * FROM events").fetchall())
    db.close()
    text += " ".join(str(p) for p in (tmp_path / "spool").rglob("*"))
    for value in ("NESTED", "PID-NEST-77", "PID-0000", "TESTPERSON", "ACC0000", str(ds.SOPInstanceUID), "SMITHJOHN"):
        assert value not in text, value
