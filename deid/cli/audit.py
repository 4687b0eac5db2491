"""`deid audit verify|show|export|report`: read an audit log."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ..printable import display
from . import audit_app
from .common import FOUND, OK, console, emit, fail, out

SHOWN = ("seq", "item", "location", "action", "category", "rule_id", "fingerprint", "detail")


@audit_app.command("verify")
def audit_verify(file: Path) -> None:
    """Recompute the hash chain; exit 1 when any row was edited, inserted or deleted."""
    from ..audit.log import verify

    problems = verify(file)
    if problems:
        for p in problems[:50]:
            out.print(f"FAIL {display(p)}", markup=False)
        raise typer.Exit(FOUND)
    out.print("ok: audit chain intact")


@audit_app.command("show")
def audit_show(
    file: Path,
    item: Optional[str] = typer.Option(None, "--file", help="Only this input (its path as the audit names it)."),
    limit: int = typer.Option(200, "--limit"),
) -> None:
    """Runs, then events (location, action, rule, fingerprint), one tab-separated line each.
    Every field is printed with control characters escaped: an edited log (or a name) may
    hold a terminal escape sequence."""
    from ..audit.log import iter_events, runs

    t = Table(title="runs")
    for c in ("run_id", "pipeline", "files_ok", "files_quarantined", "event_count"):
        t.add_column(c)
    for r in runs(file):
        t.add_row(
            *(
                display(str(r[c]))[: 12 if c == "run_id" else None]
                for c in ("run_id", "pipeline", "files_ok", "files_quarantined", "event_count")
            )
        )
    out.print(t, markup=False)
    emit("\t".join(SHOWN))
    for n, e in enumerate(iter_events(file, item)):
        if n >= limit:
            emit(f"... (--limit {limit})")
            break
        emit("\t".join(display(str(e[c])) for c in SHOWN))


@audit_app.command("export")
def audit_export(
    file: Path,
    fmt: str = typer.Option("jsonl", "--format", help="jsonl or csv"),
    dest: Optional[Path] = typer.Option(None, "--output", help="Default: stdout."),
) -> None:
    """Export every event as JSON lines or CSV (values as stored; a file, not a terminal view)."""
    from ..audit.log import EVENT_COLS, iter_events

    if fmt not in ("jsonl", "csv"):
        fail("--format must be jsonl or csv")
    fh = open(dest, "w", newline="", encoding="utf-8") if dest else sys.stdout
    try:
        if fmt == "csv":
            w = csv.DictWriter(fh, fieldnames=list(EVENT_COLS))
            w.writeheader()
        for e in iter_events(file):
            if fmt == "csv":
                w.writerow(e)
            else:
                fh.write(json.dumps(e, ensure_ascii=True) + "\n")
    finally:
        if dest:
            fh.close()


@audit_app.command("report")
def audit_report(
    file: Path = typer.Argument(..., help="Audit log, e.g. <out>.audit.sqlite."),
    dest: Path = typer.Option(..., "--out", "-o", help="HTML file to write (one self-contained file)."),
    outputs: Optional[Path] = typer.Option(
        None,
        "--outputs",
        help="The run's output folder, for "
        "thumbnails of the de-identified images and the device "
        "chart (default: the audit path less .audit.sqlite).",
    ),
) -> None:
    """One self-contained HTML report: runs, hash chain, counts, quarantine reasons, files, output
    thumbnails. Exit 1 when the hash chain check fails (the report is still written)."""
    from ..report.build import build_report

    res = build_report(file, dest, outputs)
    if not res.outputs_used:
        console.print(
            "no thumbnails: the output folder was not found (--outputs DIR), or the audit log does not verify",
            markup=False,
        )
    elif res.outputs_unverified:
        console.print(
            f"{res.outputs_unverified} written files not opened: the file found is not the one the run "
            "wrote (its digest differs, or none was recorded)",
            markup=False,
        )
    if not res.chain_ok:
        console.print("FAIL the audit hash chain does not verify: see the report", markup=False)
    left = f", {res.files - res.files_listed} not listed" if res.files > res.files_listed else ""
    out.print(f"report: {display(str(res.path))} ({res.files} files{left}, {res.thumbnails} thumbnails)", markup=False)
    raise typer.Exit(OK if res.chain_ok else FOUND)
