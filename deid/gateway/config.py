"""What `deid serve` (and `deid pull`) is asked to do: one GatewayConfig, checked as it is
built. Every problem found here is a configuration error (DeidError: one line, exit 2),
found before anything listens or is received."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..engine.sinks.cstore import ClientTLS, CStoreSink, Peer, check_ae_title
from ..engine.sinks.peer import FanoutSink, PeerSink
from ..engine.sinks.stow import StowSink, check_url
from ..errors import DeidError
from .scp import Network, ServerTLS, parse_networks
from .spool import Spool

if TYPE_CHECKING:
    from ..policy import Pipeline


MAX_DEFAULT_WORKERS = 4  # each worker holds an association to the destination: a PACS may limit them


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise DeidError("--listen must be HOST:PORT (e.g. 0.0.0.0:11112, or 127.0.0.1:11112 for this host only)")
    return host.strip("[]"), int(port)


def _file(path: Path | None, option: str) -> Path | None:
    if path is None:
        return None
    if not path.is_file():
        raise DeidError(f"{option} {path}: no such file")
    return path.resolve()


@dataclass(frozen=True)
class GatewayConfig:
    host: str
    port: int
    ae_title: str
    spool: Path  # resolved
    audit: Path  # resolved
    pipeline: Pipeline
    secret: bytes = field(repr=False)
    forward: Peer | None = None
    stow: str | None = None
    allow_ae: tuple[str, ...] = ()
    allow_ip: tuple[Network, ...] = ()
    tls: ServerTLS | None = None
    forward_tls: ClientTLS | None = None
    stow_ca: Path | None = None
    timeout: float = 900.0  # seconds one instance may take to de-identify
    drain_seconds: float = 60.0  # on SIGTERM: how long to keep forwarding what is spooled
    status_port: int = 0  # a JSON status endpoint on 127.0.0.1 (0: none)
    workers: int = 1  # de-identifying processes (0: in the gateway's own process)

    @classmethod
    def build(
        cls,
        *,
        listen: str,
        ae_title: str,
        spool: Path,
        pipeline: str | None,
        key_file: Path | None,
        audit: Path | None,
        forward: str | None = None,
        stow: str | None = None,
        allow_ae: Sequence[str] = (),
        allow_ip: Sequence[str] = (),
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        tls_ca: Path | None = None,
        forward_tls_ca: Path | None = None,
        timeout: float = 900.0,
        drain_seconds: float = 60.0,
        status_port: int = 0,
        allow_any_caller: bool = False,
        workers: int | None = None,
    ) -> GatewayConfig:
        from ..policy import load_pipeline
        from ..pseudonym import load_key

        host, port = parse_listen(listen)
        check_ae_title(ae_title, "--ae-title")
        if not forward and not stow:
            raise DeidError("say where de-identified instances go: --forward AET@HOST:PORT and/or --stow URL")
        peer = Peer.parse(forward) if forward else None
        url = check_url(stow) if stow else None
        aes = tuple(a.strip() for v in allow_ae for a in v.split(",") if a.strip())
        for a in aes:
            check_ae_title(a, "--allow-ae")
        if not aes and not allow_any_caller and not _loopback(host):
            raise DeidError(
                f"listening on {host} with no --allow-ae would take images from any caller: name the "
                "modalities and PACS that may send (--allow-ae CT1,PACS), or say --allow-any-caller"
            )
        if bool(tls_cert) != bool(tls_key):
            raise DeidError("--tls-cert and --tls-key go together (the listener's certificate and its private key)")
        if tls_ca and not tls_cert:
            raise DeidError("--tls-ca needs --tls-cert and --tls-key (it checks callers' certificates)")
        server_tls = None
        if tls_cert and tls_key:
            _file(tls_cert, "--tls-cert"), _file(tls_key, "--tls-key")
            server_tls = ServerTLS(tls_cert.resolve(), tls_key.resolve(), _file(tls_ca, "--tls-ca"))
            try:
                server_tls.context()
            except (ssl.SSLError, OSError) as exc:
                raise DeidError(
                    f"--tls-cert/--tls-key/--tls-ca cannot be loaded ({type(exc).__name__}): check the PEM files"
                ) from None
        ca = _file(forward_tls_ca, "--forward-tls-ca")
        client_tls = (
            ClientTLS(ca, server_tls.cert if server_tls else None, server_tls.key if server_tls else None)
            if ca
            else None
        )
        pipe = load_pipeline(pipeline)
        secret, _where = load_key(key_file)
        spool = spool.resolve()
        audit_path = (audit or spool.with_name(spool.name + ".audit.sqlite")).resolve()
        if spool in audit_path.parents:
            raise DeidError("--audit must not be inside --spool")
        if spool.exists() and not spool.is_dir():
            raise DeidError(f"--spool {spool} exists and is not a folder")
        if not 0 <= status_port < 65536:
            raise DeidError("--status-port must be a port number (0: no status endpoint)")
        if workers is not None and workers < 0:
            raise DeidError("--workers must be 0 (in the gateway's process) or more")
        return cls(
            host,
            port,
            ae_title,
            spool,
            audit_path,
            pipe,
            secret,
            peer,
            url,
            aes,
            tuple(parse_networks(list(allow_ip))),
            server_tls,
            client_tls,
            ca,
            timeout,
            drain_seconds,
            status_port,
            min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS) if workers is None else workers,
        )

    def sink(self) -> PeerSink:
        """Where de-identified instances go: the C-STORE peer, the STOW-RS endpoint, or both;
        the quarantine is the spool's, private and local."""
        q = Spool(self.spool).quarantine
        sinks: list[PeerSink] = []
        if self.forward is not None:
            sinks.append(CStoreSink(self.forward, q, Spool(self.spool).outgoing, self.ae_title, self.forward_tls))
        if self.stow is not None:
            sinks.append(StowSink(self.stow, q, self.stow_ca))
        return sinks[0] if len(sinks) == 1 else FanoutSink(sinks, q)


def _loopback(host: str) -> bool:
    """Only this machine can call (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
