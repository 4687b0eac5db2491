"""`deid check` over files and folders: the gate cannot be walked around.

Every entry found is judged, none skipped: a symbolic link is a finding (`aws s3 sync`
and `rsync -L` follow it to whatever it points at), so is a FIFO, a socket or a folder
check cannot list. Every file is read under a time limit (a finding when it runs out),
and every folder and file name is scanned like `deid run` scans it (a name in a path is
a finding). Files are named in the findings with each identifying name replaced by
`[category]`, so the gate's own output does not repeat what it found.

The engine's side of `deid check`: it walks and reads the inputs as `deid run` does
(discover, read_input, the same path judge), through the engine's inline executor with a
sink that writes nothing, and hands each file's bytes to deid.check (below the engine),
which asks the file's handler for its findings (Handler.findings: the same handlers as
`deid run`, changing nothing; the pipeline's `verify:` step calls the same check_bytes).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from ..check import Finding, mask
from ..check.scan import check_bytes
from ..core import Context, Item, Result, Status
from ..findings import Look
from ..limits import TimeLimit, time_limit
from .discover import discover
from .executors.inline import run_inline
from .job import Job, Outcome
from .paths import judge
from .sinks import Discard
from .work import read_input

PROBLEMS = {
    "symlink": ("symlink", "check:symlink-not-followed"),
    "unreadable-folder": ("unreadable", "check:unreadable-folder"),
    "not-a-regular-file": ("unreadable", "check:not-a-regular-file"),
    "unreadable-file": ("unreadable", "check:unreadable-file"),
}


@dataclass(frozen=True)
class Checked:
    shown: str  # the path as findings name it
    findings: list[Finding] | None  # None: not a kind check reads (an image without --pixels)


def check_paths(
    paths: list[Path],
    ctx: Context,
    take: Callable[[Checked], None],
    *,
    excerpts: bool,
    pixels: bool,
    timeout: float,
) -> None:
    """Every entry below `paths`, checked, handed to `take` in the order found."""
    job = Job(ctx, Discard(), timeout=timeout)

    def prep(item: Item, job: Job) -> Result:
        checked = check_item(item, job.ctx, excerpts=excerpts, pixels=pixels, timeout=job.timeout)
        return Result(Status.OK, kind="check", details={"checked": checked})

    def done(item: Item, job: Job, res: Result) -> Outcome:
        return Outcome(item.relpath, res.status, "", "", res)

    run_inline(discover(paths), job, lambda o: take(o.result.details["checked"]), prep=prep, finish=done)


def check_item(item: Item, ctx: Context, *, excerpts: bool, pixels: bool, timeout: float) -> Checked:
    shown = shown_path(item.relpath, excerpts)
    found = path_findings(item.relpath, shown)
    if item.problem:
        code = item.problem.split(":", 1)[0]
        return Checked(shown, found + [Finding(shown, "<file>", *PROBLEMS.get(code, PROBLEMS["unreadable-file"]))])
    try:
        data = read_input(item.source)
    except OSError as exc:
        return Checked(shown, found + [Finding(shown, "<file>", "unreadable", f"check:{type(exc).__name__}")])
    try:
        with time_limit(timeout):  # routed by the real name (its suffix), reported by the shown one
            content = check_bytes(data, item.relpath, ctx, Look(excerpts, pixels))
    except TimeLimit:
        content = [Finding(item.relpath, "<file>", "unreadable", f"check:timeout-{timeout:g}s")]
    if content is None:
        return Checked(shown, found or None)
    return Checked(shown, found + [replace(f, file=shown) for f in content])


def shown_path(relpath: str, excerpts: bool) -> str:
    """The path with each identifying name as [category] (masked, with --show-excerpts)."""
    parts = relpath.split("/")
    return "/".join(_shown(p, i == len(parts) - 1, excerpts) for i, p in enumerate(parts))


def _shown(part: str, last: bool, excerpts: bool) -> str:
    what = judge(part, last)
    if not what:
        return part
    return mask(part) if excerpts and what != "undecodable-name" else f"[{what}]"


def path_findings(relpath: str, shown: str) -> list[Finding]:
    """One finding per folder or file name that may identify someone."""
    parts = relpath.split("/")
    return [
        Finding(shown, f"<path>[{i}]", judge(p, i == len(parts) - 1), "check:path-name")
        for i, p in enumerate(parts)
        if judge(p, i == len(parts) - 1)
    ]
