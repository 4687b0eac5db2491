"""The receiving application entity of `deid serve`: a storage SCP (PS3.4 Annex B) and
verification SCP (C-ECHO), on pynetdicom.

Who may send: a calling-AE allowlist (pynetdicom's require_calling_aet: others are
rejected at association, PS3.8 7.1.1.9 "calling AE title not recognized"), an optional
source-address allowlist (rejected at association too), and TLS (the listener's
certificate; with a CA, callers must present a certificate it signed). While the gateway
drains (SIGTERM), new associations are rejected as transient; open ones finish.

A C-STORE is answered with success only after the instance, as received (file meta and
data set, never decoded), is fsynced in the spool; a spool that cannot take it answers
0xA700 (out of resources), so the sender keeps the instance and tries again.
"""

from __future__ import annotations

import ipaddress
import logging
import queue
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from .spool import Spool

if TYPE_CHECKING:
    from pynetdicom.ae import ApplicationEntity
    from pynetdicom.events import Event
    from pynetdicom.transport import ThreadedAssociationServer

log = logging.getLogger(__name__)

OUT_OF_RESOURCES = 0xA700
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class ServerTLS:
    """The listener's certificate and key; `ca`: callers must present a certificate it
    signed (mutual TLS), else any caller that completes the handshake may try."""

    cert: Path
    key: Path
    ca: Path | None = None

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(self.cert), str(self.key))
        if self.ca is not None:
            ctx.load_verify_locations(cafile=str(self.ca))
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx


def shown_ae(aet: object) -> str:
    """A calling AE title as the audit and logs show it: printable ASCII, 16 at most."""
    return re.sub(r"[^0-9A-Za-z _.\-]", "?", str(aet).strip())[:16] or "?"


@dataclass
class Association:
    """What one association carried (for the audit and the status)."""

    number: int
    calling_ae: str
    address: str
    started: float = field(default_factory=time.monotonic)
    received: int = 0
    failed: int = 0
    bytes: int = 0
    rejected: str = ""  # why it was refused at association ('' when accepted)
    seconds: float = 0.0


class Receiver:
    def __init__(
        self,
        ae_title: str,
        host: str,
        port: int,
        spool: Spool,
        allow_ae: Sequence[str] = (),
        allow_ip: Sequence[Network] = (),
        tls: ServerTLS | None = None,
        on_stored: Callable[[], None] = lambda: None,
    ):
        self.ae_title, self.host, self.port, self.spool = ae_title, host, port, spool
        self.allow_ae, self.allow_ip, self.tls, self.on_stored = list(allow_ae), list(allow_ip), tls, on_stored
        self.draining = False
        self.ended: queue.SimpleQueue[Association] = queue.SimpleQueue()  # for the one audit writer
        self._open: dict[int, Association] = {}
        self._lock = threading.Lock()
        self._count = 0
        self.received = 0
        self.rejected = 0
        self._ae: ApplicationEntity | None = None
        self._server: ThreadedAssociationServer | None = None

    # -- life ------------------------------------------------------------------------
    def start(self) -> None:
        """Listen (OSError when the address cannot be bound)."""
        from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
        from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

        ae = AE(ae_title=self.ae_title)
        for cx in AllStoragePresentationContexts:
            ae.add_supported_context(str(cx.abstract_syntax), ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        if self.allow_ae:
            ae.require_calling_aet = self.allow_ae
        ae.maximum_associations = 32
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 60
        handlers = [
            (evt.EVT_C_STORE, self._store),
            (evt.EVT_C_ECHO, lambda _e: 0x0000),
            (evt.EVT_REQUESTED, self._requested),
            (evt.EVT_ACCEPTED, self._accepted),
            (evt.EVT_REJECTED, self._rejected),
            (evt.EVT_CONN_CLOSE, self._closed),
        ]
        self._ae = ae
        server = ae.start_server(
            (self.host, self.port),
            block=False,
            evt_handlers=handlers,  # type: ignore[arg-type]
            ssl_context=self.tls.context() if self.tls is not None else None,
        )
        assert server is not None  # block=False returns the server
        accept = server.get_request

        def get_request() -> tuple[socket.socket, tuple[str, int]]:
            sock, addr = accept()  # TCP_NODELAY: no ~40 ms Nagle/delayed-ACK wait per response
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            return sock, addr

        server.get_request = get_request  # type: ignore[method-assign]
        self._server = server

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens (the port chosen when --listen said 0)."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def count(self) -> int:
        """Associations requested so far (accepted or refused)."""
        return self._count

    def active(self) -> int:
        with self._lock:
            return sum(1 for a in self._open.values() if not a.rejected)

    def stop(self) -> None:
        """Stop listening; open associations are aborted (what they did not get success
        for, their senders still hold)."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._ae is not None:
            self._ae.shutdown()

    # -- events (on pynetdicom's threads) --------------------------------------------
    def _entry(self, event: Event) -> Association:
        key = id(event.assoc)
        with self._lock:
            a = self._open.get(key)
            if a is None:
                self._count += 1
                a = self._open[key] = Association(self._count, "?", str(event.assoc.requestor.address))
            if a.calling_ae == "?":
                a.calling_ae = _calling_ae(event)
            return a

    def _requested(self, event: Event) -> None:
        a = self._entry(event)
        why = ""
        if self.draining:
            why = "draining"
            event.assoc.acse.send_reject(0x02, 0x03, 0x01)  # transient, provider: temporary congestion
        elif self.allow_ip and not _allowed(a.address, self.allow_ip):
            why = "address-not-allowed"
            event.assoc.acse.send_reject(0x01, 0x01, 0x01)  # permanent, user: no reason given
        if why:
            a.rejected = why
            log.warning("association %d refused: %s (calling AE %s)", a.number, why, a.calling_ae)

    def _accepted(self, event: Event) -> None:
        self._entry(event)

    def _rejected(self, event: Event) -> None:
        a = self._entry(event)
        if not a.rejected:  # pynetdicom's own refusal: the allowlist, or its other limits
            if self.allow_ae and a.calling_ae.strip() not in self.allow_ae:
                a.rejected = "calling-ae-not-allowed"
            else:  # the called AE title, too many associations at once, ...
                a.rejected = "refused-by-the-dicom-layer"
            log.warning("association %d refused: %s (calling AE %s)", a.number, a.rejected, a.calling_ae)

    def _closed(self, event: Event) -> None:
        with self._lock:
            a = self._open.pop(id(event.assoc), None)
        if a is None:
            return
        a.seconds = time.monotonic() - a.started
        if a.rejected:
            with self._lock:
                self.rejected += 1
        self.ended.put(a)

    def _store(self, event: Event) -> int:
        a = self._entry(event)
        try:
            data = event.encoded_dataset(include_meta=True)
            self.spool.put(data)
        except Exception as exc:  # a full disk, a spool gone: the sender keeps it and retries
            a.failed += 1
            log.error("association %d: cannot spool an instance (%s)", a.number, type(exc).__name__)
            return OUT_OF_RESOURCES
        a.received += 1
        a.bytes += len(data)
        with self._lock:
            self.received += 1
        self.on_stored()
        return 0x0000


def _calling_ae(event: Event) -> str:
    """The calling AE title of the association request (known from A-ASSOCIATE-RQ on)."""
    req = event.assoc.requestor
    primitive = getattr(req, "primitive", None)
    aet = getattr(primitive, "calling_ae_title", None) if primitive is not None else None
    return shown_ae(aet or req.ae_title or "?")


def _allowed(address: str, nets: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in nets)


def parse_networks(values: Sequence[str]) -> list[Network]:
    """--allow-ip 10.1.2.3,10.9.0.0/16 -> networks (DeidError for a word that is not one)."""
    from ..errors import DeidError

    out: list[Network] = []
    for v in values:
        for part in filter(None, (p.strip() for p in v.split(","))):
            try:
                out.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise DeidError(
                    f"--allow-ip: {part!r} is not an address or network (e.g. 10.1.2.3 or 10.1.0.0/16)"
                ) from None
    return out


def summary_detail(a: Association) -> str:
    """The audit row's detail for one association: no value from any instance."""
    parts = [f"calling_ae={a.calling_ae}", f"address={a.address}"]
    if a.rejected:
        parts.append(f"rejected={a.rejected}")
    else:
        parts += [f"received={a.received}", f"failed={a.failed}", f"bytes={a.bytes}"]
    parts.append(f"seconds={a.seconds:.1f}")
    return " ".join(parts)
