"""`deid run`: parse the options into a RunConfig (deid/engine/config.py: checked as it is
built), run it (deid/engine/session.py: hold the output and audit log, run, account for
every input) and say what happened, as text or JSON, with an exit code a script can use."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, List, Optional

import typer

from . import app
from .common import EXIT_CODES, console, set_log_level
from .summary import progress, render

if TYPE_CHECKING:
    from ..core import AuditEvent
    from ..engine.config import RunConfig
    from ..engine.session import ReleaseStep
    from ..engine.sinks import Sink


@app.command(
    help="De-identify INPUTs into --out. Inputs that cannot be processed go to <out>.quarantine/ with a "
    "reason; every input is accounted for in the summary and the audit log.\n\n" + EXIT_CODES
)
def run(
    inputs: List[Path] = typer.Argument(..., help="Files or folders (recursive)."),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Output folder (created)."),
    pipeline: Optional[str] = typer.Option(None, "--pipeline", "-p", help="Shipped name or YAML file."),
    key_file: Optional[Path] = typer.Option(
        None,
        "--key-file",
        help="Secret key file (else DEID_KEY, else ~/.config/deid/key). Make one first with `deid key new`.",
    ),
    audit: Optional[Path] = typer.Option(None, "--audit", help="Audit DB (default: <out>.audit.sqlite, beside --out)."),
    workers: int = typer.Option(
        0,
        "--workers",
        "-w",
        min=0,
        help="Worker processes (default: one per CPU). For debugging in this process: --engine inline.",
    ),
    timeout: float = typer.Option(
        900,
        "--timeout",
        min=0,
        help="Seconds one input may take before it is "
        "quarantined (0 = no limit). Every engine stops Python code at the limit; "
        "the local pool also kills a worker stuck in native code.",
    ),
    max_memory: int = typer.Option(
        0,
        "--max-memory",
        min=0,
        help="Address-space limit per worker in MiB; an input "
        "that needs more is quarantined (0 = no limit; local engine).",
    ),
    engine: str = typer.Option(
        "local",
        "--engine",
        help="local (a supervised process pool), inline (this "
        "process) or dask (a Dask cluster: --scheduler, else a LocalCluster).",
    ),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786."),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Process everything and report what would be done "
        "(actions, file kinds); write no output, quarantine or audit.",
    ),
    naming: str = typer.Option(
        "mirror", "--naming", help="mirror (input relative paths, identifying names replaced) or pseudonymized."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress."),
    fmt: str = typer.Option("text", "--format", help="Summary on stdout: text, or json (one object)."),
    preview: Optional[Path] = typer.Option(
        None,
        "--preview",
        help="Write a PNG of each redacted output "
        "frame here, redacted boxes outlined (from the output, never the input).",
    ),
    resume: Optional[bool] = typer.Option(
        None,
        "--resume/--restart",
        help="Continue an interrupted run of the same "
        "pipeline, key, inputs and output, skipping what it finished (the default "
        "when the audit log shows one), or start over.",
    ),
    vault: Optional[Path] = typer.Option(
        None,
        "--vault",
        help="Also keep a re-identification vault here: original "
        "-> pseudonym of patient IDs, UIDs and accession numbers, encrypted, for an "
        "honest broker (docs/vault.md). Off by default.",
    ),
    vault_key_file: Optional[Path] = typer.Option(
        None,
        "--vault-key-file",
        help="The vault's own key, never the pseudonym key (else DEID_VAULT_KEY; created, mode 0600, for a new vault).",
    ),
    log_level: str = typer.Option(
        "WARNING",
        "--log-level",
        help="Diagnostics on stderr: DEBUG, INFO, WARNING or "
        "ERROR (counts and stages, never a value or an input path).",
    ),
) -> None:
    from ..engine.config import RunConfig
    from ..engine.session import execute

    set_log_level(log_level)
    cfg = RunConfig.build(
        inputs,
        out_dir,
        pipeline=pipeline,
        key_file=key_file,
        audit=audit,
        engine=engine,
        workers=workers,
        timeout=timeout,
        max_memory=max_memory,
        scheduler=scheduler,
        dry_run=dry_run,
        naming=naming,
        fmt=fmt,
        preview=preview,
        resume=resume,
        vault=vault,
        vault_key_file=vault_key_file,
    )
    result = execute(
        cfg,
        lambda total: progress(total, quiet),
        lambda line: console.print(line, markup=False),
        release_step(cfg) if cfg.pipeline.risk.k else None,
    )
    raise typer.Exit(render(cfg, result))


def release_step(cfg: RunConfig) -> ReleaseStep:
    """The pipeline's `risk.k` reached over the whole output, after every input is written
    (deid/risk/release.py)."""
    from ..risk.release import reach_k

    def step(sink: Sink, record: Callable[[str, list[AuditEvent]], None], fingerprint: Callable[[str], str]) -> object:
        return reach_k(Path(sink.where), cfg.pipeline, fingerprint, record, sink.put)

    return step
