"""What `deid run` says: progress while it runs (a bar on a terminal, a line every 30 s in
a scheduler's log), then a summary on stdout, as text for people or one JSON object for
scripts (`--format json`), and the exit code. Both carry the accounting line: inputs =
written + quarantined + errors (+ done by an earlier run, + left for a resumed one)."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from ..engine.accounting import balance
from ..engine.config import RunConfig
from ..engine.runner import Summary
from ..engine.session import RunResult
from ..printable import display
from ..risk.release import ReleaseOutcome
from .common import FOUND, INTERNAL, INTERRUPTED, OK, console, emit, out


def exit_code(summary: Summary, problems: list[str], release: object = None) -> int:
    if problems:
        return INTERNAL
    if summary.interrupted:
        return INTERRUPTED
    below = isinstance(release, ReleaseOutcome) and not release.reached  # risk.k not reached
    return FOUND if summary.quarantined or summary.errors or summary.skipped_quarantined or below else OK


def render(cfg: RunConfig, res: RunResult) -> int:
    """The summary of a run (or a dry run) on stdout; its exit code."""
    if res.dry_run:
        show_dry_run(cfg, res.summary, res.counted, res.problems)
    else:
        show(cfg, res.summary, res.counted, res.problems, res.release)
    return exit_code(res.summary, res.problems, res.release)


def show(rep: RunConfig, s: Summary, counted: int, problems: list[str], release: object = None) -> None:
    """The summary of a run, on stdout."""
    total, left, line = balance(s, counted)
    if rep.fmt == "json":
        emit(
            json.dumps(
                {
                    "pipeline": rep.pipeline.name,
                    "inputs": total,
                    "written": s.ok,
                    "quarantined": s.quarantined,
                    "errors": s.errors,
                    "done_earlier": s.skipped,
                    "done_earlier_not_written": s.skipped_quarantined,
                    "left": left,
                    "reasons": s.reasons,
                    "elements_changed": s.elements,
                    "dates_shifted": s.dates_shifted,
                    "pixel_boxes_redacted": s.redacted_boxes,
                    "seconds": round(s.seconds, 3),
                    "interrupted": s.interrupted,
                    "stop_reason": s.stop_reason,
                    "accounting": {"balanced": not problems, "problems": problems},
                    "output": str(rep.out),
                    "audit": str(rep.audit),
                    "quarantine": str(rep.quarantine),
                    "vault": str(rep.vault) if rep.vault else None,
                    "exit_code": exit_code(s, problems, release),
                }
                # the release pass (risk.k set): its levels, suppression, loss and measures
                | ({"risk": release.as_dict()} if isinstance(release, ReleaseOutcome) else {}),
                ensure_ascii=True,
            )
        )
        return
    t = Table(title=f"deid run · pipeline {rep.pipeline.name}")
    for col in (
        "files",
        "ok",
        "quarantined",
        "errors",
        "elements changed",
        "dates shifted",
        "pixel boxes redacted",
        "seconds",
    ):
        t.add_column(col, justify="right")
    t.add_row(
        str(s.files),
        str(s.ok),
        str(s.quarantined),
        str(s.errors),
        str(s.elements),
        str(s.dates_shifted),
        str(s.redacted_boxes),
        f"{s.seconds:.2f}",
    )
    out.print(t)
    for text in _lines(rep, s, line, problems) + (risk_lines(release) if isinstance(release, ReleaseOutcome) else []):
        emit(text)


def _lines(rep: RunConfig, s: Summary, line: str, problems: list[str]) -> list[str]:
    say = [line + ("" if problems else " (balanced)")]
    say += [f"not written ({code}): {n}" for code, n in sorted(s.reasons.items())]
    if s.skipped:
        say.append(
            f"skipped (done by the interrupted run): {s.skipped}, of which not written there: {s.skipped_quarantined}"
        )
    say.append(f"output: {display(str(rep.out))}\naudit: {display(str(rep.audit))}")
    if s.quarantined or s.errors or s.skipped_quarantined:
        say.append(f"quarantine: {display(str(rep.quarantine))} (reasons in REASONS.jsonl)")
    if rep.vault:
        say.append(f"vault: {display(str(rep.vault))}")
    say += [f"ACCOUNTING FAILED: {p}" for p in problems]
    if problems:
        say.append("this is a bug in deid: keep the audit log and report it")
    elif s.interrupted:
        say.append(f"stopped: {s.stop_reason}" if s.stop_reason else "interrupted")
        say.append("run the same command again to resume")
    return say


def show_dry_run(rep: RunConfig, s: Summary, counted: int, problems: list[str]) -> None:
    if rep.fmt == "json":
        emit(
            json.dumps(
                {
                    "dry_run": True,
                    "would_write": s.ok,
                    "would_quarantine": s.quarantined,
                    "errors": s.errors,
                    "actions": s.actions,
                    "kinds": s.kinds,
                    "accounting": {"balanced": not problems, "problems": problems},
                }
            )
        )
        return
    t = Table(title="deid run --dry-run · nothing was written")
    t.add_column("would do")
    t.add_column("count", justify="right")
    for action, n in sorted(s.actions.items(), key=lambda kv: -kv[1]):
        t.add_row(action, str(n))
    out.print(t)
    k = Table(title="files by kind")
    k.add_column("kind")
    k.add_column("files", justify="right")
    for kind, n in sorted(s.kinds.items()):
        k.add_row(kind, str(n))
    out.print(k)
    out.print(f"would write {s.ok}, would quarantine {s.quarantined}, errors {s.errors}", markup=False)
    for p in problems:
        out.print(f"ACCOUNTING FAILED: {p}", markup=False)


@contextmanager
def progress(total: int, quiet: bool) -> Iterator[Callable[[object], None]]:
    """A step function to call per finished input: a bar on a terminal, a plain line every
    30 s otherwise (a batch scheduler's log), nothing with -q."""
    show_bar = not quiet and console.is_terminal
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not show_bar,
    ) as bar:
        task = bar.add_task("de-identifying", total=max(0, total))
        lines = _PlainProgress(max(0, total)) if not quiet and not show_bar else None

        def step(_o: object) -> None:
            bar.advance(task)
            if lines:
                lines.step()

        yield step


class _Rate(ProgressColumn):
    """Files per second, over the run so far."""

    def render(self, task: Task) -> Text:
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


def risk_lines(r: ReleaseOutcome) -> list[str]:
    """The release pass in a few lines: counts and levels, never a value."""
    m = r.measures
    levels = ", ".join(f"{q} level {lv}" for q, lv in r.levels.items()) or "none"
    say = [
        f"risk: k={m.k} over {m.persons} persons (target {r.target}: {'reached' if r.reached else 'NOT reached'})",
        f"risk: generalised {r.generalised} cells ({levels}); suppressed {r.suppressed} persons "
        f"({r.suppressed / r.persons if r.persons else 0:.2%}, {r.suppressed_records} records); "
        f"loss {r.loss:.4f} (precision, 0 = as released, 1 = all suppressed)",
    ]
    if r.why:
        say.append(f"risk: {r.why}")
    return say
