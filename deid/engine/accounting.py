"""The accounting check at the end of every run: each input this run took on ended as
written, quarantined or an error, and the audit log says so, one file row each, with a
reason for every input not written; every output it records as written is there.

A run whose books do not balance has lost track of an input: deid says so and exits
with its internal-error code (4), whatever else happened.
"""

from __future__ import annotations

from ..audit.log import AuditLog
from .runner import Summary
from .sinks import Sink

ROWS = (("write", "ok"), ("quarantine", "quarantined"), ("error", "errors"))


def check(summary: Summary, log: AuditLog, sink: Sink | None) -> list[str]:
    """Problems found; [] when the books balance. An interrupted run is checked for what
    it recorded (the rest is left for the resumed run). sink None: a dry run, which
    writes nothing to look for."""
    s = summary
    problems = []
    if s.files != s.ok + s.quarantined + s.errors:
        problems.append(
            f"{s.files} inputs counted, but {s.ok} written + {s.quarantined} quarantined + {s.errors} errors"
        )
    if not s.interrupted and s.seen != s.files:
        problems.append(f"{s.seen} inputs taken on, {s.files} accounted for")
    rows = log.file_rows()
    for action, attr in ROWS:
        n, blank = rows.get(action, (0, 0))
        if n != getattr(s, attr):
            problems.append(f"audit log: {n} '{action}' file rows, the run counted {getattr(s, attr)}")
        if action != "write" and blank:
            problems.append(f"audit log: {blank} '{action}' file rows without a reason")
    if set(rows) - {a for a, _ in ROWS}:
        problems.append(f"audit log: unexpected file rows {sorted(set(rows) - {a for a, _ in ROWS})}")
    missing = sum(1 for rel in log.outputs() if not sink.has(rel)) if sink is not None else 0
    if missing:
        problems.append(f"{missing} outputs recorded as written are not in the output folder")
    return problems


def balance(summary: Summary, counted: int) -> tuple[int, int, str]:
    """(inputs, inputs left for a resumed run, the summary's line: inputs = written +
    quarantined + errors, + done by an earlier run, + left). `counted`: what the walk
    before the run found (what an interrupted run's inputs are counted by)."""
    s = summary
    total = counted if s.interrupted else s.seen + s.skipped
    left = max(0, total - s.skipped - s.files) if s.interrupted else 0
    line = f"inputs {total} = written {s.ok} + quarantined {s.quarantined} + errors {s.errors}"
    if s.skipped:
        line += f" + done by the interrupted run {s.skipped}"
    if left:
        line += f" + left for the resumed run {left}"
    return total, left, line
