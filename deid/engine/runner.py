"""Run items through handlers on an executor (executors/: in-process, a local process
pool or Dask); one audit writer.

Workers process and write their own outputs (through the job's sink) so output bytes
never cross processes; only outcomes and audit events come back to the driver, the one
audit writer, which records each input as written, quarantined or an error, with its
reason.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Iterator, Mapping

from ..audit.log import AuditLog, FileRecord
from ..errors import AuditError, DeidError
from ..handlers import Item
from ..limits import interrupts_held
from .executors import Engine, Executor, Limits, make_executor
from .job import Job, Outcome
from .sinks import REASONS

log = logging.getLogger(__name__)


class RunStopped(DeidError):
    """The run cannot go on (the disk is full, the audit log cannot be written): what is
    done is recorded, and running the same command again resumes (exit 3). `source`: the
    input it stopped on, when one did ('' otherwise)."""

    def __init__(self, reason: str, source: str = ""):
        super().__init__(reason)
        self.source = source


@dataclass
class Summary:
    seen: int = 0  # inputs this run took on (those the interrupted run finished aside)
    files: int = 0  # ... of which it accounted for: ok + quarantined + errors
    ok: int = 0
    quarantined: int = 0
    errors: int = 0  # not written and not copied aside (a FIFO, a link, unreadable)
    elements: int = 0
    dates_shifted: int = 0
    redacted_boxes: int = 0
    seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)
    skipped: int = 0  # done by the interrupted run this one resumes
    skipped_quarantined: int = 0  # ... of which not written there
    actions: dict[str, int] = field(default_factory=dict)  # audit action -> count (for --dry-run)
    kinds: dict[str, int] = field(default_factory=dict)  # dicom / records / ... -> files
    interrupted: bool = False
    stop_reason: str = ""  # why the run stopped early, when not Ctrl-C / SIGTERM
    stop_source: str = ""  # the input it stopped on (relative path), when one did


def path_fp(job: Job, relpath: str) -> str:
    """Keyed fingerprint of an input path: the resume index never holds the path."""
    return job.ctx.pseudo.fingerprint("path:" + relpath)


def run(
    items: Iterable[Item],
    job: Job,
    audit: AuditLog,
    workers: int = 1,
    progress: Callable[[Outcome], None] | None = None,
    skip: Mapping[str, str] | None = None,
    timeout: float | None = None,
    max_memory_mb: int = 0,
    engine: Engine | str = Engine.LOCAL,
    scheduler: str | None = None,
    mappings: Callable[[list[tuple[str, str, str]]], None] | None = None,
    executor: Executor | None = None,
) -> Summary:
    """Process every item not in `skip` (path fingerprints of inputs an interrupted run
    finished); record each in the audit log as it completes. engine "inline": in this
    process; "local": a supervised pool of `workers` processes (executors/pool.py) with an
    optional address-space limit per worker; "dask": a Dask cluster (executors/dask.py). Each item
    runs under `timeout` (else the job's) in every engine. Ctrl-C (or SIGTERM) stops
    cleanly, as does a full disk or an audit log that cannot be written: what is done is
    recorded, the rest is left for `--resume`. `mappings`: the vault's writer, given what
    each written output's Result collected (job.ctx.collect_mappings), before its audit row.
    `executor`: one the caller keeps across runs (the gateway's pool, made for this job),
    instead of one made here for `engine`."""
    if timeout is not None:
        job = replace(job, timeout=timeout)
    t0 = time.perf_counter()
    s = Summary()
    if executor is None:
        executor = make_executor(engine, job, Limits(workers, max_memory_mb, scheduler))
    log.info(
        "run: engine %s, %d workers, time limit %g s, %d inputs done earlier",
        Engine(engine).value,
        workers,
        job.timeout,
        len(skip or ()),
    )

    def todo() -> Iterator[Item]:
        for it in items:
            done = skip.get(path_fp(job, it.relpath)) if skip else None
            if done is not None:
                s.skipped += 1
                s.skipped_quarantined += done != "ok"
                continue
            s.seen += 1
            yield it

    def take(o: Outcome) -> None:
        if o.status == "stop":
            raise RunStopped(o.reason, o.source)
        with interrupts_held():  # recorded and counted, or neither
            _take(o)
        if progress:
            progress(o)

    def _take(o: Outcome) -> None:
        r = o.result
        s.kinds[r.kind] = s.kinds.get(r.kind, 0) + 1
        for ev in r.events:
            s.actions[ev.action] = s.actions.get(ev.action, 0) + 1
        if o.status == "ok":
            detail = o.output
        else:
            detail = o.reason
            if not job.dry_run:
                try:
                    job.sink.note(o.item, o.reason, o.status)
                except OSError as exc:
                    raise RunStopped(f"cannot write {REASONS}: {type(exc).__name__}") from None
        if mappings is not None and o.status == "ok" and r.mappings and not job.dry_run:
            mappings(r.mappings)
        r.mappings = []
        audit.record(
            FileRecord(o.item, o.status, r.input_fingerprint, detail),
            r.events,
            path_fp(job, o.source) if o.source else "",
        )
        _count(s, o)

    try:
        executor.run(todo(), take)
    except KeyboardInterrupt:
        s.interrupted = True
    except RunStopped as exc:
        s.interrupted, s.stop_reason, s.stop_source = True, str(exc), exc.source
    except AuditError as exc:
        s.interrupted, s.stop_reason = True, str(exc)
    s.seconds = time.perf_counter() - t0
    log.info(
        "run: %d inputs accounted for (%d written, %d quarantined, %d errors), %d skipped%s, %.1f s",
        s.files,
        s.ok,
        s.quarantined,
        s.errors,
        s.skipped,
        ", interrupted" if s.interrupted else "",
        s.seconds,
    )
    return s


def _count(s: Summary, o: Outcome) -> None:
    """An outcome, recorded in the audit log, counted."""
    r = o.result
    s.files += 1
    if o.status == "ok":
        s.ok += 1
        s.elements += r.counts.get("elements", 0)
        s.dates_shifted += r.counts.get("dates_shifted", 0)
        s.redacted_boxes += r.counts.get("redacted_boxes", 0) + r.counts.get("region_boxes", 0)
        return
    if o.status == "error":
        s.errors += 1
    else:
        s.quarantined += 1
    code = o.reason.split(":", 1)[0]
    s.reasons[code] = s.reasons.get(code, 0) + 1
