"""The network sinks through the engine's runner (the Sink seam), against in-process
loopback peers (no external programs): a pynetdicom storage SCP that answers with a
chosen status, and a small HTTP server that answers STOW-RS."""

from __future__ import annotations

import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydicom.filereader import _read_file_meta_info
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt

import deid.engine.sinks.peer as peer_mod
from deid.audit.log import AuditLog
from deid.engine.discover import discover
from deid.engine.job import Job
from deid.engine.runner import run
from deid.engine.sinks import FolderSink
from deid.engine.sinks.cstore import CStoreSink, Peer
from deid.engine.sinks.stow import StowSink
from deid.handlers import Context
from deid.policy import load_pipeline
from deid.pseudonym import Pseudonymizer
from dicom_peers import LOOPBACK, make_study_files
from helpers import KEY, reasons


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch):
    monkeypatch.setattr(peer_mod, "BACKOFF", (0.01,))


def body(data: bytes) -> bytes:
    f = io.BytesIO(data)
    f.seek(132)
    _read_file_meta_info(f)
    return data[f.tell() :]


class Scp:
    """A storage SCP on a free loopback port that keeps what it receives, as received."""

    def __init__(self, status: int = 0x0000, associations: int = 10):
        self.status = status
        self.received: list[bytes] = []
        ae = AE("DEST")
        ae.maximum_associations = associations
        for cx in AllStoragePresentationContexts:
            ae.add_supported_context(str(cx.abstract_syntax), ALL_TRANSFER_SYNTAXES)
        self.server = ae.start_server((LOOPBACK, 0), block=False, evt_handlers=[(evt.EVT_C_STORE, self._store)])
        self.port = self.server.server_address[1]

    def _store(self, event):
        self.received.append(event.encoded_dataset(include_meta=False))
        return self.status

    def close(self):
        self.server.shutdown()


def _run(tmp_path: Path, sink, n: int = 3, audit_name: str = "audit.sqlite"):
    files = sorted((tmp_path / "in").rglob("*.dcm")) or make_study_files(tmp_path / "in", n, patients=1)
    pipe = load_pipeline("dicom-research")
    job = Job(Context(pipe, Pseudonymizer(KEY)), sink)
    sink.prepare()
    audit = AuditLog(tmp_path / audit_name)
    audit.start_run(pipe.name, pipe.policy_hash, {}, "")
    try:
        return files, run(discover([tmp_path / "in"]), job, audit, engine="inline")
    finally:
        audit.close()
        getattr(sink, "close", lambda: None)()


def test_cstore_sends_the_bytes_deid_run_writes(tmp_path):
    scp = Scp()
    try:
        sink = CStoreSink(Peer("DEST", LOOPBACK, scp.port), tmp_path / "q", tmp_path / "scratch", "DEID")
        _files, s = _run(tmp_path / "a", sink)
    finally:
        scp.close()
    assert s.ok == 3 and not s.interrupted
    folder = FolderSink(tmp_path / "out", tmp_path / "out.q")
    _files, s2 = _run(tmp_path / "a", folder, audit_name="folder.sqlite")
    assert s2.ok == 3
    written = sorted(body(p.read_bytes()) for p in (tmp_path / "out").rglob("*.dcm"))
    assert sorted(scp.received) == written  # byte for byte: nothing re-encoded on the way
    assert not list((tmp_path / "scratch").iterdir())  # scratch files removed after each send


def test_a_permanent_refusal_quarantines_with_the_status_code(tmp_path):
    scp = Scp(0xA900)  # Error: data set does not match SOP class
    try:
        sink = CStoreSink(Peer("DEST", LOOPBACK, scp.port), tmp_path / "q", tmp_path / "scratch", "DEID")
        _files, s = _run(tmp_path, sink, n=2)
    finally:
        scp.close()
    assert s.quarantined == 2 and s.ok == 0
    why = reasons(tmp_path / "q")
    assert {r["reason"] for r in why.values()} == {"refused-by-destination: 0xA900"}
    assert len(list((tmp_path / "q").rglob("*.reason.json"))) == 2


@pytest.mark.parametrize("status", [0xA700, 0x0110])
def test_a_transient_failure_stops_the_run_and_records_nothing_as_done(tmp_path, status):
    scp = Scp(status)  # out of resources / processing failure: try again later
    try:
        sink = CStoreSink(Peer("DEST", LOOPBACK, scp.port), tmp_path / "q", tmp_path / "scratch", "DEID", attempts=2)
        _files, s = _run(tmp_path, sink, n=2)
    finally:
        scp.close()
    assert s.interrupted and s.stop_reason.startswith("destination-down: DEST: status 0x")
    assert s.ok == 0 and s.quarantined == 0


def test_nobody_listening_is_destination_down(tmp_path):
    from dicom_peers import free_port

    sink = CStoreSink(Peer("DEST", LOOPBACK, free_port()), tmp_path / "q", tmp_path / "scratch", "DEID", attempts=2)
    _files, s = _run(tmp_path, sink, n=1)
    assert s.interrupted and s.files == 0
    assert s.stop_reason == "destination-down: DEST: cannot connect (no association) after 2 attempts"


class Stow(BaseHTTPRequestHandler):
    answers: list[tuple[int, bytes]] = []
    bodies: list[tuple[str, bytes]] = []

    def do_POST(self):  # noqa: N802
        data = self.rfile.read(int(self.headers["Content-Length"]))
        Stow.bodies.append((self.headers["Content-Type"], data))
        code, answer = Stow.answers.pop(0) if Stow.answers else (200, _stored(data))
        self.send_response(code)
        if 300 <= code < 400:
            self.send_header("Location", "/landing")
        self.send_header("Content-Type", "application/dicom+json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def do_GET(self):  # noqa: N802  (where a followed redirect would land: 200 and nothing stored)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"[]")

    def log_message(self, *a):
        pass


def _stored(body: bytes) -> bytes:
    """What a DICOMweb origin answers for a stored instance: its Referenced SOP Sequence."""
    import io

    import pydicom

    start = body.index(b"\r\n\r\n") + 4
    ds = pydicom.dcmread(io.BytesIO(body[start:]), stop_before_pixels=True)
    item = {"00081155": {"vr": "UI", "Value": [ds.SOPInstanceUID]}}
    return json.dumps({"00081199": {"vr": "SQ", "Value": [item]}}).encode()


@pytest.fixture
def stow_server():
    Stow.answers, Stow.bodies = [], []
    server = ThreadingHTTPServer((LOOPBACK, 0), Stow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://{LOOPBACK}:{server.server_address[1]}/dicom-web"
    server.shutdown()


def test_stow_posts_multipart_related_with_the_bytes(tmp_path, stow_server):
    _files, s = _run(tmp_path, StowSink(stow_server, tmp_path / "q"), n=2)
    assert s.ok == 2
    ctype, data = Stow.bodies[0]
    assert ctype.startswith('multipart/related; type="application/dicom"; boundary=')
    boundary = ctype.rsplit("=", 1)[1].encode()
    part = data.split(b"--" + boundary)[1]
    assert part.startswith(b"\r\nContent-Type: application/dicom\r\n\r\n")
    assert part[len(b"\r\nContent-Type: application/dicom\r\n\r\n") :][128:132] == b"DICM"


def test_stow_refusals_and_outages(tmp_path, stow_server):
    failed = json.dumps({"00081198": {"vr": "SQ", "Value": [{"00081197": {"vr": "US", "Value": [0xA900]}}]}})
    Stow.answers = [(409, failed.encode()), (503, b""), (503, b"")]
    _files, s = _run(tmp_path, StowSink(stow_server, tmp_path / "q", attempts=2), n=2)
    assert s.quarantined == 1 and s.interrupted and s.stop_reason.startswith("destination-down: stow: http-503")
    assert {r["reason"] for r in reasons(tmp_path / "q").values()} == {"refused-by-destination: http-409:0xA900"}


@pytest.mark.parametrize("workers", [0, 2], ids=["in-process", "pool"])
def test_an_instance_the_peer_keeps_answering_transiently_is_quarantined_not_stuck(tmp_path, monkeypatch, workers):
    """Head-of-line: a peer that answers one instance with a transient status round after
    round would hold the spool back for ever; after STUCK_ROUNDS it is quarantined. On the
    pool, outcomes come back in any order: the instance blamed is the one the run stopped on."""
    import deid.gateway.service as service

    monkeypatch.setattr(service, "STUCK_ROUNDS", 3)
    scp = Scp(0xA700)
    try:
        cfg, spool, sink, audit, fwd = _forwarder(tmp_path, scp.port, workers)
        for _ in range(8):
            fwd.batch()
        fwd.release()
        assert spool.depth() == 0 and fwd.n.quarantined == 2 and fwd.n.forwarded == 0
        assert fwd.accounting() == []  # the quarantine is in the books: audit rows and counts
        why = {r["reason"] for r in reasons(cfg.spool / "quarantine").values()}
        assert why == {"refused-by-destination: kept answering 0xA700 (3 rounds)"}
        audit.close()
    finally:
        scp.close()


def test_the_pool_forwards_over_its_own_associations_and_lets_them_go(tmp_path):
    """`--workers 2`: each worker de-identifies and sends over its own association; the
    spool empties, every instance is acknowledged once, and release() ends the workers,
    which release their associations (the peer sees them close)."""
    scp = Scp()
    closed = []
    scp.server.bind(evt.EVT_CONN_CLOSE, lambda e: closed.append(1))
    try:
        cfg, spool, sink, audit, fwd = _forwarder(tmp_path, scp.port, workers=2)
        for f in make_study_files(tmp_path / "more", 30, patients=3):
            spool.put(f.read_bytes())
        while fwd.batch():
            pass
        assert spool.depth() == 0 and fwd.n.forwarded == 32 and len(scp.received) == 32
        assert fwd.pool is not None and len(fwd.pool.slots) == 2
        fwd.release()
        assert fwd.pool.slots == [] and fwd.accounting() == []
        deadline = time.monotonic() + 10
        while len(closed) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert closed  # released by the workers as they ended, not left to time out
        audit.close()
    finally:
        scp.close()


def test_a_stopped_batch_leaves_no_temp_files_of_the_workers_it_killed(tmp_path):
    """A destination that is down stops the batch; the pool stops its workers, killing
    those still in a send's retries, whose temp files (a de-identified output waiting to
    be sent) would stay in the spool for ever: the forwarder removes them."""
    import socket

    from deid.engine.writer import find_partials

    with socket.socket() as s:  # a port nobody listens on
        s.bind((LOOPBACK, 0))
        port = s.getsockname()[1]
    cfg, spool, sink, audit, fwd = _forwarder(tmp_path, port, workers=2)
    for f in make_study_files(tmp_path / "more", 14, patients=2):
        spool.put(f.read_bytes())
    for _ in range(2):
        assert fwd.batch() == 0 and fwd.n.destination_down
        assert list(find_partials(cfg.spool)) == [] and spool.depth() == 16
    fwd.release()
    audit.close()


def test_a_response_pynetdicoms_reactor_takes_goes_back_to_the_send_waiting_for_it(tmp_path):
    """pynetdicom's race (cstore.tune): the association's reactor can take a C-STORE
    response off the DIMSE queue before the send that waits for it; pynetdicom drops it
    ("unexpected C-STORE service message") and the send waits 30 s for nothing. Tuned, a
    response the reactor takes goes back on the queue; a request is still served."""
    from pynetdicom.dimse_primitives import C_STORE

    scp = Scp()
    try:
        sink = CStoreSink(Peer("DEST", LOOPBACK, scp.port), tmp_path / "q", tmp_path / "out")
        assoc = sink._associate("1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.1.2.1", set())
        first, second = C_STORE(), C_STORE()
        for i, rsp in enumerate((first, second)):
            rsp.MessageIDBeingRespondedTo, rsp.Status = 7 + i, 0xFF00
            rsp.AffectedSOPClassUID, rsp.AffectedSOPInstanceUID = "1.2.840.10008.5.1.4.1.1.2", f"1.2.{i}"
        assoc.dimse.msg_queue.put((1, second))  # already queued behind the one the reactor took
        assoc._serve_request(first, 1)
        q = assoc.dimse.msg_queue
        assert [q.get_nowait(), q.get_nowait()] == [(1, first), (1, second)]  # back in its place
        assoc.release()
    finally:
        scp.close()


@pytest.mark.parametrize(
    "answer",
    [(301, b""), (200, b""), (200, b"<html>login</html>"), (202, b"{}"), (404, b""), (401, b"")],
    ids=["redirect", "empty-200", "html-200", "unconfirmed-202", "wrong-url", "no-credentials"],
)
def test_stow_counts_as_delivered_only_what_the_answer_names(tmp_path, stow_server, answer):
    """A redirect (urllib turned the POST into a GET whose 200 read as delivered), a 2xx
    that does not name the instance, a wrong URL or missing credentials: the peer is down,
    the instance not done (it stays in the spool), nothing quarantined."""
    Stow.answers = [answer, answer]
    _files, s = _run(tmp_path, StowSink(stow_server, tmp_path / "q", attempts=2), n=1)
    assert s.files == 0 and s.interrupted and s.stop_reason.startswith("destination-down: stow: http-")
    assert not reasons(tmp_path / "q")


@pytest.mark.parametrize(
    "why,quarantined",
    [("no-answer", 2), ("send-failed: RuntimeError", 2), ("cannot connect (ConnectionRefusedError)", 0)],
)
def test_an_instance_the_connected_peer_never_answers_is_quarantined_a_down_peer_quarantines_nothing(
    tmp_path, monkeypatch, why, quarantined
):
    """A peer that accepts the association but never answers one instance (too large for
    the time limit, or it breaks the peer) held the spool back for ever; a peer that cannot
    be reached is down, and nothing of the spool is quarantined however long that lasts."""
    import deid.gateway.service as service
    from deid.engine.sinks import DestinationDown
    from deid.engine.sinks.cstore import CStoreSink

    monkeypatch.setattr(service, "STUCK_ROUNDS", 3)

    def put(self, rel, data):
        raise DestinationDown(f"DEST: {why} after 2 attempts")

    monkeypatch.setattr(CStoreSink, "put", put)
    cfg, spool, sink, audit, fwd = _forwarder(tmp_path, 1)
    for _ in range(8):
        fwd.batch()
    assert fwd.n.quarantined == quarantined and spool.depth() == 2 - quarantined and fwd.n.forwarded == 0
    assert fwd.accounting() == []
    sink.close()
    audit.close()


def _forwarder(tmp_path, port, workers=0):
    """A gateway's forwarding half (header-only pipeline, C-STORE to DEST on `port`) over a
    spool holding two instances of one study; `workers` 0: in this process, where a test's
    monkeypatch reaches (the pool's workers are forked from a forkserver)."""
    import deid.gateway.service as service
    from deid.gateway.config import GatewayConfig
    from deid.gateway.spool import Spool
    from dicom_peers import header_only_pipeline

    cfg = GatewayConfig.build(
        listen="127.0.0.1:0", ae_title="DEID", spool=tmp_path / "spool", pipeline=str(header_only_pipeline(tmp_path)),
        key_file=None, audit=tmp_path / "gw.sqlite", forward=f"DEST@{LOOPBACK}:{port}", workers=workers,
    )  # fmt: skip
    spool = Spool(cfg.spool)
    spool.prepare()
    sink = cfg.sink()
    sink.prepare()
    for f in make_study_files(tmp_path / "in", 2, patients=1):
        spool.put(f.read_bytes())
    audit = AuditLog(cfg.audit)
    audit.start_run("t", "h", {}, "")
    return cfg, spool, sink, audit, service.Forwarder(cfg, spool, sink, audit)


def test_a_draining_batch_is_one_instance_per_worker(tmp_path):
    """On SIGTERM the gateway forwards for --drain-seconds and checks the time between
    batches: a draining batch is one instance per worker, so the drain overruns by one
    instance's time at most (a batch of 32 OCR'd images could take minutes)."""
    scp = Scp()
    try:
        cfg, spool, sink, audit, fwd = _forwarder(tmp_path, scp.port, workers=0)
        for f in make_study_files(tmp_path / "more", 6, patients=1):
            spool.put(f.read_bytes())
        assert fwd.batch(draining=True) == 1 and spool.depth() == 7
        assert fwd.batch() == 7 and spool.depth() == 0
        fwd.release()
        audit.close()
    finally:
        scp.close()


def test_a_destination_that_takes_fewer_associations_than_workers_gets_fewer(tmp_path):
    """A PACS that limits associations per caller rejects the second worker's: the batch
    stops, and the gateway forwards over one association fewer from then on, instead of
    stopping every batch; everything is forwarded once."""
    scp = Scp(associations=1)
    try:
        cfg, spool, sink, audit, fwd = _forwarder(tmp_path, scp.port, workers=2)
        for f in make_study_files(tmp_path / "more", 30, patients=3):
            spool.put(f.read_bytes())
        for _ in range(10):
            if not spool.depth():
                break
            fwd.batch()
        fwd.release()
        assert spool.depth() == 0 and fwd.n.forwarded == 32 and fwd.pool.workers == 1
        assert len({body(b) for b in scp.received}) == 32 and fwd.accounting() == []
        audit.close()
    finally:
        scp.close()


def test_a_syntax_or_sop_class_the_destination_accepts_nowhere_is_refused_not_down(tmp_path):
    """A fresh association that proposes only this instance's (SOP class, transfer syntax)
    and gets none accepted is aborted by pynetdicom: that is a refusal of this instance
    (quarantined), not a destination that is down, which held the whole spool for ever."""
    import pydicom
    from pydicom.uid import ExplicitVRLittleEndian, RLELossless

    from deid.engine.sinks import Refused

    ae = AE("DEST")
    ae.add_supported_context("1.2.840.10008.5.1.4.1.1.2", [ExplicitVRLittleEndian])  # CT, one syntax
    server = ae.start_server((LOOPBACK, 0), block=False, evt_handlers=[(evt.EVT_C_STORE, lambda e: 0)])
    try:
        f = make_study_files(tmp_path / "in", 1, patients=1)[0]
        ds = pydicom.dcmread(f)
        ds.compress(RLELossless)
        rle = tmp_path / "rle.dcm"
        ds.save_as(rle, enforce_file_format=True)
        ds = pydicom.dcmread(f)
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"  # MR: not supported
        mr = tmp_path / "mr.dcm"
        ds.save_as(mr, enforce_file_format=True)
        sink = CStoreSink(
            Peer("DEST", LOOPBACK, server.server_address[1]), tmp_path / "q", tmp_path / "out", attempts=1
        )
        for path, code in ((rle, "transfer-syntax-not-accepted"), (mr, "sop-class-not-accepted")):
            with pytest.raises(Refused) as got:
                sink.put(path.name, path.read_bytes())
            assert got.value.code == code
        assert sink.put(f.name, f.read_bytes()) == "DEST@127.0.0.1:%d" % server.server_address[1]
        sink.close()
    finally:
        server.shutdown()


def test_what_each_audit_commit_records_leaves_the_spool_then_not_at_the_end_of_the_batch(tmp_path, monkeypatch):
    """The audit log commits inside a batch too (every COMMIT_EVERY inputs or second): an
    entry leaves the spool after the commit that records it. Left until the batch ended,
    a kill -9 mid-batch had everything committed so far forwarded and audited again."""
    from deid.audit.log import AuditLog as Log

    monkeypatch.setattr(Log, "COMMIT_EVERY", 4)
    depth_seen: list[int] = []
    scp = Scp()
    try:
        cfg, spool, sink, audit, fwd = _forwarder(tmp_path, scp.port, workers=0)
        for f in make_study_files(tmp_path / "more", 30, patients=3):
            spool.put(f.read_bytes())
        real = scp._store

        def store(event):
            depth_seen.append(spool.depth())
            return real(event)

        scp._store = store
        scp.server.unbind(evt.EVT_C_STORE, real)
        scp.server.bind(evt.EVT_C_STORE, store)
        assert fwd.batch() == 32 and spool.depth() == 0 and fwd.n.forwarded == 32
        assert min(depth_seen) <= 32 - 16  # entries left while the batch was still sending
        assert fwd.accounting() == []
        fwd.release()
        audit.close()
    finally:
        scp.close()
