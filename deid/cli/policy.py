"""`deid policy show|validate`: what a pipeline does, rule by rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from . import policy_app
from .common import emit, out


@policy_app.command("show")
def policy_show(
    pipeline: Optional[str] = typer.Option(None, "--pipeline", "-p"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable rows."),
) -> None:
    """The effective rule for every Table E.1-1 row, and where it came from."""
    from ..policy import load_pipeline

    pipe = load_pipeline(pipeline)
    rows = pipe.dicom.effective_rows()
    if as_json:
        emit(json.dumps([dict(zip(("tag", "name", "action", "rule_id"), r)) for r in rows]))
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
    from ..policy import load_pipeline

    pipe = load_pipeline(file)
    out.print(
        f"ok: {pipe.name}: options {list(pipe.dicom.options)}, {len(pipe.dicom.overrides)} overrides", markup=False
    )
