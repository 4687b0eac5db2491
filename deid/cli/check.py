"""`deid check`: the gate before an upload. Exit 0 nothing found, 1 something found (or
something check could not read), 2 usage error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from ..printable import display
from . import app
from .common import FOUND, OK, console, emit, fail

if TYPE_CHECKING:
    from ..findings import Finding


@app.command()
def check(
    paths: List[Path] = typer.Argument(..., help="Files or folders to scan (recursive); nothing is written."),
    pipeline: Optional[str] = typer.Option(None, "--pipeline", "-p", help="Field map and recognizers for records."),
    fmt: str = typer.Option("text", "--format", help="text (tab-separated) or json (one finding per line)."),
    pixels: bool = typer.Option(
        False, "--pixels/--no-pixels", help="Also OCR image pixels for burned-in identifiers (slower)."
    ),
    show_excerpts: bool = typer.Option(
        False,
        "--show-excerpts",
        help="Add a masked excerpt (1380****678) of what was found; off by default, as excerpts are partial values.",
    ),
    fail_on: str = typer.Option(
        "any",
        "--fail-on",
        help="any: exit 1 on any finding; high: only on direct "
        "identifiers (names, IDs, phones, e-mails, addresses, identity attributes, "
        "links, files check cannot read).",
    ),
    timeout: float = typer.Option(
        900, "--timeout", min=0, help="Seconds one file may take; a file that runs out is a finding (0 = no limit)."
    ),
    risk: Optional[int] = typer.Option(
        None,
        "--risk",
        min=2,
        help="Also measure the re-identification risk (the pipeline's quasi-identifiers, docs/risk.md): "
        "exit 1 when the output is not K-anonymous.",
    ),
) -> None:
    """Exit 0 when nothing identifying is found, 1 when something is (a link, a file or folder
    that cannot be read, a name in a path are findings too), 2 on a usage error: a gate to
    run before an upload (see docs/hooks.md)."""
    from ..check import HIGH
    from ..check.scan import is_image
    from ..engine.check import Checked, check_paths
    from ..handlers import Context
    from ..operators.find import NoKey
    from ..policy import load_pipeline

    if fmt not in ("text", "json"):
        fail("--format must be text or json")
    if fail_on not in ("any", "high"):
        fail("--fail-on must be any or high")
    pipe = load_pipeline(pipeline)
    for p in paths:
        if not p.exists():
            fail(f"{p} does not exist (or is a broken link)")
    ctx = Context(pipe, NoKey())  # finding derives nothing keyed: no key is read or made
    n = {"files": 0, "unread_images": 0, "found": 0, "high": 0}

    def take(checked: Checked) -> None:
        n["files"] += 1
        if checked.findings is None:
            n["unread_images"] += is_image(checked.shown)
            return
        for f in checked.findings:
            n["found"] += 1
            n["high"] += f.category in HIGH
            _print(f, fmt)

    check_paths(paths, ctx, take, excerpts=show_excerpts, pixels=pixels, timeout=timeout)
    files, unread_images, found, high = n["files"], n["unread_images"], n["found"], n["high"]
    if not files:
        fail(f"no files found in {', '.join(map(str, paths))}: nothing was checked")
    console.print(
        f"deid check: {files} files, {found} findings ({high} direct identifiers)"
        + (f"; {unread_images} PNG/JPEG images not read (add --pixels)" if unread_images else ""),
        markup=False,
    )
    below = False
    if risk is not None:
        from .risk import measure_paths

        m = measure_paths(paths, pipe, risk)
        below = not m.meets
        console.print(
            f"deid check --risk {risk}: k={m.k} over {m.persons} persons, {m.below_persons} in classes below {risk}"
            + (f" (target not met: {m.why_not()})" if below else ""),
            markup=False,
        )
    raise typer.Exit(FOUND if (high if fail_on == "high" else found) or below else OK)


def _print(f: Finding, fmt: str) -> None:
    """One finding, one line, never wrapped; names escaped (a file name can hold a newline
    or a terminal escape sequence)."""
    if fmt == "json":
        emit(json.dumps({k: display(v) for k, v in f.as_dict().items()}, ensure_ascii=False))
    else:
        emit("\t".join(display(v) for v in (f.file, f.location, f.category, f.rule, f.excerpt) if v))
