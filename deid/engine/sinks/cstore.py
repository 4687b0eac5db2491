"""The C-STORE sink (`deid serve --forward AET@HOST:PORT`): each output sent to a DICOM
storage SCP (PS3.4 Annex B, PS3.7 9.1.1) over a few kept-open associations; `put`
returns only once the peer answered with success (or a warning, B.2.3).

The data set is sent as the bytes deid wrote (pynetdicom's chunked send from a file: a
private scratch file per put, removed after), never decoded and re-encoded, so the peer
receives byte for byte the data set `deid run` writes to a file. It is offered in its
own transfer syntax only (one presentation context per SOP class and syntax); a peer
that accepts neither the SOP class nor that syntax refuses it for good (quarantined:
"transfer-syntax-not-accepted").

Status classes (PS3.4 B.2.3, C.4.2.1.4; PS3.7 C): success and warnings (0xB000, 0xB006,
0xB007) and 0x0111 (the peer has this instance: deid's UIDs are keyed, so it is the same
one) are delivered; 0xA9xx, 0xCxxx, 0x0117, 0x0122, 0x0124 are a refusal for good
(quarantined with the code); everything else (0xA7xx out of resources, 0x0110, 0x0213,
no answer, a refused association) is transient: tried again, then the peer is down.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ...errors import DeidError
from ..writer import PRIVATE_DIR, find_partials, make_dirs
from . import DestinationDown, Refused
from .peer import BACKOFF, PeerSink, pause

if TYPE_CHECKING:
    from pynetdicom.association import Association

log = logging.getLogger(__name__)

DELIVERED = {0x0000, 0xB000, 0xB006, 0xB007, 0x0111}
PERMANENT = {0x0117, 0x0122, 0x0124}
MAX_CONTEXTS = 120  # of the 128 an association may propose (PS3.8 9.3.2.2)


def tune(assoc: Association) -> None:
    """What every association deid requests needs on top of pynetdicom (C-STORE here,
    C-FIND/C-GET in `deid pull`):

    - TCP_NODELAY on its socket: a C-STORE is a few small writes, and Nagle's algorithm
      with the peer's delayed ACK costs ~40 ms on each (20 instances/s).
    - No response lost to a race in pynetdicom (3.0): a send pauses the association's
      reactor thread by a flag the reactor sets before it blocks. A send that follows the
      previous one before the reactor has run again sees the old flag, and the reactor
      can then take the peer's response off the queue ("Received unexpected C-STORE
      service message") and drop it: the send waits out the DIMSE timeout (30 s) and the
      instance is sent again. Seen about once per 1,000 instances on a busy 2-core machine.
      A response the reactor takes is put back at the head of the queue (in its place:
      a C-FIND's pending answers stay in order), where the send waits for it. (After a send
      that timed out the association is aborted, so a late response is never taken as the
      answer to the next one.)"""
    sock = getattr(getattr(assoc.dul, "socket", None), "socket", None)
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
    serve = assoc._serve_request

    def serve_requests_only(msg: Any, context_id: int) -> None:
        if msg.is_valid_request:
            serve(msg, context_id)
            return
        q = assoc.dimse.msg_queue
        with q.mutex:
            q.queue.appendleft((context_id, msg))
            q.not_empty.notify()

    assoc._serve_request = serve_requests_only  # type: ignore[method-assign]


def status_is_permanent(code: int) -> bool:
    return code in PERMANENT or 0xA900 <= code <= 0xA9FF or 0xC000 <= code <= 0xCFFF


@dataclass(frozen=True)
class Peer:
    """A DICOM application entity: AET@HOST:PORT."""

    ae_title: str
    host: str
    port: int

    @classmethod
    def parse(cls, text: str, option: str = "--forward") -> Peer:
        aet, sep, rest = text.partition("@")
        host, sep2, port = rest.rpartition(":")
        if not (sep and sep2 and aet and host and port.isdigit()) or not 0 < int(port) < 65536:
            raise DeidError(f"{option} must be AET@HOST:PORT (e.g. RESEARCH@127.0.0.1:4242)")
        check_ae_title(aet, option)
        return cls(aet, host.strip("[]"), int(port))

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"


def check_ae_title(aet: str, option: str) -> None:
    """PS3.5 6.2 (AE): 1-16 characters, no backslash or control characters, not all spaces."""
    if not 0 < len(aet) <= 16 or not aet.strip() or any(c == "\\" or not c.isprintable() for c in aet):
        raise DeidError(f"{option}: an AE title is 1-16 printable characters (no backslash)")


@dataclass(frozen=True)
class ClientTLS:
    """TLS towards the peer: the CA that signed its certificate, and our own certificate
    when the peer asks for one."""

    ca: Path
    cert: Path | None = None
    key: Path | None = None

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca))
        if self.cert is not None:
            ctx.load_cert_chain(str(self.cert), str(self.key) if self.key else None)
        return ctx


class CStoreSink(PeerSink):
    def __init__(
        self,
        peer: Peer,
        quarantine_dir: Path,
        scratch: Path,
        calling_aet: str = "DEID",
        tls: ClientTLS | None = None,
        timeout: float = 30.0,
        attempts: int = len(BACKOFF) + 1,
        associations: int = 1,
    ):
        super().__init__(quarantine_dir)
        # at most this many open at once: pynetdicom runs two polling threads per association,
        # and on 2 cores one association forwarded more instances/s than 2 or 4 (docs/gateway.md)
        self.associations = associations
        self.scratch = scratch  # private: de-identified outputs wait here while they are sent
        self.peer, self.calling_aet, self.tls, self.timeout, self.attempts = peer, calling_aet, tls, timeout, attempts
        self._idle: queue.SimpleQueue[Association] = queue.SimpleQueue()
        self._slots = threading.BoundedSemaphore(associations)

    def __getstate__(self) -> dict[str, Any]:  # a sink is sent to workers: connections stay here
        state = dict(self.__dict__)
        state["_idle"] = state["_slots"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._idle = queue.SimpleQueue()
        self._slots = threading.BoundedSemaphore(self.associations)

    @property
    def where(self) -> str:
        return f"dicom://{self.peer}"

    def prepare(self) -> None:
        super().prepare()
        make_dirs(self.scratch, PRIVATE_DIR)

    def partials(self) -> Iterator[Path]:
        yield from super().partials()
        yield from find_partials(self.scratch)

    def put(self, rel: str, data: bytes) -> str:
        from pynetdicom import _config
        from pynetdicom.dsutils import split_dataset

        _config.STORE_SEND_CHUNKED_DATASET = True  # a path is sent as its bytes, not re-encoded
        make_dirs(self.scratch, PRIVATE_DIR)
        fd, tmp = tempfile.mkstemp(prefix=".deid-", suffix=".part", dir=self.scratch)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            meta, _offset = split_dataset(Path(tmp))
            with self._slots:  # each association costs two polling threads in pynetdicom: a few suffice
                return self._send(Path(tmp), str(meta.MediaStorageSOPClassUID), str(meta.TransferSyntaxUID))
        finally:
            os.unlink(tmp)

    def _send(self, path: Path, sop_class: str, syntax: str) -> str:
        why = "no-answer"
        for attempt in range(self.attempts):
            if attempt:
                pause(attempt - 1)
            try:
                assoc = self._association(sop_class, syntax)
            except DestinationDown as exc:
                why = str(exc)
                continue
            try:
                status = assoc.send_c_store(path)
            except ValueError:  # no accepted presentation context for this SOP class / syntax
                self._keep(assoc)
                raise Refused("transfer-syntax-not-accepted") from None
            except (RuntimeError, OSError, AttributeError) as exc:
                assoc.abort()
                why = f"send-failed: {type(exc).__name__}"
                continue
            code = getattr(status, "Status", None) if status else None
            if code is None:  # aborted, timed out, or the peer went away mid-message
                assoc.abort()
                why = "no-answer"
                continue
            self._keep(assoc)
            if code in DELIVERED:
                return str(self.peer)
            if status_is_permanent(code):
                raise Refused(f"0x{code:04X}")
            why = f"status 0x{code:04X}"
        raise DestinationDown(f"{self.peer.ae_title}: {why} after {self.attempts} attempts")

    def _association(self, sop_class: str, syntax: str) -> Association:
        """An idle association that accepted this SOP class in this syntax (or one
        pynetdicom converts to), else a new one that proposes it."""
        while True:
            try:
                assoc = self._idle.get_nowait()
            except queue.Empty:
                break
            if not assoc.is_established:
                continue
            if any(
                cx.abstract_syntax == sop_class and cx.transfer_syntax and cx.transfer_syntax[0] == syntax
                for cx in assoc.accepted_contexts
            ):
                return assoc
            proposed: set[tuple[str | None, str | None]] = {
                (cx.abstract_syntax, cx.transfer_syntax[0]) for cx in assoc.accepted_contexts
            }
            assoc.release()
            return self._associate(sop_class, syntax, proposed)
        return self._associate(sop_class, syntax, set())

    def _associate(self, sop_class: str, syntax: str, more: set[tuple[str | None, str | None]]) -> Association:
        from pynetdicom import AE
        from pynetdicom.presentation import build_context

        ae = AE(ae_title=self.calling_aet)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = self.timeout
        # one context per (SOP class, syntax): what the peer accepts is exactly what is sent
        ae.requested_contexts = [build_context(sop_class, [syntax])]
        for abstract, ts in sorted((a, t) for a, t in more if a and t and a != sop_class)[: MAX_CONTEXTS - 1]:
            ae.add_requested_context(abstract, ts)
        kw: dict[str, Any] = {"ae_title": self.peer.ae_title}
        if self.tls is not None:
            kw["tls_args"] = (self.tls.context(), self.peer.host)
        try:
            assoc = ae.associate(self.peer.host, self.peer.port, **kw)
        except (OSError, ssl.SSLError) as exc:
            raise DestinationDown(f"cannot connect ({type(exc).__name__})") from None
        if not assoc.is_established:
            refused = [cx for cx in assoc.rejected_contexts if cx.abstract_syntax == sop_class]
            if refused and not assoc.is_rejected:  # it answered, accepting none of what was proposed
                raise Refused("sop-class-not-accepted" if refused[0].result == 0x03 else "transfer-syntax-not-accepted")
            what = "rejected the association" if assoc.is_rejected else "cannot connect (no association)"
            raise DestinationDown(what)
        tune(assoc)
        return assoc

    def _keep(self, assoc: Association) -> None:
        if assoc.is_established:
            self._idle.put(assoc)

    def close(self) -> None:
        while True:
            try:
                assoc = self._idle.get_nowait()
            except queue.Empty:
                return
            if assoc.is_established:
                assoc.release()
