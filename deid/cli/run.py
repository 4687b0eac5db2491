"""`deid run`: check the options and folders, hold the output and audit log, run, account
for every input, say what happened (text or JSON) and exit with a code a script can use."""
from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import AuditError, DeidError, VaultError
from ..printable import display
from . import app
from .common import FOUND, INTERNAL, INTERRUPTED, OK, console, fail
from .summary import Report, progress, show


@app.command()
def run(
    inputs: List[Path] = typer.Argument(..., help="Files or folders (recursive)."),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Output folder (created)."),
    pipeline: Optional[str] = typer.Option(None, "--pipeline", "-p", help="Shipped name or YAML file."),
    key_file: Optional[Path] = typer.Option(None, "--key-file", help="Secret key file (else DEID_KEY, else "
                                            "~/.config/deid/key). Make one first with `deid key new`."),
    audit: Optional[Path] = typer.Option(None, "--audit", help="Audit DB (default: <out>.audit.sqlite, beside --out)."),
    workers: int = typer.Option(0, "--workers", "-w", min=0, help="Worker processes (default: one per CPU). "
                                "For debugging in this process: --engine inline."),
    timeout: float = typer.Option(900, "--timeout", min=0, help="Seconds one input may take before it is "
                                  "quarantined (0 = no limit). Every engine stops Python code at the limit; "
                                  "the local pool also kills a worker stuck in native code."),
    max_memory: int = typer.Option(0, "--max-memory", min=0, help="Address-space limit per worker in MiB; an input "
                                   "that needs more is quarantined (0 = no limit; local engine)."),
    engine: str = typer.Option("local", "--engine", help="local (a supervised process pool), inline (this "
                               "process) or dask (a Dask cluster: --scheduler, else a LocalCluster)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Process everything and report what would be done "
                                 "(actions, file kinds); write no output, quarantine or audit."),
    naming: str = typer.Option("mirror", "--naming", help="mirror (input relative paths, identifying names "
                               "replaced) or pseudonymized."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress."),
    fmt: str = typer.Option("text", "--format", help="Summary on stdout: text, or json (one object)."),
    preview: Optional[Path] = typer.Option(None, "--preview", help="Write a PNG of each redacted output "
                                           "frame here, redacted boxes outlined (from the output, never the input)."),
    resume: Optional[bool] = typer.Option(None, "--resume/--restart", help="Continue an interrupted run of the same "
                                          "pipeline, key, inputs and output, skipping what it finished (the default "
                                          "when the audit log shows one), or start over."),
    vault: Optional[Path] = typer.Option(None, "--vault", help="Also keep a re-identification vault here: original "
                                         "-> pseudonym of patient IDs, UIDs and accession numbers, encrypted, for an "
                                         "honest broker (docs/vault.md). Off by default."),
    vault_key_file: Optional[Path] = typer.Option(None, "--vault-key-file", help="The vault's own key, never the "
                                                  "pseudonym key (else DEID_VAULT_KEY; created, mode 0600, for a "
                                                  "new vault)."),
) -> None:
    """De-identify INPUTs into --out. Inputs that cannot be processed go to <out>.quarantine/
    with a reason; every input is accounted for in the summary and the audit log."""
    from ..engine.discover import check_paths, discover
    from ..policy import load_pipeline
    from ..pseudonym import load_key

    for value, name, allowed in ((naming, "--naming", ("mirror", "pseudonymized")), (fmt, "--format", ("text", "json")),
                                 (engine, "--engine", ("inline", "local", "dask"))):
        if value not in allowed:
            fail(f"{name} must be one of {', '.join(allowed)}")
    if scheduler and engine != "dask":
        fail("--scheduler needs --engine dask")
    pipe = load_pipeline(pipeline)
    check_paths(inputs, out_dir)
    secret, _where = load_key(key_file)
    out_dir = out_dir.resolve()
    audit_path = (audit or out_dir.with_name(out_dir.name + ".audit.sqlite")).resolve()
    if out_dir in audit_path.parents:
        fail("--audit must not be inside --out: uploading the output would upload the audit log")
    if preview is not None and (out_dir == preview.resolve() or out_dir in preview.resolve().parents):
        fail("--preview must not be inside --out: previews are for people, not for upload")
    if vault is not None and vault.resolve() in (audit_path, out_dir):
        fail("--vault must be its own file, not the audit log or the output folder")
    if dry_run and (vault or vault_key_file):
        fail("--vault with --dry-run: a dry run writes nothing, so it keeps no vault either")
    counted = sum(1 for _ in discover(inputs))  # a counting walk: nothing is kept in memory
    if not counted:
        fail(f"no input files found in {', '.join(map(str, inputs))}: nothing to de-identify")
    rep = Report(pipe.name, out_dir, audit_path, out_dir.with_name(out_dir.name + ".quarantine"), vault, fmt)
    plan = Plan(pipe, secret, inputs, naming, counted, workers or os.cpu_count() or 1, timeout, max_memory, engine,
                scheduler, quiet, preview.resolve() if preview is not None else None, resume, vault, vault_key_file)
    if dry_run:
        _dry_run(rep, plan)
    from ..engine.lock import hold

    with hold(out_dir, audit_path):
        _run(rep, plan)


@dataclass(frozen=True)
class Plan:
    """What `deid run` was asked to do, checked."""
    pipe: object
    secret: bytes
    inputs: list[Path]
    naming: str
    counted: int            # inputs the counting walk found
    workers: int
    timeout: float
    max_memory: int
    engine: str
    scheduler: Optional[str]
    quiet: bool
    preview: Optional[Path]
    resume: Optional[bool]
    vault: Optional[Path]
    vault_key_file: Optional[Path]

    def run(self, job, log, skip=None, mappings=None):
        """The engine over every input, with a progress display."""
        from ..engine.discover import discover
        from ..engine.runner import run as run_items

        with progress(self.counted - len(skip or ()), self.quiet) as step:
            return run_items(discover(self.inputs), job, log, workers=self.workers, progress=step, skip=skip,
                             timeout=self.timeout, max_memory_mb=self.max_memory, engine=self.engine,
                             scheduler=self.scheduler, mappings=mappings)


def _prepare_folders(out_dir: Path, qdir: Path) -> None:
    """The output folder made (or an existing one checked), and the quarantine writable and
    private (0700), before any input is read: a layout that cannot work is a usage error."""
    if out_dir.exists() and not out_dir.is_dir():
        raise DeidError(f"--out {out_dir} exists and is not a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DeidError(f"cannot create --out {out_dir}: {exc.strerror or type(exc).__name__}") from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise DeidError(f"--out {out_dir} is not writable")
    if qdir.exists():
        if not qdir.is_dir() or not os.access(qdir, os.W_OK | os.X_OK):
            raise DeidError(f"the quarantine folder {qdir} is not a writable folder")
        if qdir.stat().st_uid == os.getuid():
            os.chmod(qdir, 0o700)
    elif not os.access(qdir.parent, os.W_OK | os.X_OK):
        raise DeidError(f"the quarantine folder {qdir} cannot be made: {qdir.parent} is not writable")


def _run(rep: Report, plan: Plan) -> None:
    from ..engine.accounting import check as accounting
    from ..engine.job import Job
    from ..engine.writer import remove_partials
    from ..handlers import Context
    from ..pseudonym import Pseudonymizer

    vdb = _open_vault(plan, rep.out) if plan.vault or plan.vault_key_file else None
    try:
        log, skip = _start(rep, plan, vdb)
    except DeidError:
        if vdb is not None:
            vdb.close()
        raise
    folders = [rep.out, rep.quarantine] + ([plan.preview] if plan.preview is not None else [])
    job = Job(Context(plan.pipe, Pseudonymizer(plan.secret), plan.preview is not None, collect_mappings=vdb is not None),
              rep.out, rep.quarantine, plan.naming, plan.preview, False)
    previous = signal.signal(signal.SIGTERM, _sigterm)  # a batch scheduler's stop: as Ctrl-C
    error, summary, problems = None, None, []
    try:
        summary = plan.run(job, log, skip, vdb.add if vdb is not None else None)
        problems = accounting(summary, log, rep.out)
    except DeidError as exc:  # e.g. --engine dask without dask installed, or the vault cannot store a mapping
        error = exc
    finally:
        signal.signal(signal.SIGTERM, previous)
    closing = _close(log, vdb, finish=summary is not None and not summary.interrupted)
    remove_partials(*folders)  # a killed worker's temp files (the lock says no other run writes here)
    if error is not None or summary is None:
        fail(str(error))
    if closing:  # the last batch of audit rows (or vault mappings) was not stored: a rerun redoes it
        summary.interrupted, summary.stop_reason = True, summary.stop_reason or closing
    show(rep, summary, plan.counted, problems)
    raise typer.Exit(exit_code(summary, problems))


def _start(rep: Report, plan: Plan, vdb):
    """The folders checked, the audit log open and a run started in it; (log, the path
    fingerprints an interrupted run of the same command finished)."""
    from ..audit.log import AuditLog
    from ..engine.writer import remove_partials
    from ..pseudonym import Pseudonymizer

    _prepare_folders(rep.out, rep.quarantine)
    log = AuditLog(rep.audit)
    if vdb is not None:
        log.before_commit = vdb.commit  # mappings are stored before an input counts as done
    pseudo = Pseudonymizer(plan.secret)
    # the vault is part of what a resume continues: with it, without it or another one, start over
    vault_part = "vault:" + str(vdb.path.resolve()) if vdb is not None else "no-vault"
    signature = pseudo.fingerprint("run:" + "\0".join([plan.pipe.policy_hash, plan.naming, str(rep.out), vault_part]
                                                       + sorted(str(p.resolve()) for p in plan.inputs)))
    try:
        earlier = log.unfinished(signature)
        skip: dict[str, str] = {}
        if earlier and plan.resume is not False:
            skip = log.done_paths(earlier)
            removed = remove_partials(rep.out, rep.quarantine, *([plan.preview] if plan.preview else []))
            console.print(f"resuming an interrupted run: {len(skip)} inputs already done are skipped"
                          + (f", {removed} temp files removed" if removed else ""), markup=False)
        log.start_run(plan.pipe.name, plan.pipe.policy_hash, _versions(), pseudo.key_id, signature)
    except BaseException:
        log.abandon()
        raise
    return log, skip


def exit_code(summary, problems: list[str]) -> int:
    if problems:
        return INTERNAL
    if summary.interrupted:
        return INTERRUPTED
    return FOUND if summary.quarantined or summary.errors or summary.skipped_quarantined else OK


def _dry_run(rep: Report, plan: Plan) -> None:
    """Everything processed, nothing written: the audit log is in memory, and thrown away."""
    from ..audit.log import AuditLog
    from ..engine.accounting import check as accounting
    from ..engine.job import Job
    from ..handlers import Context
    from ..pseudonym import Pseudonymizer
    from .summary import show_dry_run

    log = AuditLog(":memory:")
    log.start_run(plan.pipe.name, plan.pipe.policy_hash, {}, "")
    job = Job(Context(plan.pipe, Pseudonymizer(plan.secret)), rep.out, rep.quarantine, plan.naming, None, True)
    summary = plan.run(job, log)
    problems = accounting(summary, log, None)
    log.abandon()
    show_dry_run(rep, summary, plan.counted, problems)
    raise typer.Exit(exit_code(summary, problems))


def _versions() -> dict[str, str]:
    """Versions that decide the output, recorded with each run (OCR model wheel included)."""
    import sys
    from importlib.metadata import version as dist_version

    from .. import __version__

    out = {"deid": __version__, "python": sys.version.split()[0]}
    for dist in ("pydicom", "rapidocr", "onnxruntime", "opencv-python-headless", "numpy"):
        try:
            out[dist] = dist_version(dist)
        except Exception:
            out[dist] = "not installed"
    return out


def _open_vault(plan: Plan, out_dir: Path):
    """The vault this run writes (--vault), opened (and locked) before any input is processed."""
    from ..vault import open_for_run

    vdb, where = open_for_run(plan.vault, plan.vault_key_file, plan.secret, out_dir, plan.inputs)
    if where.startswith("created"):
        console.print(f"new vault key: {display(where[8:])} (mode 0600). Keep it apart from the pseudonym key: "
                      "without it the vault can never be read.", markup=False)
    return vdb


def _close(log, vdb, finish: bool) -> str:
    """Finish (when asked) and close the audit log, then the vault; '' when all went well,
    else why not. Each audit commit stores the vault's mappings first (log.before_commit);
    when the vault cannot, or the log cannot commit, the log's open batch is dropped, so
    its inputs do not count as done and a resumed run redoes them."""
    problem = ""
    try:
        if finish:
            log.finish_run()
        log.close()
    except (VaultError, AuditError) as exc:
        log.abandon()  # the mappings of that batch's inputs were not stored
        problem = str(exc)
    finally:
        if vdb is not None:
            try:
                vdb.close()
            except VaultError as exc:
                problem = problem or str(exc)
    return problem


def _sigterm(_signum, _frame) -> None:
    raise KeyboardInterrupt
