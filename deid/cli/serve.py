"""`deid serve` (a DICOM gateway: receive, de-identify, forward) and `deid pull` (C-FIND +
C-GET from a PACS into the same pipeline). Thin: parse into a GatewayConfig
(deid/gateway/config.py), run (deid/gateway/), say what happened. docs/gateway.md."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, List, Optional

import typer

from . import app
from .common import console, emit, fail, set_log_level

GATEWAY_EXIT = (
    "Exit codes: 0 stopped (SIGTERM, Ctrl-C) with the spool drained; 2 configuration error "
    "(one line); 3 stopped with instances still spooled (the next start forwards them); 4 internal error."
)

# options `serve` and `pull` share (one definition each)
SPOOL = typer.Option(..., "--spool", help="Durable spool folder (private: it holds raw instances).")
FORWARD = typer.Option(None, "--forward", help="C-STORE destination AET@HOST:PORT.")
STOW = typer.Option(None, "--stow", help="STOW-RS base URL, e.g. http://127.0.0.1:8042/dicom-web.")
PIPELINE = typer.Option(None, "--pipeline", "-p", help="Shipped name or YAML file.")
KEY_FILE = typer.Option(None, "--key-file", help="Secret key file (else DEID_KEY, else ~/.config/deid/key).")
AUDIT = typer.Option(None, "--audit", help="Audit DB (default: <spool>.audit.sqlite).")
FORWARD_TLS_CA = typer.Option(
    None,
    "--forward-tls-ca",
    help="Forward (C-STORE) over TLS, checking the destination against this CA; also the CA for an https --stow.",
)
WORKERS = typer.Option(
    None,
    "--workers",
    min=0,
    help="Processes that de-identify and forward, each over its own association (default: one per core, "
    "at most 4; 0: in the receiving process, slower).",
)
LOG_LEVEL = typer.Option("WARNING", "--log-level", help="DEBUG, INFO, WARNING or ERROR (never a value).")


@app.command(
    help="A DICOM gateway: accept C-ECHO and C-STORE, keep each instance in --spool (fsynced before the "
    "sender hears success), de-identify it as `deid run` would (same pipeline, key, verify, audit) and "
    "forward it with C-STORE (--forward) and/or STOW-RS (--stow); what cannot be forwarded goes to "
    "<spool>/quarantine with a reason. `deid serve --status --spool DIR` shows the counters.\n\n" + GATEWAY_EXIT
)
def serve(
    spool: Path = SPOOL,
    status: bool = typer.Option(False, "--status", help="Print the gateway's counters for --spool as JSON, and exit."),
    listen: str = typer.Option("0.0.0.0:11112", "--listen", help="HOST:PORT to listen on."),
    ae_title: str = typer.Option("DEID", "--ae-title", help="This gateway's AE title."),
    forward: Optional[str] = FORWARD,
    stow: Optional[str] = STOW,
    pipeline: Optional[str] = PIPELINE,
    key_file: Optional[Path] = KEY_FILE,
    audit: Optional[Path] = AUDIT,
    allow_ae: List[str] = typer.Option(
        [],
        "--allow-ae",
        help="Calling AE titles that may send (comma-separated or repeated); others are rejected at association.",
    ),
    allow_ip: List[str] = typer.Option(
        [], "--allow-ip", help="Source addresses or networks that may send (e.g. 10.1.0.0/16)."
    ),
    allow_any_caller: bool = typer.Option(
        False,
        "--allow-any-caller",
        help="Listen on a network address with no --allow-ae (any calling AE may send); refused otherwise.",
    ),
    tls_cert: Optional[Path] = typer.Option(None, "--tls-cert", help="Listen with TLS: this certificate (PEM)."),
    tls_key: Optional[Path] = typer.Option(None, "--tls-key", help="... and its private key (PEM)."),
    tls_ca: Optional[Path] = typer.Option(
        None, "--tls-ca", help="Require callers' certificates signed by this CA (mutual TLS)."
    ),
    forward_tls_ca: Optional[Path] = FORWARD_TLS_CA,
    timeout: float = typer.Option(900, "--timeout", min=0, help="Seconds one instance may take to de-identify."),
    drain_seconds: float = typer.Option(
        60, "--drain-seconds", min=0, help="On SIGTERM: how long to go on forwarding the spool."
    ),
    status_port: int = typer.Option(
        0, "--status-port", min=0, help="Also serve the counters as JSON on http://127.0.0.1:PORT/status."
    ),
    workers: Optional[int] = WORKERS,
    log_level: str = LOG_LEVEL,
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
        allow_any_caller=allow_any_caller,
        workers=workers,
    )
    raise typer.Exit(Gateway(cfg, lambda line: console.print(line, markup=False)).run())


@app.command(
    help="Fetch studies from a PACS (C-FIND, then C-GET) for a CSV list of AccessionNumber, PatientID or "
    "StudyInstanceUID values, de-identify them as `deid serve` does and forward them (--forward and/or --stow). "
    "Resumable: rows already fetched are remembered as keyed fingerprints in the spool and skipped by a rerun.\n\n"
    "Exit codes: 0 every row fetched and forwarded; 1 some rows not found or failed, or instances quarantined; "
    "2 configuration error; 3 instances still spooled (destination down): run again."
)
def pull(
    source: str = typer.Option(..., "--from", help="The PACS: AET@HOST:PORT (it must know --ae-title)."),
    rows: Path = typer.Option(..., "--list", help="CSV with a header: AccessionNumber, PatientID or StudyInstanceUID."),
    spool: Path = SPOOL,
    ae_title: str = typer.Option("DEID", "--ae-title", help="This AE's title (calling the PACS and the destination)."),
    forward: Optional[str] = FORWARD,
    stow: Optional[str] = STOW,
    pipeline: Optional[str] = PIPELINE,
    key_file: Optional[Path] = KEY_FILE,
    audit: Optional[Path] = AUDIT,
    forward_tls_ca: Optional[Path] = FORWARD_TLS_CA,
    workers: Optional[int] = WORKERS,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    log_level: str = LOG_LEVEL,
) -> None:
    from ..engine.sinks.cstore import Peer
    from ..gateway.config import GatewayConfig
    from ..gateway.pull import pull as run_pull
    from ..gateway.pull import read_list

    set_log_level(log_level)
    peer = Peer.parse(source, "--from")
    cfg = GatewayConfig.build(
        listen="127.0.0.1:0",
        ae_title=ae_title,
        spool=spool,
        pipeline=pipeline,
        key_file=key_file,
        audit=audit,
        forward=forward,
        stow=stow,
        forward_tls_ca=forward_tls_ca,
        workers=workers,
    )
    todo = read_list(rows)
    res = run_pull(cfg, peer, todo, lambda total: _bar(total, quiet), lambda line: console.print(line, markup=False))
    raise typer.Exit(res.exit_code)


@contextmanager
def _bar(total: int, quiet: bool) -> Iterator[Callable[[], None]]:
    """A progress bar over the list's rows (on a terminal, unless --quiet)."""
    if quiet or not console.is_terminal:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("pull"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task("rows", total=total)
        yield lambda: bar.advance(task)
