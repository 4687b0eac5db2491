"""`deid risk PATH...`: the re-identification risk of a de-identified output (records
tables and DICOM headers): k-anonymity, class sizes, l-diversity, prosecutor / journalist
/ marketer risk (docs/risk.md), as text or JSON, and with --assessment the GB/T
42460-structured assessment in Chinese and English. Counts and shares only: no value is
ever printed. Exit 0, or 1 when a target (--k, else the pipeline's risk.k) is not met."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from . import app
from .common import FOUND, OK, console, emit, fail

if TYPE_CHECKING:
    from ..policy.engine import Pipeline
    from ..risk.measures import Measures


@app.command()
def risk(
    paths: List[Path] = typer.Argument(..., help="De-identified output folders or files (recursive)."),
    pipeline: Optional[str] = typer.Option(
        None, "--pipeline", "-p", help="Whose `risk:` section names the quasi-identifiers (the run's pipeline)."
    ),
    k: Optional[int] = typer.Option(None, "--k", min=2, help="Target k: exit 1 when the output is below it."),
    fmt: str = typer.Option("text", "--format", help="text, or json (one object)."),
    assessment: Optional[Path] = typer.Option(
        None, "--assessment", help="Also write the effect assessment here: OUT.md or OUT.html (zh + en)."
    ),
    audit: Optional[Path] = typer.Option(
        None, "--audit", help="The run's audit log for the assessment (default: <PATH>.audit.sqlite beside PATH)."
    ),
    population: Optional[Path] = typer.Option(
        None,
        "--population",
        help="A population table (CSV/TSV/JSONL, the quasi-identifier columns generalised as the release, "
        "optional `count`): journalist and marketer risk against it. Without one they are computed against the "
        "release itself (journalist = prosecutor, an upper bound).",
    ),
) -> None:
    """Measure what the output's quasi-identifiers still reveal."""
    from ..policy import load_pipeline

    if fmt not in ("text", "json"):
        fail("--format must be text or json")
    if assessment is not None and assessment.suffix.lower() not in (".md", ".html", ".htm"):
        fail("--assessment must name a .md or .html file")
    for p in paths:
        if not p.exists():
            fail(f"{p} does not exist (or is a broken link)")
    if population is not None and not population.is_file():
        fail(f"--population {population} does not exist (or is not a file)")
    audit_log = _audit_for(paths, audit) if assessment is not None or audit is not None else None
    pipe = load_pipeline(pipeline)
    target = k if k is not None else pipe.risk.k
    m = measure_paths(paths, pipe, target, population)
    if fmt == "json":
        emit(json.dumps(m.as_dict(), ensure_ascii=False))
    else:
        for line in text_lines(m):
            emit(line)
    if assessment is not None:
        write_assessment(assessment, m, pipe, audit_log, k, paths)
    raise typer.Exit(FOUND if target is not None and not m.meets else OK)


def measure_paths(paths: List[Path], pipe: Pipeline, target: int | None, population: Path | None = None) -> Measures:
    """The measures of the release under `paths`; a usage error when nothing there holds
    a declared quasi-identifier."""
    from ..risk.measures import measure
    from ..risk.quasi import read_population, read_release

    table = read_release(paths, pipe)
    if not len(table):
        fail(
            f"no records or DICOM headers with the pipeline's quasi-identifiers ({', '.join(table.names)}) under "
            f"{', '.join(map(str, paths))}: name the run's pipeline with --pipeline"
        )
    pop = None
    if population is not None:
        try:
            pop = read_population(population, pipe, table.keys)
        except OSError as exc:
            fail(f"--population {population} cannot be read: {exc.strerror or type(exc).__name__}")
        except (UnicodeError, ValueError) as exc:
            fail(f"--population {population.name} cannot be read as a table ({type(exc).__name__})")
    return measure(table, target, pop)


def text_lines(m: Measures) -> list[str]:
    lines = [
        f"records\t{m.records}",
        f"persons\t{m.persons}",
        f"quasi-identifiers\t{', '.join(m.quasi)}",
        f"k-anonymity\t{m.k}",
        f"classes\t{m.classes}",
    ]
    if m.target is not None:
        lines += [
            f"target k\t{m.target} ({'met' if m.meets else 'NOT met: ' + m.why_not()})",
            f"persons below k\t{m.below_persons}",
            f"records below k\t{m.below_records}",
        ]
    lines += [f"l-diversity ({name})\t{lv}" for name, lv in m.l_diversity.items()]
    lines += [
        f"sample uniqueness\t{m.uniques:.4f}",
        f"prosecutor risk\thighest {m.prosecutor_max:.4f}, average {m.prosecutor_avg:.4f}",
        f"journalist risk\thighest {m.journalist_max:.4f}, average {m.journalist_avg:.4f}"
        + ("" if m.population else " (no population given: against the release itself)"),
        f"marketer risk\t{m.marketer:.4f}",
        "class sizes\t" + ", ".join(f"{label}: {c} classes/{p} persons" for label, c, p in m.histogram() if c),
    ]
    if m.unread:
        lines.append(f"files not measured\t{m.unread} (not CSV/TSV/JSONL or DICOM, or unreadable)")
    if m.failed:
        lines.append(f"files that could not be parsed\t{m.failed} (a target k is not met while any is left)")
    if m.unmeasured:
        lines.append(
            f"record files not measured\t{m.unmeasured} (JSON, FHIR, HL7 or text: a target k is not met while any is left)"
        )
    if m.persons_unknown:
        lines.append(
            f"persons unknown\t{m.persons_unknown} rows of {m.persons_unknown_files} files counted as one person each "
            "(no person field: a target k is not met)"
        )
    return lines


def _audit_for(paths: List[Path], given: Path | None) -> Path | None:
    if given is not None:
        if not given.is_file():
            fail(f"--audit {given} does not exist")
        return given
    guess = paths[0].with_name(paths[0].name + ".audit.sqlite")
    return guess if guess.is_file() else None


def output_digests(paths: List[Path]) -> list[str]:
    """ "sha256=<hex>" of each output file that holds or may hold records (tables, record
    files, DICOM): what the assessment checks against the audit log's output digests."""
    import hashlib

    from ..risk.quasi import DICOM_SUFFIXES, TABLE_KINDS, UNMEASURED_RECORDS, walk

    kinds = (*TABLE_KINDS, *UNMEASURED_RECORDS, *DICOM_SUFFIXES)
    out = []
    for _root, _rel, path in walk(paths):
        if path.suffix.lower() in kinds:
            h = hashlib.sha256()
            try:
                with open(path, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        h.update(block)
            except OSError:
                out.append("")  # unreadable: not the file the log recorded
                continue
            out.append("sha256=" + h.hexdigest())
    return out


def write_assessment(
    out: Path, m: Measures, pipe: Pipeline, audit: Path | None, k: int | None, paths: List[Path] | None = None
) -> None:
    from ..risk.assessment import build, markdown, to_html
    from ..risk.facts import read_facts
    from ..util import atomic_write

    facts = read_facts(audit) if audit is not None else None
    unrecorded = 0
    if facts is not None:
        unrecorded = sum(1 for d in output_digests(paths or []) if d not in facts.digests)
    sections = build(m, pipe.risk, facts, k, unrecorded)
    text = to_html(sections) if out.suffix.lower() in (".html", ".htm") else markdown(sections)
    try:
        atomic_write(out, text.encode("utf-8"))
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or type(exc).__name__}")
    console.print(
        f"assessment: {out}" + ("" if audit else " (no audit log found: identifiers section left open)"), markup=False
    )
