"""The release pass: with `risk.k` set, after every input is written and before the run's
accounting, the driver reads the whole output (k is a property of the release, not of a
file), chooses the hierarchy levels (generalise.search), rewrites the CSV/TSV/JSONL
records that change (atomically, through the run's sink) and records every
generalisation and suppression as an audit event: the cell's location, the rule
(`risk:k=5:<quasi>:<hierarchy>:<level>`, `risk:k=5:suppress`) and a keyed fingerprint
of the cell (its file, location and old value: equal values in two cells do not share one,
so the log cannot regroup the rows by their original value), never the value. Then it measures the release again, DICOM headers
included, and records the measures as one `<release>` event: counts only, what the
report and the assessment read.

DICOM headers are measured, not rewritten: their quasi-identifiers are what the header
profile left (ages over 89 already 090Y); a release whose images keep it below k is
reported below k (exit 1), never passed as reaching it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..core import AuditEvent
from ..policy.engine import Pipeline
from ..records.formats.delimited import dialect
from ..records.formats.encoding import decode, encode
from .facts import DIGEST_RULE, RELEASE_ITEM
from .generalise import Plan, generalised, search
from .hierarchies import HIERARCHIES, SUPPRESSED
from .measures import Measures, measure, merged, persons
from .quasi import Source, Table, read_release

CATEGORY = "quasi-identifier"


@dataclass
class ReleaseOutcome:
    target: int
    measures: Measures  # the release after the pass
    levels: dict[str, int] = field(default_factory=dict)  # quasi-identifier -> level chosen
    generalised: int = 0  # cells changed
    suppressed: int = 0  # persons suppressed
    suppressed_records: int = 0
    loss: float = 0.0
    discernibility: int = 0
    files: int = 0  # outputs rewritten
    persons: int = 0  # persons in the records tables the pass could change
    why: str = ""  # why the target was not reached ("" when it was)

    @property
    def reached(self) -> bool:
        return not self.why

    def as_dict(self) -> dict:
        return {
            "target": self.target,
            "reached": self.reached,
            "why": self.why,
            "levels": self.levels,
            "generalised_cells": self.generalised,
            "suppressed_persons": self.suppressed,
            "suppressed_records": self.suppressed_records,
            "suppressed_share": self.suppressed / self.persons if self.persons else 0.0,
            "loss": round(self.loss, 6),
            "loss_measure": "precision (Sweeney 2002) with suppression",
            "discernibility": self.discernibility,
            "files_rewritten": self.files,
            "measures": self.measures.as_dict(),
        }


Record = Callable[[str, list[AuditEvent]], None]  # (output item, events) -> the audit log
Put = Callable[[str, bytes], object]  # (output rel, bytes) -> written atomically
Fingerprint = Callable[[str], str]


def reach_k(out: Path, pipeline: Pipeline, fingerprint: Fingerprint, record: Record, put: Put) -> ReleaseOutcome:
    """Generalise and suppress the records under `out` to `pipeline.risk.k`."""
    pol = pipeline.risk
    k = int(pol.k or 0)
    table = read_release([out], pipeline, tables_only=True)
    outcome = ReleaseOutcome(k, measure(table, k))
    who, n = persons(table)
    outcome.persons = n
    present = table.present()  # sub-columns some file holds: the search is over those only
    if n and present:
        flat = n == len(table)
        qis = sorted({table.groups[j] for j in present})
        quasi = [merged(table.quasi[j], who, n) for j in present]
        hs = [table.hierarchy(j) for j in present]
        groups = [qis.index(table.groups[j]) for j in present]
        plan = search(quasi, hs, k, pol.max_suppression, merged=not flat, groups=groups)
        if plan is None:
            outcome.why = (
                f"no combination of hierarchy levels reaches k={k} suppressing at most "
                f"{pol.max_suppression:.0%} of {n} persons: raise risk.max_suppression or declare coarser hierarchies"
            )
        else:
            _apply(table, plan, dict(zip(qis, plan.levels)), who, k, fingerprint, record, put, outcome)
    after = read_release([out], pipeline)
    outcome.measures = measure(after, k)
    if not outcome.why and outcome.measures.failed:
        outcome.why = (
            f"{outcome.measures.failed} record tables or DICOM files in the output could not be read, so "
            "what they hold is neither measured nor generalised"
        )
    if not outcome.why and (outcome.measures.unmeasured or outcome.measures.persons_unknown):
        outcome.why = outcome.measures.why_not()
    if not outcome.why and not outcome.measures.meets:
        outcome.why = (
            f"the release is {outcome.measures.k}-anonymous after the pass, below k={k}: "
            "what stays below is in DICOM headers or files the pass does not rewrite"
        )
    record(RELEASE_ITEM, [AuditEvent("<risk>", "measure", "risk", f"risk:k={k}", "", json.dumps(outcome.as_dict()))])
    return outcome


def _apply(
    table: Table,
    plan: Plan,
    level_of: dict[int, int],
    who: np.ndarray,
    k: int,
    fingerprint: Fingerprint,
    record: Record,
    put: Put,
    outcome: ReleaseOutcome,
) -> None:
    """Each row's cells under the plan (`level_of`: quasi-identifier index -> level, for
    those the release holds), written back file by file, one event per change."""
    outcome.levels = {table.names[q]: lv for q, lv in sorted(level_of.items())}
    outcome.loss, outcome.discernibility = plan.loss, plan.discernibility
    outcome.suppressed = plan.suppressed_count
    subs = [
        (j, table.keys[j], table.names[g], table.hierarchy(j), level_of[g])
        for j, g in enumerate(table.groups)
        if g in level_of
    ]
    cols = {j: generalised(table.quasi[j], h, lv) for j, _key, _name, h, lv in subs}
    gone = plan.suppressed[who]
    outcome.suppressed_records = int(gone.sum())
    changes: dict[int, dict[int, dict[str, str]]] = defaultdict(dict)  # source -> row -> {column: new}
    events: dict[int, list[AuditEvent]] = defaultdict(list)
    for r, (s, i) in enumerate(table.rows):
        src = table.sources[s]
        row: dict[str, str] = {}
        olds = []
        for j, key, name, h, lv in subs:
            col = src.columns.get(key)
            if col is None:
                continue
            old = table.quasi[j][r]
            olds.append(old)
            new = SUPPRESSED if gone[r] else cols[j][r]
            if new == old:
                continue
            row[col] = new
            if not gone[r]:
                rule = f"risk:k={k}:{name}:{h}:{lv}"
                where = _where(src, i, col)
                events[s].append(
                    AuditEvent(
                        where,
                        "generalize",
                        CATEGORY,
                        rule,
                        cell_fingerprint(fingerprint, src.rel, where, old),
                        f"level={lv}/{HIERARCHIES[h].height}",
                    )
                )
        if gone[r]:
            rule = f"risk:k={k}:suppress"
            where = _where(src, i)
            events[s].append(
                AuditEvent(
                    where,
                    "suppress",
                    CATEGORY,
                    rule,
                    cell_fingerprint(fingerprint, src.rel, where, "\0".join(olds)),
                    f"fields={len(row)}",
                )
            )
        if row:
            changes[s][i] = row
            outcome.generalised += 0 if gone[r] else len(row)
    for s, rows in sorted(changes.items()):
        src = table.sources[s]
        data = rewrite(src, rows)
        put(src.rel, data)
        # the rewritten output's digest: the report and an auditor tell this file from any other
        digest = AuditEvent("<output>", "digest", "file", DIGEST_RULE, "", "sha256=" + hashlib.sha256(data).hexdigest())
        record(src.rel, events[s] + [digest])
        outcome.files += 1


def cell_fingerprint(fingerprint: Fingerprint, rel: str, where: str, old: str) -> str:
    """The keyed fingerprint of one cell: its file, its location and its old value, so two
    cells of equal value do not share a fingerprint (with the output and the log, a shared
    one would regroup the generalised rows by their original value). Whoever holds the key
    and the original can still check a cell."""
    return fingerprint(f"{rel}\0{where}\0{old}")


def _where(src: Source, i: int, col: str = "") -> str:
    """The cell's location as the record stack writes it: row[i].<column>, line[n].<key>."""
    base = f"line[{i + 1}]" if src.kind == "jsonl" else f"row[{i}]"
    return f"{base}.{col}" if col else base


def rewrite(src: Source, rows: dict[int, dict[str, str]]) -> bytes:
    """The file with these cells replaced; encoding, delimiter, line ends and blank lines kept."""
    text, enc = decode(src.path.read_bytes())
    if src.kind == "jsonl":
        lines = text.split("\n")
        for i, cells in rows.items():
            end = "\r" if lines[i].endswith("\r") else ""
            doc = json.loads(lines[i])
            doc.update(cells)
            lines[i] = json.dumps(doc, ensure_ascii=False) + end
        return encode("\n".join(lines), enc)
    newline = "\r\n" if "\r\n" in text[:65536] else "\n"
    style = dialect(text.split("\n", 1)[0].rstrip("\r"), src.kind == "tsv")
    reader = csv.reader(io.StringIO(text, newline=""), **style)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=newline, **style)
    header = next(reader, [])
    w.writerow(header)
    at = {h: j for j, h in reversed(list(enumerate(header)))}
    for i, row in enumerate(reader, start=1):
        if not row:
            buf.write(newline)
            continue
        for col, new in rows.get(i, {}).items():
            if at[col] >= len(row):  # a short row: its missing cells are empty
                row.extend([""] * (at[col] + 1 - len(row)))
            row[at[col]] = new
        w.writerow(row)
    body = buf.getvalue()
    if not text.endswith(("\n", "\r")) and body.endswith(newline):
        body = body[: -len(newline)]
    return encode(body, enc)
