"""deid command line. Thin: parse, call, print.

Exit codes: 0 all inputs clean; 1 some inputs quarantined (or a check/verify
found a problem); 2 usage or configuration error.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from rich.text import Text
from rich.table import Table

from . import __version__
from .errors import DeidError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="De-identify DICOM and patient records, and prove what was removed.\n\n"
                       "Exit codes: 0 clean, 1 some inputs quarantined / check failed, 2 usage or config error.")
policy_app = typer.Typer(no_args_is_help=True, help="Inspect and validate pipelines.")
audit_app = typer.Typer(no_args_is_help=True, help="Verify, show and export audit logs.")
app.add_typer(policy_app, name="policy")
app.add_typer(audit_app, name="audit")
vault_app = typer.Typer(no_args_is_help=True, help="The honest broker's re-identification vault: look up, export.")
app.add_typer(vault_app, name="vault")
console = Console(stderr=True)
out = Console()


def _fail(msg: str, code: int = 2) -> None:
    console.print(f"[red]error:[/red] {msg}")
    raise typer.Exit(code)


def _versions(dist_version) -> dict[str, str]:
    """Versions that decide the output, recorded with each run (OCR model wheel included)."""
    out = {"deid": __version__, "python": sys.version.split()[0]}
    for dist in ("pydicom", "rapidocr", "onnxruntime", "opencv-python-headless", "numpy"):
        try:
            out[dist] = dist_version(dist)
        except Exception:
            out[dist] = "not installed"
    return out


@app.command()
def run(
    inputs: List[Path] = typer.Argument(..., help="Files or folders (recursive)."),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Output folder (created)."),
    pipeline: Optional[str] = typer.Option(None, "--pipeline", "-p", help="Shipped name or YAML file."),
    key_file: Optional[Path] = typer.Option(None, "--key-file", help="Secret key file (else DEID_KEY, "
                                            "else ~/.config/deid/key, created on first use)."),
    audit: Optional[Path] = typer.Option(None, "--audit", help="Audit DB (default: <out>.audit.sqlite, beside --out)."),
    workers: int = typer.Option(0, "--workers", "-w", min=0, help="Worker processes (default: one per CPU; "
                                "1 = all in this process, for debugging)."),
    timeout: float = typer.Option(900, "--timeout", min=0, help="Seconds one input may take before its worker is "
                                  "stopped and the input quarantined (0 = no limit; needs --workers > 1)."),
    max_memory: int = typer.Option(0, "--max-memory", min=0, help="Address-space limit per worker in MiB; an input "
                                   "that needs more is quarantined (0 = no limit)."),
    engine: str = typer.Option("local", "--engine", help="inline (this process), local (a process pool) or dask "
                               "(a Dask cluster: --scheduler, else a LocalCluster)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Process everything and report what would be done "
                                 "(actions, file kinds); write no output, quarantine or audit."),
    naming: str = typer.Option("mirror", "--naming", help="mirror (input relative paths) or pseudonymized."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    preview: Optional[Path] = typer.Option(None, "--preview", help="Write a PNG of each redacted output "
                                           "frame here, redacted boxes outlined (from the output, never the input)."),
    resume: Optional[bool] = typer.Option(None, "--resume/--restart", help="Continue an interrupted run of the same "
                                          "pipeline, key, inputs and output, skipping what it finished (the default "
                                          "when the audit log shows one), or start over."),
    vault: Optional[Path] = typer.Option(None, "--vault", help="Also keep a re-identification vault here: original "
                                         "-> pseudonym of patient IDs, UIDs and accession numbers, encrypted, for an "
                                         "honest broker (docs/vault.md). Off by default."),
    vault_key_file: Optional[Path] = typer.Option(None, "--vault-key-file", help="The vault's own key, never the "
                                                  "pseudonym key (else DEID_VAULT_KEY; created, mode 0600, when the "
                                                  "file is missing)."),
) -> None:
    """De-identify INPUTs into --out. Unprocessable inputs go to <out>.quarantine/ with a reason."""
    from .audit.log import AuditLog
    from .engine.discover import check_paths, discover
    from .engine.runner import Job, remove_partials, run as run_items
    from .handlers import Context
    from .policy import load_pipeline
    from .pseudonym import Pseudonymizer, load_key

    if naming not in ("mirror", "pseudonymized"):
        _fail("--naming must be 'mirror' or 'pseudonymized'")
    if engine not in ("inline", "local", "dask"):
        _fail("--engine must be inline, local or dask")
    if scheduler and engine != "dask":
        _fail("--scheduler needs --engine dask")
    try:
        pipe = load_pipeline(pipeline)
        check_paths(inputs, out_dir)
        secret, where = load_key(key_file)
    except DeidError as exc:
        _fail(str(exc))
    if where.startswith("created"):
        console.print(f"[yellow]new key[/yellow]: {where[8:]} (mode 0600). Keep it secret and reuse it: "
                      "the same key gives the same pseudonyms, UIDs and date offsets.")
    out_dir = out_dir.resolve()
    audit_path = (audit or out_dir.with_name(out_dir.name + ".audit.sqlite")).resolve()
    if out_dir in audit_path.parents:
        _fail("--audit must not be inside --out: uploading the output would upload the audit log")
    if preview is not None and (out_dir == preview.resolve() or out_dir in preview.resolve().parents):
        _fail("--preview must not be inside --out: previews are for people, not for upload")
    if vault is not None and vault.resolve() in (audit_path, out_dir):
        _fail("--vault must be its own file, not the audit log or the output folder")
    vdb = _run_vault(vault, vault_key_file, secret, out_dir, dry_run, inputs) if vault or vault_key_file else None
    qdir = out_dir.with_name(out_dir.name + ".quarantine")
    if not dry_run:
        out_dir.mkdir(parents=True, exist_ok=True)
    pseudo = Pseudonymizer(secret)
    log = AuditLog(":memory:" if dry_run else audit_path)
    if vdb is not None:
        log.before_commit = vdb.commit  # mappings are stored before an input counts as done
    from importlib.metadata import version as dist_version

    # the vault is part of what a resume continues: with it, without it or another one, start over
    vault_part = "vault:" + str(vdb.path.resolve()) if vdb is not None else "no-vault"
    signature = pseudo.fingerprint("run:" + "\0".join([pipe.policy_hash, naming, str(out_dir), vault_part]
                                                       + sorted(str(p.resolve()) for p in inputs)))
    earlier = log.unfinished(signature)
    skip: dict[str, str] = {}
    if earlier and resume is not False:
        skip = log.done_paths(earlier)
        removed = remove_partials(out_dir, qdir, *( [preview.resolve()] if preview is not None else []))
        console.print(f"resuming an interrupted run: {len(skip)} inputs already done are skipped"
                      + (f", {removed} temp files removed" if removed else ""))
    log.start_run(pipe.name, pipe.policy_hash, _versions(dist_version), pseudo.key_id, signature)
    job = Job(Context(pipe, pseudo, preview is not None and not dry_run, collect_mappings=vdb is not None),
              out_dir, qdir, naming,
              preview.resolve() if preview is not None and not dry_run else None, dry_run)
    total = sum(1 for _ in discover(inputs)) - len(skip)  # a counting walk: nothing is kept in memory
    show = not quiet and console.is_terminal
    previous = signal.signal(signal.SIGTERM, _sigterm)  # a batch scheduler's stop: as Ctrl-C
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      _Rate(), TimeElapsedColumn(),
                      TimeRemainingColumn(), console=console, disable=not show) as bar:
            task = bar.add_task("de-identifying", total=max(0, total))
            lines = _PlainProgress(max(0, total)) if not quiet and not show else None

            def step(_o) -> None:
                bar.advance(task)
                if lines:
                    lines.step()
            summary = run_items(discover(inputs), job, log,
                                workers=1 if engine == "inline" else workers or os.cpu_count() or 1,
                                progress=step, skip=skip, timeout=timeout,
                                max_memory_mb=max_memory, engine=engine, scheduler=scheduler,
                                mappings=vdb.add if vdb is not None else None)
    except DeidError as exc:  # e.g. --engine dask without dask installed, or the vault cannot store a mapping
        _close_run(log, vdb, finish=False, error=exc)
    finally:
        signal.signal(signal.SIGTERM, previous)
    _close_run(log, vdb, finish=not summary.interrupted)
    if dry_run:
        _dry_run_report(summary)
        raise typer.Exit(1 if summary.quarantined else 0)
    t = Table(title=f"deid run · pipeline {pipe.name}")
    for col in ("files", "ok", "quarantined", "elements changed", "dates shifted", "pixel boxes redacted",
                "seconds"):
        t.add_column(col, justify="right")
    t.add_row(str(summary.files), str(summary.ok), str(summary.quarantined), str(summary.elements),
              str(summary.dates_shifted), str(summary.redacted_boxes), f"{summary.seconds:.2f}")
    out.print(t)
    for code, n in sorted(summary.reasons.items()):
        out.print(f"quarantined ({code}): {n}")
    if summary.skipped:
        out.print(f"skipped (done by the interrupted run): {summary.skipped}, "
                  f"of which quarantined there: {summary.skipped_quarantined}")
    out.print(f"output: {out_dir}\naudit: {audit_path}" + (f"\nquarantine: {qdir}" if summary.quarantined else "")
              + (f"\nvault: {vault}" if vdb is not None else ""))
    if summary.interrupted:
        out.print("[yellow]interrupted[/yellow]: run the same command again to resume")
        raise typer.Exit(3)
    raise typer.Exit(1 if summary.quarantined or summary.skipped_quarantined else 0)


def _run_vault(vault: Optional[Path], key_file: Optional[Path], secret: bytes, out_dir: Path, dry_run: bool,
               inputs: List[Path]):
    """The vault this run writes (--vault), opened (and locked) before any input is processed."""
    from .vault import open_for_run

    if dry_run:
        _fail("--vault with --dry-run: a dry run writes nothing, so it keeps no vault either")
    try:
        vdb, where = open_for_run(vault, key_file, secret, out_dir, inputs)
    except DeidError as exc:
        _fail(str(exc))
    if where.startswith("created"):
        console.print(f"[yellow]new vault key[/yellow]: {where[8:]} (mode 0600). Keep it apart from the pseudonym "
                      "key: without it the vault can never be read.")
    return vdb


def _close_run(log, vdb, finish: bool, error: Optional[DeidError] = None) -> None:
    """Finish (when asked) and close the audit log, then the vault; exit 2 on `error`. Each audit
    commit stores the vault's mappings first (log.before_commit); when the vault cannot, the log's
    open batch is dropped, so its inputs do not count as done and a resumed run redoes them."""
    from .errors import VaultError

    try:
        if finish:
            log.finish_run()
        log.close()
    except VaultError as exc:
        log.abandon()  # the mappings of that batch's inputs were not stored
        error = error or exc
    finally:
        if vdb is not None:
            try:
                vdb.close()
            except VaultError as exc:
                error = error or exc
    if error is not None:
        _fail(str(error))


def _sigterm(_signum, _frame) -> None:
    raise KeyboardInterrupt


class _Rate(ProgressColumn):
    """Files per second, over the run so far."""

    def render(self, task):
        speed = task.completed / task.elapsed if task.elapsed else 0.0
        return Text(f"{speed:,.1f} files/s")


class _PlainProgress:
    """For logs that are not a terminal (a batch scheduler's): a line every 30 s."""

    def __init__(self, total: int, every: float = 30.0):
        self.total, self.every, self.done = total, every, 0
        self.t0 = self.last = time.monotonic()

    def step(self) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            rate = self.done / (now - self.t0)
            eta = (self.total - self.done) / rate if rate else 0
            console.print(f"deid: {self.done}/{self.total} files, {rate:.1f} files/s, about {eta / 60:.0f} min left")


def _dry_run_report(summary) -> None:
    t = Table(title="deid run --dry-run · nothing was written")
    t.add_column("would do")
    t.add_column("count", justify="right")
    for action, n in sorted(summary.actions.items(), key=lambda kv: -kv[1]):
        t.add_row(action, str(n))
    out.print(t)
    k = Table(title="files by kind")
    k.add_column("kind")
    k.add_column("files", justify="right")
    for kind, n in sorted(summary.kinds.items()):
        k.add_row(kind, str(n))
    out.print(k)
    out.print(f"would write {summary.ok}, would quarantine {summary.quarantined}")


@app.command()
def check(
    paths: List[Path] = typer.Argument(..., help="Files or folders to scan (recursive); nothing is written."),
    pipeline: Optional[str] = typer.Option(None, "--pipeline", "-p", help="Field map and recognizers for records."),
    fmt: str = typer.Option("text", "--format", help="text or json (one finding per line)."),
    pixels: bool = typer.Option(False, "--pixels/--no-pixels", help="Also OCR image pixels for burned-in "
                                "identifiers (slower)."),
    show_excerpts: bool = typer.Option(False, "--show-excerpts", help="Add a masked excerpt (1380****678) of what "
                                       "was found; off by default, as excerpts are partial values."),
    fail_on: str = typer.Option("any", "--fail-on", help="any: exit 1 on any finding; high: only on direct "
                                "identifiers (names, IDs, phones, e-mails, addresses, identity attributes)."),
) -> None:
    """Exit 0 when nothing identifying is found, 1 when something is, 2 on an error: a gate
    to run before an upload (see docs/hooks.md)."""
    from .check import HIGH, Finding
    from .check.scan import check_bytes, is_image
    from .engine.discover import discover
    from .handlers import Context
    from .policy import load_pipeline
    from .pseudonym import Pseudonymizer

    if fmt not in ("text", "json"):
        _fail("--format must be text or json")
    if fail_on not in ("any", "high"):
        _fail("--fail-on must be any or high")
    try:
        pipe = load_pipeline(pipeline)
        for p in paths:
            if not p.exists():
                raise DeidError(f"{p} does not exist")
    except DeidError as exc:
        _fail(str(exc))
    ctx = Context(pipe, Pseudonymizer(b"deid-check-only-no-output-is-written"))
    findings = []
    files = unread_images = 0
    for item in discover(paths):
        files += 1
        try:
            found = check_bytes(Path(item.source).read_bytes(), item.relpath, ctx, excerpts=show_excerpts,
                                pixels=pixels)
        except OSError as exc:
            found = [Finding(item.relpath, "<file>", "unreadable", type(exc).__name__)]
        if found is None:
            unread_images += is_image(item.relpath)
            continue
        findings += found
    for f in findings:
        if fmt == "json":
            print(json.dumps(f.as_dict(), ensure_ascii=False))
        else:
            out.print(f"{f.file}\t{f.location}\t{f.category}\t{f.rule}" + (f"\t{f.excerpt}" if f.excerpt else ""),
                      markup=False, highlight=False)
    high = [f for f in findings if f.category in HIGH]
    console.print(f"deid check: {files} files, {len(findings)} findings ({len(high)} direct identifiers)"
                  + (f"; {unread_images} PNG/JPEG images not read (add --pixels)" if unread_images else ""),
                  soft_wrap=True)
    raise typer.Exit(1 if (high if fail_on == "high" else findings) else 0)



@policy_app.command("show")
def policy_show(pipeline: Optional[str] = typer.Option(None, "--pipeline", "-p"),
                as_json: bool = typer.Option(False, "--json", help="Machine-readable rows.")) -> None:
    """The effective rule for every Table E.1-1 row, and where it came from."""
    from .policy import load_pipeline

    try:
        pipe = load_pipeline(pipeline)
    except DeidError as exc:
        _fail(str(exc))
    rows = pipe.dicom.effective_rows()
    if as_json:
        out.print_json(json.dumps([dict(zip(("tag", "name", "action", "rule_id"), r)) for r in rows]))
        return
    t = Table(title=f"{pipe.name} ({pipe.source}) options: {', '.join(pipe.dicom.options) or 'none'}")
    for col in ("tag", "name", "action", "rule id"):
        t.add_column(col)
    for r in rows:
        t.add_row(*r)
    out.print(t)
    for ov in pipe.dicom.overrides:
        out.print(f"override:{ov.index}: {ov.describe()} -> {ov.action}", markup=False)


@policy_app.command("validate")
def policy_validate(file: Path) -> None:
    """Check a pipeline YAML; exit 2 with the reason when it is invalid."""
    from .policy import load_pipeline

    try:
        pipe = load_pipeline(file)
    except DeidError as exc:
        _fail(str(exc))
    out.print(f"ok: {pipe.name}: options {list(pipe.dicom.options)}, {len(pipe.dicom.overrides)} overrides")


@audit_app.command("verify")
def audit_verify(file: Path) -> None:
    """Recompute the hash chain; exit 1 when any row was edited, inserted or deleted."""
    from .audit.log import verify

    try:
        problems = verify(file)
    except DeidError as exc:
        _fail(str(exc))
    if problems:
        for p in problems[:50]:
            out.print(f"[red]FAIL[/red] {p}")
        raise typer.Exit(1)
    out.print("ok: audit chain intact")


@audit_app.command("show")
def audit_show(file: Path, item: Optional[str] = typer.Option(None, "--file", help="Only this input (relative path)."),
               limit: int = typer.Option(200, "--limit")) -> None:
    """Runs, then events (location, action, rule, fingerprint)."""
    from .audit.log import iter_events, runs

    try:
        rs = runs(file)
        t = Table(title="runs")
        for c in ("run_id", "pipeline", "files_ok", "files_quarantined", "event_count"):
            t.add_column(c)
        for r in rs:
            t.add_row(r["run_id"][:12], str(r["pipeline"]), str(r["files_ok"]), str(r["files_quarantined"]),
                      str(r["event_count"]))
        out.print(t)
        out.print("seq\titem\tlocation\taction\tcategory\trule_id\tfingerprint\tdetail", markup=False)
        for n, e in enumerate(iter_events(file, item)):
            if n >= limit:
                out.print(f"... (--limit {limit})")
                break
            out.print("\t".join(str(e[c]) for c in ("seq", "item", "location", "action", "category", "rule_id",
                                                     "fingerprint", "detail")), markup=False, soft_wrap=True)
    except DeidError as exc:
        _fail(str(exc))


@audit_app.command("export")
def audit_export(file: Path, fmt: str = typer.Option("jsonl", "--format", help="jsonl or csv"),
                 dest: Optional[Path] = typer.Option(None, "--output", help="Default: stdout.")) -> None:
    """Export every event as JSON lines or CSV."""
    from .audit.log import EVENT_COLS, iter_events

    if fmt not in ("jsonl", "csv"):
        _fail("--format must be jsonl or csv")
    fh = open(dest, "w", newline="", encoding="utf-8") if dest else sys.stdout
    try:
        if fmt == "csv":
            w = csv.DictWriter(fh, fieldnames=list(EVENT_COLS))
            w.writeheader()
        for e in iter_events(file):
            if fmt == "csv":
                w.writerow(e)
            else:
                fh.write(json.dumps(e, ensure_ascii=False) + "\n")
    except DeidError as exc:
        _fail(str(exc))
    finally:
        if dest:
            fh.close()


@audit_app.command("report")
def audit_report(file: Path = typer.Argument(..., help="Audit log, e.g. <out>.audit.sqlite."),
                 dest: Path = typer.Option(..., "--out", "-o", help="HTML file to write (one self-contained file)."),
                 outputs: Optional[Path] = typer.Option(None, "--outputs", help="The run's output folder, for "
                                                        "thumbnails of the de-identified images and the device "
                                                        "chart (default: the audit path less .audit.sqlite).")) -> None:
    """One self-contained HTML report: runs, hash chain, counts, quarantine reasons, files, output
    thumbnails. Exit 1 when the hash chain check fails (the report is still written)."""
    from .audit.report import build_report

    try:
        res = build_report(file, dest, outputs)
    except DeidError as exc:
        _fail(str(exc))
    if not res.outputs_used:
        console.print("[yellow]no thumbnails[/yellow]: the output folder was not found (--outputs DIR), "
                      "or the audit log does not verify")
    elif res.outputs_unverified:
        console.print(f"[yellow]{res.outputs_unverified} written files not opened[/yellow]: the file found is "
                      "not the one the run wrote (its digest differs, or none was recorded)")
    if not res.chain_ok:
        console.print("[red]FAIL[/red] the audit hash chain does not verify: see the report")
    left = f", {res.files - res.files_listed} not listed" if res.files > res.files_listed else ""
    out.print(f"report: {res.path} ({res.files} files{left}, {res.thumbnails} thumbnails)", markup=False,
              highlight=False)
    raise typer.Exit(0 if res.chain_ok else 1)


@vault_app.command("lookup")
def vault_lookup(
    file: Path = typer.Argument(..., help="The vault (deid run --vault)."),
    vault_key_file: Optional[Path] = typer.Option(None, "--vault-key-file", help="Else DEID_VAULT_KEY."),
    pseudonym: Optional[str] = typer.Option(None, "--pseudonym", help="Print the original of this pseudonym "
                                            "('-': read it from stdin)."),
    original: Optional[str] = typer.Option(None, "--original", help="Print the pseudonym of this original "
                                           "('-': read it from stdin, so it is not in `ps` or the shell history)."),
    kind: Optional[str] = typer.Option(None, "--kind", help="patient-id, uid or accession (default: any)."),
) -> None:
    """Print the other side of a mapping, one per line. Exit 0 found, 1 not found, 2 no vault
    or a wrong key. It prints an original value when asked: run it only where that is allowed."""
    from .vault import KINDS, open_to_read

    if (pseudonym is None) == (original is None):
        _fail("give one of --pseudonym or --original")
    if kind is not None and kind not in KINDS:
        _fail(f"--kind must be one of {', '.join(KINDS)}")
    if "-" in (original, pseudonym):
        value = _stdin_value()
        original, pseudonym = (value, None) if original == "-" else (None, value)
    try:
        with open_to_read(file, vault_key_file) as v:
            found = v.lookup(original=original, pseudonym=pseudonym, kind=kind)
    except DeidError as exc:
        _fail(str(exc))
    if not found:
        console.print("not found")
        raise typer.Exit(1)
    for _kind, orig, pseud in found:
        typer.echo(pseud if original is not None else orig)


def _stdin_value() -> str:
    """One value from stdin (typed without echo at a terminal): never in argv."""
    if sys.stdin.isatty():
        import getpass

        value = getpass.getpass("value: ").strip()
    else:
        value = sys.stdin.readline().strip()
    if not value:
        _fail("'-' reads the value from stdin, which gave none")
    return value


@vault_app.command("export")
def vault_export(
    file: Path = typer.Argument(..., help="The vault (deid run --vault)."),
    vault_key_file: Optional[Path] = typer.Option(None, "--vault-key-file", help="Else DEID_VAULT_KEY."),
    fmt: str = typer.Option("midi-b", "--format", help="midi-b: uid_mapping.csv and patid_mapping.csv (id_old,"
                            "id_new); csv: vault_mapping.csv (kind,id_old,id_new)."),
    dest: Path = typer.Option(..., "--out", help="Folder for the CSV files (mode 0600: they hold originals)."),
) -> None:
    """Write the vault's mappings as CSV, for an honest broker or the MIDI-B validation script."""
    from .vault import export, open_to_read

    try:
        with open_to_read(file, vault_key_file) as v:
            written = export(v, fmt, dest)
    except DeidError as exc:
        _fail(str(exc))
    for path, n in written.items():
        out.print(f"{path}: {n} rows", markup=False, highlight=False)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(f"deid {__version__}")


def main() -> None:  # console script
    app()


if __name__ == "__main__":
    main()
