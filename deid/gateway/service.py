"""`deid serve`: receive into the spool, de-identify through the engine, forward through
the sink, until SIGTERM.

The receiving AE (scp.py) runs on pynetdicom's threads and only spools. This thread is
the engine's driver and the one audit writer: it takes spooled entries in batches
(oldest first) and runs each batch through engine.runner.run, so every instance goes
through the same steps as a file of `deid run` (work.py: read, route to the handler,
de-identify, `verify:`, write through the sink, or quarantine with a reason) and the
same audit rows. The work happens on the engine's process pool (`--workers`, kept
across batches; each worker forwards over its own association), not beside the
receiver: pynetdicom polls on threads, and a busy thread in its process holds every
C-STORE back (one CPU-bound thread took a receiver from 194 to 16 instances/s:
benchmarks/gateway_receive.py). An entry leaves the spool only after its batch is
committed to the audit log and its outcome is forwarded (the peer acknowledged it) or
quarantined. A destination that is down stops the batch (work.finish: "stop"); what
is left stays in the spool and is tried again after a backoff (1, 2, 4 ... 60 s).

After a crash or kill -9 the next start takes the spool as it is: an entry forwarded
but not yet removed is sent again, and since de-identified UIDs are keyed (the same
instance gives the same SOP Instance UID) the peer holds it once.

SIGTERM (or Ctrl-C): new associations are refused, open ones may finish, the spool is
forwarded for up to --drain-seconds; exit 0 when it is empty, 3 when entries are left
(they are sent on the next start).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Callable

from ..audit.events import AuditEvent
from ..audit.log import AuditLog
from ..core import Context, Item
from ..engine.executors import Engine
from ..engine.executors.pool import Supervisor
from ..engine.job import Job, Naming, Outcome
from ..engine.runner import Summary, run
from ..engine.session import versions
from ..engine.sinks.peer import PeerSink
from ..pseudonym import Pseudonymizer
from ..util import atomic_write
from .config import GatewayConfig
from .scp import Association, summary_detail
from .spool import Spool

log = logging.getLogger(__name__)

BATCH = 32  # spooled instances per engine run (a SIGTERM waits for one batch at most)
# ... while draining: one per worker, so a drain overruns --drain-seconds by one instance
BACKOFF_MAX = 60.0
STUCK_ROUNDS = 8  # batches stopped on one instance by the peer's status before it is quarantined
IDLE_RELEASE = 5.0  # seconds without work before the sink's open associations are released


@dataclass
class Counters:
    forwarded: int = 0
    quarantined: int = 0
    errors: int = 0
    retries: int = 0  # batches stopped by a destination that was down
    destination_down: bool = False
    last_problem: str = ""  # a reason code, never a value
    summary: Summary = field(default_factory=Summary)


def merge(total: Summary, s: Summary) -> None:
    for name in ("seen", "files", "ok", "quarantined", "errors", "elements", "dates_shifted", "redacted_boxes"):
        setattr(total, name, getattr(total, name) + getattr(s, name))
    total.seconds += s.seconds
    total.interrupted = total.interrupted or s.interrupted
    for attr in ("reasons", "actions", "kinds"):
        mine = getattr(total, attr)
        for k, v in getattr(s, attr).items():
            mine[k] = mine.get(k, 0) + v


class Forwarder:
    """Spool -> engine -> sink, with the audit log: one per process, on its driver thread."""

    def __init__(self, cfg: GatewayConfig, spool: Spool, sink: PeerSink, audit: AuditLog):
        self.cfg, self.spool, self.sink, self.audit = cfg, spool, sink, audit
        self.job = Job(Context(cfg.pipeline, Pseudonymizer(cfg.secret)), sink, Naming.MIRROR, timeout=cfg.timeout)
        self.n = Counters()
        self._backoff = 0.0
        self._retry_at = 0.0
        self._stuck_on = ("", 0)  # (spool entry, rounds) a peer's transient status stopped
        self.pool = _pool(self.job, cfg.workers)

    def release(self) -> None:
        """Let the destination go while idle or stopping: the pool's workers end (each
        releases its association; the next batch starts them again) and so do this
        process's own associations."""
        if self.pool is not None:
            self.pool.stop()
        self.sink.close()
        self._tidy()

    def _tidy(self) -> None:
        """Temp files of workers the pool had to kill (a batch stopped mid-send, a stop
        past its grace): a de-identified output waiting to be sent, or part of a raw copy
        into the quarantine. Only once no worker runs."""
        try:
            n = self.sink.remove_partials()
        except OSError as exc:
            log.warning("cannot remove temp files: %s", type(exc).__name__)
            return
        if n:
            log.info("removed %d temp files of stopped workers", n)

    def batch(self, draining: bool = False) -> int:
        """One batch of the spool through the engine; how many entries it finished (0: the
        spool is empty, or the destination is down: see self.n.destination_down). While
        draining, a batch is one instance per worker: the drain time is checked between."""
        names = self.spool.entries(max(1, self.cfg.workers) if draining else BATCH)
        if not names:
            return 0
        recorded: list[Outcome] = []

        def settle() -> None:  # after each commit, also those inside the batch: a kill -9
            for o in recorded:  # then redoes (and audits again) at most the uncommitted few
                self._settle(o)
            recorded.clear()

        items = [Item(str(self.spool.path(n)), n) for n in names]
        self.audit.after_commit = settle
        try:
            s = run(items, self.job, self.audit, engine=Engine.INLINE, progress=recorded.append, executor=self.pool)
            merge(self.n.summary, s)
            self.audit.commit()  # recorded before the spool lets go of them
        finally:
            self.audit.after_commit = None
        if s.interrupted:
            self._tidy()  # the pool was stopped: its workers' temp files are orphans
            self._fewer_associations(s.stop_reason)
        if s.interrupted and s.stop_reason:
            if s.stop_source:
                self._stuck(s.stop_source, s.stop_reason)
            self.n.retries += 1
            self.n.destination_down = True
            self.n.last_problem = s.stop_reason.split(":", 1)[0]
            self._backoff = min(BACKOFF_MAX, max(1.0, self._backoff * 2))
            self._retry_at = time.monotonic() + self._backoff
            log.warning("forwarding stopped (%s); retry in %.0f s", s.stop_reason, self._backoff)
        else:
            self.n.destination_down = False
            self._backoff = 0.0
        return s.files  # accounted for: forwarded, quarantined or errors

    def _settle(self, o: Outcome) -> None:
        """An outcome the audit log has committed: counted, and its entry leaves the spool."""
        if o.status == "ok":
            self.n.forwarded += 1
        elif o.status == "quarantined":
            self.n.quarantined += 1
        else:  # not even copied aside: moved into the quarantine as it is
            self.n.errors += 1
            self.spool.set_aside(o.source)
        self.spool.remove(o.source)

    def _fewer_associations(self, why: str) -> None:
        """A destination that rejects an association while the pool holds others (a PACS
        that limits associations per caller) would stop every batch: forward over one
        association fewer from now on (until the gateway restarts)."""
        pool = self.pool
        if pool is None or pool.workers <= 1 or "rejected the association" not in why:
            return
        pool.resize(pool.workers - 1)
        log.warning("the destination rejected an association: forwarding over %d from now on", pool.workers)

    def _stuck(self, name: str, why: str) -> None:
        """The entry a batch stopped on. A peer that is down stops every batch on whatever
        entry is first, and nothing is wrong with it; a peer that answers this instance,
        round after round, with a status it calls transient would hold the whole spool
        back for ever: after STUCK_ROUNDS such rounds it is quarantined with that status.
        So is one the peer, connected, never answers (no-answer, send-failed: too large for
        the time limit, or it breaks the peer); one that cannot connect is a peer down."""
        if not any(w in why for w in (" status 0x", ": no-answer ", ": send-failed: ")):
            self._stuck_on = ("", 0)
            return
        rounds = self._stuck_on[1] + 1 if self._stuck_on[0] == name else 1
        self._stuck_on = (name, rounds)
        if rounds < STUCK_ROUNDS:
            return
        from ..audit.log import FileRecord
        from ..engine.paths import safe_relpath
        from ..engine.runner import path_fp

        code = why.split(" status ", 1)[1].split()[0] if " status " in why else "nothing"
        reason = f"refused-by-destination: kept answering {code} ({rounds} rounds)"
        rel = safe_relpath(name, self.job.ctx.pseudo)
        self.sink.set_aside(rel, str(self.spool.path(name)))
        self.sink.quarantine(rel, reason)
        self.sink.note(rel, reason, "quarantined")
        self.audit.record(FileRecord(rel, "quarantined", "", reason), [], path_fp(self.job, name))
        self.audit.commit()
        s = self.n.summary
        s.seen, s.files, s.quarantined = s.seen + 1, s.files + 1, s.quarantined + 1
        s.reasons["refused-by-destination"] = s.reasons.get("refused-by-destination", 0) + 1
        self.n.quarantined += 1
        self.spool.remove(name)
        self._stuck_on = ("", 0)
        log.warning("an instance the destination kept refusing (%s) is quarantined", code)

    def accounting(self) -> list[str]:
        """engine/accounting.py over everything this process took on: every instance
        forwarded, quarantined or an error, one audit file row each."""
        from ..engine.accounting import check

        return check(self.n.summary, self.audit, self.sink)

    def retry_now(self) -> None:
        self._retry_at = 0.0

    def wait(self) -> float:
        """Seconds until the next try while the destination is down (0: try now). The
        status keeps saying down through the waits and the tries, until a batch gets through."""
        return max(0.0, self._retry_at - time.monotonic()) if self.n.destination_down else 0.0

    def associations(self, ended: list[Association]) -> None:
        """Per-association rows in the audit log (who called, how much; never a value)."""
        for a in ended:
            action = "reject" if a.rejected else "receive"
            self.audit.record_note(
                f"<association {a.number}>",
                [AuditEvent("<association>", action, "network", "gateway:association", "", summary_detail(a))],
            )


def _pool(job: Job, workers: int) -> Supervisor | None:
    """The engine's process pool for the gateway (None: `--workers 0`, the inline engine in
    this process). Its workers outlive each batch (Supervisor keep) and are forked from a
    forkserver (started with the first batch, by fork and exec: none of the receiver's
    threads or locks are copied into it), which imports what they need once
    (forkserver_preload.py)."""
    if workers <= 0:
        return None
    import multiprocessing as mp

    from ..engine.executors.pool import Supervisor

    mp.get_context("forkserver").set_forkserver_preload(["deid.gateway.forkserver_preload"])
    return Supervisor(job, workers, keep=True, start_method="forkserver")


class Gateway:
    def __init__(self, cfg: GatewayConfig, say: Callable[[str], None] = log.warning):
        self.cfg, self.say = cfg, say
        self.spool = Spool(cfg.spool)
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.state = "starting"
        self.started = time.time()
        self.listening: tuple[str, int] | None = None

    def run(self) -> int:
        """Serve until stopped; the exit code (0 drained, 3 entries left in the spool)."""
        from ..dicom.io import pydicom_silenced

        with pydicom_silenced():  # a sender's bad value must not be quoted on stderr
            return self._run()

    def _run(self) -> int:
        from ..engine.lock import hold

        cfg = self.cfg
        sink = cfg.sink()
        with hold(cfg.spool, cfg.audit):  # one gateway per spool: before anything in it is touched
            removed = self.spool.prepare()
            sink.prepare()
            sink.remove_partials()  # a killed gateway's workers' temp files
            audit = AuditLog(cfg.audit, durable=True)  # spool entries go right after a commit
            audit.start_run(cfg.pipeline.name, cfg.pipeline.policy_hash, versions(), Pseudonymizer(cfg.secret).key_id)
            fwd = Forwarder(cfg, self.spool, sink, audit)
            try:
                code = self._serve(fwd, removed)
                problems = fwd.accounting()
                for p in problems:
                    log.error("accounting: %s", p)
                if problems:
                    self.say("the accounting does not balance (a bug in deid): " + "; ".join(problems))
                    code = 4
                return code
            finally:
                fwd.release()
                fwd.associations(self._ended())
                audit.finish_run()
                audit.close()
                self.state = "stopped"
                self._write_status(fwd)

    def _serve(self, fwd: Forwarder, removed: int) -> int:
        from .scp import Receiver

        cfg = self.cfg
        self.receiver = rx = Receiver(
            cfg.ae_title, cfg.host, cfg.port, self.spool, cfg.allow_ae, cfg.allow_ip, cfg.tls, self.wake.set
        )
        try:
            rx.start()
        except OSError as exc:
            from ..errors import DeidError

            raise DeidError(f"cannot listen on {cfg.host}:{cfg.port}: {exc.strerror or type(exc).__name__}") from None
        self.listening = rx.address
        status_server = self._status_endpoint(fwd) if cfg.status_port else None
        previous = {s: signal.signal(s, self._signal) for s in (signal.SIGTERM, signal.SIGINT)}
        depth = self.spool.depth()
        self.say(
            f"deid serve: {cfg.ae_title} listening on {self.listening[0]}:{self.listening[1]}, "
            f"forwarding to {fwd.sink.where}; {depth} spooled instances to resume"
            + (f" ({removed} unfinished receives dropped: never acknowledged)" if removed else "")
        )
        self.state = "running"
        deadline = None
        last_status = busy = 0.0
        try:
            while True:
                if self.stop.is_set() and deadline is None:
                    rx.draining = True
                    self.state = "draining"
                    deadline = time.monotonic() + cfg.drain_seconds
                    log.info("draining: %d spooled, %d associations open", self.spool.depth(), rx.active())
                fwd.associations(self._ended())
                if time.monotonic() - last_status >= 1.0:
                    self._write_status(fwd)
                    last_status = time.monotonic()
                wait = fwd.wait()
                if wait:
                    if self._sleep(wait, deadline):
                        break
                    if deadline is None and self.stop.is_set():
                        fwd.retry_now()  # a drain starts with a try
                    continue
                if fwd.batch(draining=deadline is not None):
                    busy = time.monotonic()
                    continue
                if fwd.n.destination_down:
                    continue
                if busy and time.monotonic() - busy > IDLE_RELEASE:
                    fwd.release()  # idle associations poll (pynetdicom): let them go
                    busy = 0.0
                if deadline is not None and (
                    (rx.active() == 0 and self.spool.depth() == 0) or time.monotonic() > deadline
                ):
                    break
                self.wake.wait(0.2)
                self.wake.clear()
        finally:
            for s, h in previous.items():
                signal.signal(s, h)
            rx.stop()
            if status_server is not None:
                status_server.shutdown()
        left = self.spool.depth()
        n = fwd.n
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(n.summary.reasons.items()))
        self.say(
            f"deid serve stopped: received {rx.received} in {rx.count} associations ({rx.rejected} refused); "
            f"forwarded {n.forwarded}, quarantined {n.quarantined}, errors {n.errors}, still spooled {left}; "
            f"retries {n.retries}" + (f"; reasons: {reasons}" if reasons else "")
        )
        if left:
            self.say(f"stopped with {left} instances still spooled: they are forwarded on the next start")
        return 0 if left == 0 else 3

    def _sleep(self, seconds: float, deadline: float | None) -> bool:
        """Wait out a backoff; True when the drain time ran out meanwhile."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if deadline is None and self.stop.is_set():
                return False  # the loop starts draining, then tries again
            if deadline is not None and time.monotonic() > deadline:
                return True
            time.sleep(0.1)
        return False

    def _ended(self) -> list[Association]:
        rx = getattr(self, "receiver", None)
        out: list[Association] = []
        while rx is not None and not rx.ended.empty():
            out.append(rx.ended.get())
        return out

    def _signal(self, _signum: int, _frame: FrameType | None) -> None:
        self.stop.set()
        self.wake.set()

    # -- status ------------------------------------------------------------------------
    def status(self, fwd: Forwarder) -> dict[str, Any]:
        rx = getattr(self, "receiver", None)
        n = fwd.n
        return {
            "state": self.state,
            "pid": os.getpid(),
            "ae_title": self.cfg.ae_title,
            "listen": f"{self.listening[0]}:{self.listening[1]}" if self.listening else "",
            "destination": fwd.sink.where,
            "started": round(self.started, 3),
            "updated": round(time.time(), 3),
            "spool_depth": self.spool.depth(),
            "received": rx.received if rx else 0,
            "forwarded": n.forwarded,
            "quarantined": n.quarantined,
            "errors": n.errors,
            "retries": n.retries,
            "destination_down": n.destination_down,
            "last_problem": n.last_problem,
            "associations_open": rx.active() if rx else 0,
            "associations_rejected": rx.rejected if rx else 0,
            "reasons": n.summary.reasons,
        }

    def _write_status(self, fwd: Forwarder) -> None:
        try:
            atomic_write(self.spool.status_file, json.dumps(self.status(fwd), sort_keys=True).encode("ascii"))
        except OSError as exc:
            log.warning("cannot write %s: %s", self.spool.status_file.name, type(exc).__name__)

    def _status_endpoint(self, fwd: Forwarder) -> Any:
        """GET /status on 127.0.0.1:--status-port: the same JSON as status.json, live."""
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path.rstrip("/") not in ("", "/status"):
                    self.send_error(404)
                    return
                body = json.dumps(gateway.status(fwd), sort_keys=True).encode("ascii")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.cfg.status_port), Handler)
        threading.Thread(target=server.serve_forever, name="deid-status", daemon=True).start()
        return server


def read_status(spool: Spool) -> dict[str, Any]:
    """`deid serve --status`: the last status.json, with the spool depth counted now."""
    try:
        doc: dict[str, Any] = json.loads(spool.status_file.read_text("ascii"))
    except FileNotFoundError:
        doc = {"state": "never started"}
    except (OSError, ValueError) as exc:
        doc = {"state": f"unreadable status ({type(exc).__name__})"}
    doc["spool_depth"] = spool.depth()
    if doc.get("state") in ("running", "draining") and "pid" in doc:
        try:
            os.kill(int(doc["pid"]), 0)
        except ProcessLookupError:
            doc["state"] = "not running (it stopped without saying so: killed?)"
        except PermissionError:
            pass
    return doc
