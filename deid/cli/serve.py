"""`deid serve` (a DICOM gateway: receive, de-identify, forward) and `deid pull` (C-FIND +
C-GET from a PACS into the same pipeline). Thin: parse into a GatewayConfig
(deid/gateway/config.py), run (deid/gateway/), say what happened. docs/gateway.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from . import app
from .common import console, emit, fail, set_log_level

GATEWAY_EXIT = (
    "Exit codes: 0 stopped (SIGTERM, Ctrl-C) with the spool drained; 2 configuration error "
    "(one line); 3 stopped with instances still spooled (the next start forwards them); 4 internal error."
)


@app.command(
    help="A DICOM gateway: accept C-ECHO and C-STORE, keep each instance in --spool (fsynced before the "
    "sender hears success), de-identify it as `deid run` would (same pipeline, key, verify, audit) and "
    "forward it with C-STORE (--forward) and/or STOW-RS (--stow); what cannot be forwarded goes to "
    "<spool>/quarantine with a reason. `deid serve --status --spool DIR` shows the counters.\n\n" + GATEWAY_EXIT
)
def serve(
    spool: Path = typer.Option(..., "--spool", help="Durable spool folder (private: it holds raw instances)."),
    status: bool = typer.Option(False, "--status", help="Print the gateway's counters for --spool as JSON, and exit."),
    listen: str = typer.Option("0.0.0.0:11112", "--listen", help="HOST:PORT to listen on."),
    ae_title: str = typer.Option("DEID", "--ae-title", help="This gateway's AE title."),
    forward: Optional[str] = typer.Option(None, "--forward", help="C-STORE destination AET@HOST:PORT."),
    stow: Optional[str] = typer.Option(None, "--stow", help="STOW-RS base URL, e.g. http://127.0.0.1:8042/dicom-web."),
    pipeline: Optional[str] = typer.Option(None, "--pipeline", "-p", help="Shipped name or YAML file."),
    key_file: Optional[Path] = typer.Option(
        None, "--key-file", help="Secret key file (else DEID_KEY, else ~/.config/deid/key)."
    ),
    audit: Optional[Path] = typer.Option(None, "--audit", help="Audit DB (default: <spool>.audit.sqlite)."),
    allow_ae: List[str] = typer.Option(
        [],
        "--allow-ae",
        help="Calling AE titles that may send (comma-separated or repeated); others are rejected at association.",
    ),
    allow_ip: List[str] = typer.Option(
        [], "--allow-ip", help="Source addresses or networks that may send (e.g. 10.1.0.0/16)."
    ),
    tls_cert: Optional[Path] = typer.Option(None, "--tls-cert", help="Listen with TLS: this certificate (PEM)."),
    tls_key: Optional[Path] = typer.Option(None, "--tls-key", help="... and its private key (PEM)."),
    tls_ca: Optional[Path] = typer.Option(
        None, "--tls-ca", help="Require callers' certificates signed by this CA (mutual TLS)."
    ),
    forward_tls_ca: Optional[Path] = typer.Option(
        None,
        "--forward-tls-ca",
        help="Forward (C-STORE) over TLS, checking the destination against this CA; also the CA for an https --stow.",
    ),
    timeout: float = typer.Option(900, "--timeout", min=0, help="Seconds one instance may take to de-identify."),
    drain_seconds: float = typer.Option(
        60, "--drain-seconds", min=0, help="On SIGTERM: how long to go on forwarding the spool."
    ),
    status_port: int = typer.Option(
        0, "--status-port", min=0, help="Also serve the counters as JSON on http://127.0.0.1:PORT/status."
    ),
    log_level: str = typer.Option("WARNING", "--log-level", help="DEBUG, INFO, WARNING or ERROR (never a value)."),
) -> None:
    from ..gateway.spool import Spool

    set_log_level(log_level)
    if status:
        from ..gateway.service import read_status

        if not spool.is_dir():
            fail(f"--spool {spool} is not a gateway's spool folder")
        emit(json.dumps(read_status(Spool(spool)), sort_keys=True))
        raise typer.Exit(0)
    from ..gateway.config import GatewayConfig
    from ..gateway.service import Gateway

    cfg = GatewayConfig.build(
        listen=listen,
        ae_title=ae_title,
        spool=spool,
        pipeline=pipeline,
        key_file=key_file,
        audit=audit,
        forward=forward,
        stow=stow,
        allow_ae=allow_ae,
        allow_ip=allow_ip,
        tls_cert=tls_cert,
        tls_key=tls_key,
        tls_ca=tls_ca,
        forward_tls_ca=forward_tls_ca,
        timeout=timeout,
        drain_seconds=drain_seconds,
        status_port=status_port,
    )
    raise typer.Exit(Gateway(cfg, lambda line: console.print(line, markup=False)).run())
