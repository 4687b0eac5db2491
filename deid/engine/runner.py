"""Run items through handlers, in-process or on a local process pool; one audit writer.

Workers process and write their own outputs (atomically) so output bytes never
cross processes; only the audit events come back to the driver, the one audit writer.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..audit.events import AuditEvent
from ..audit.log import AuditLog, FileRecord
from ..handlers import Context, Item, Result, handler_for
from .writer import atomic_write, quarantine


@dataclass
class Outcome:
    item: str            # as the audit names it (the output name when the input path named the patient)
    status: str
    reason: str
    output: str
    result: Result
    source: str = ""     # the input's relative path (for the resume index, as a keyed fingerprint)


@dataclass
class Summary:
    files: int = 0
    ok: int = 0
    quarantined: int = 0
    elements: int = 0
    dates_shifted: int = 0
    redacted_boxes: int = 0
    seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)
    skipped: int = 0                    # done by the interrupted run this one resumes
    skipped_quarantined: int = 0        # ... of which quarantined there
    actions: dict[str, int] = field(default_factory=dict)   # audit action -> count (for --dry-run)
    kinds: dict[str, int] = field(default_factory=dict)     # dicom / records / ... -> files
    interrupted: bool = False


@dataclass(frozen=True)
class Job:
    ctx: Context
    out: Path
    quarantine_dir: Path
    naming: str = "mirror"
    preview_dir: Path | None = None
    dry_run: bool = False                 # process, count, write nothing


IO_THREADS = 4                          # fsync waits on the disk, not the CPU
MAX_PENDING = 16                        # outputs waiting to be written, at most
MAX_PENDING_BYTES = 256 * 1024 * 1024   # and their bytes, at most


def prepare(item: Item, job: Job) -> Result:
    """Read, route and process one item; nothing is written yet."""
    try:
        data = Path(item.source).read_bytes()
    except OSError as exc:
        return Result("quarantined", reason=f"unreadable-file: {type(exc).__name__}", kind="unreadable")
    handler = handler_for(item.source, data)
    if handler is None:
        return Result("quarantined", reason="unsupported-type: not a file kind this pipeline handles",
                      kind="unsupported")
    res = handler.process(item, job.ctx, data)
    if res.status == "ok" and res.data is not None and job.ctx.pipeline.verify.enabled:
        from ..check.verify import verify_output  # the pipeline's `verify:` step

        res = verify_output(res, data, output_name(item, job, res), job.ctx)  # as it will be written
    return res


def safe_prepare(item: Item, job: Job, max_memory_mb: int = 0) -> Result:
    """prepare() in a worker, with a last net: handlers quarantine their own errors, and
    anything that still escapes quarantines the item instead of killing the worker."""
    try:
        return prepare(item, job)
    except MemoryError:
        return Result("quarantined", reason=f"out-of-memory: over the {max_memory_mb} MiB worker limit")
    except Exception as exc:
        return Result("quarantined", reason=f"internal-error: {type(exc).__name__}")


def output_name(item: Item, job: Job, res: Result) -> str:
    """The output's path below --out: the input's, or the handler's new name when asked
    for (--naming pseudonymized) or when the input path named the patient."""
    return res.name_hint if (job.naming == "pseudonymized" or res.renamed) and res.name_hint else item.relpath


def finish(item: Item, job: Job, res: Result) -> Outcome:
    """Write the output atomically, or quarantine the input; the outcome names where it went."""
    rel = item.relpath
    if job.dry_run:
        if res.status == "ok":
            rel = output_name(item, job, res)
        res.data, res.previews = None, []
        return Outcome(rel if res.renamed else item.relpath, res.status, res.reason,
                       rel if res.status == "ok" else "", res, item.relpath)
    if res.status == "ok" and res.data is not None:
        rel = output_name(item, job, res)
        try:
            # previews first: if one cannot be written, the item is quarantined with no
            # output left behind (never an output file that is also in quarantine)
            if job.preview_dir is not None:
                for suffix, png in res.previews:
                    atomic_write(job.preview_dir / f"{rel}.{suffix}", png)
            atomic_write(job.out / rel, res.data)
            # the output's digest (of de-identified bytes, not a value): lets the report and
            # an auditor tell the file this run wrote from anything later found at its path
            res.events.append(AuditEvent("<output>", "digest", "file", "engine:output-digest", "",
                                         "sha256=" + hashlib.sha256(res.data).hexdigest()))
        except OSError as exc:
            res = res.quarantined(f"write-failed: {type(exc).__name__}", events=[])
        res.data = None
        res.previews = []
    if res.status != "ok":
        try:
            quarantine(job.quarantine_dir, item.relpath, item.source, res.reason, res.details)
        except OSError as exc:  # the audit row still records it; never abort the batch
            res.reason += f" (quarantine copy failed: {type(exc).__name__})"
        rel = ""
    # a file whose path named the patient is recorded (and was written) under its new name only
    audit_item = (rel or res.name_hint) if res.renamed else item.relpath
    return Outcome(audit_item, res.status, res.reason, rel, res, item.relpath)


def chunks(items: Iterable[Item], n: int) -> Iterator[list[Item]]:
    """Items in lists of n (the last one shorter), lazily."""
    chunk: list[Item] = []
    for it in items:
        chunk.append(it)
        if len(chunk) == n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _inline(items: Iterable[Item], job: Job, take: Callable[[Outcome], None],
            prep: Callable[[Item, Job], Result] = prepare) -> None:
    """One process; writes (and their fsync) run on a few threads while the next file is
    processed. An item is taken (recorded as done) only after its write has finished.
    In-flight writes are bounded in count and bytes, so memory stays flat."""
    pending: deque[tuple[Future, int]] = deque()
    in_bytes = 0
    with ThreadPoolExecutor(IO_THREADS, thread_name_prefix="deid-write") as io:
        for it in items:
            res = prep(it, job)
            size = len(res.data or b"")
            pending.append((io.submit(finish, it, job, res), size))
            in_bytes += size
            while pending and (pending[0][0].done() or len(pending) > MAX_PENDING
                               or in_bytes > MAX_PENDING_BYTES):
                fut, size = pending.popleft()
                in_bytes -= size
                take(fut.result())
        while pending:
            take(pending.popleft()[0].result())


def path_fp(job: Job, relpath: str) -> str:
    """Keyed fingerprint of an input path: the resume index never holds the path."""
    return job.ctx.pseudo.fingerprint("path:" + relpath)


def run(items: Iterable[Item], job: Job, audit: AuditLog, workers: int = 1,
        progress: Callable[[Outcome], None] | None = None, skip: dict[str, str] | None = None,
        timeout: float = 0.0, max_memory_mb: int = 0, engine: str = "local",
        scheduler: str | None = None,
        mappings: Callable[[list[tuple[str, str, str]]], None] | None = None) -> Summary:
    """Process every item not in `skip` (path fingerprints of inputs an interrupted run
    finished); record each in the audit log as it completes. workers == 1: in this
    process (inline); more: a supervised pool (pool.py) with a per-item `timeout` and
    an optional address-space limit per worker; engine "dask": a Dask cluster
    (dask_executor.py). Ctrl-C (or SIGTERM) stops cleanly: what is done is recorded,
    the rest is left for `--resume`. `mappings`: the vault's writer, given what each
    written output's Result collected (job.ctx.collect_mappings), before its audit row."""
    t0 = time.perf_counter()
    s = Summary()
    reasons_file = job.quarantine_dir / "REASONS.jsonl"

    def todo() -> Iterator[Item]:
        for it in items:
            done = skip.get(path_fp(job, it.relpath)) if skip else None
            if done is not None:
                s.skipped += 1
                s.skipped_quarantined += done != "ok"
                continue
            yield it

    def take(o: Outcome) -> None:
        r = o.result
        s.files += 1
        s.kinds[r.kind] = s.kinds.get(r.kind, 0) + 1
        for ev in r.events:
            s.actions[ev.action] = s.actions.get(ev.action, 0) + 1
        if o.status == "ok":
            s.ok += 1
            s.elements += r.counts.get("elements", 0)
            s.dates_shifted += r.counts.get("dates_shifted", 0)
            s.redacted_boxes += r.counts.get("redacted_boxes", 0) + r.counts.get("region_boxes", 0)
            detail = o.output
        else:
            s.quarantined += 1
            code = o.reason.split(":", 1)[0]
            s.reasons[code] = s.reasons.get(code, 0) + 1
            detail = o.reason
            if not job.dry_run:
                _append_reason(reasons_file, o.item, o.reason)
        if mappings is not None and o.status == "ok" and r.mappings and not job.dry_run:
            mappings(r.mappings)
        r.mappings = []
        audit.record(FileRecord(o.item, o.status, r.input_fingerprint, detail), r.events,
                     path_fp(job, o.source) if o.source else "")
        if progress:
            progress(o)

    try:
        if engine == "dask":
            from .dask_executor import DaskExecutor

            DaskExecutor(job, workers, scheduler).run(todo(), take)
        elif workers <= 1 or engine == "inline":
            _inline(todo(), job, take)
        else:
            from .pool import Supervisor

            Supervisor(job, workers, timeout, max_memory_mb).run(todo(), take)
    except KeyboardInterrupt:
        s.interrupted = True
    s.seconds = time.perf_counter() - t0
    return s


def _append_reason(path: Path, item: str, reason: str) -> None:
    """quarantine/REASONS.jsonl: one machine-readable line per quarantined input (the
    reason is a code and a class name, never a value)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"item": item, "reason": reason, "code": reason.split(":", 1)[0]},
                            ensure_ascii=False) + "\n")


def remove_partials(*folders: Path) -> int:
    """Temp files a killed run left behind (.deid-*.part outputs, *.part quarantine
    copies): never mistaken for output, removed before a resumed run starts."""
    n = 0
    for folder in folders:
        if not folder.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(folder):
            for fn in files:
                if fn.endswith(".part"):
                    os.unlink(os.path.join(dirpath, fn))
                    n += 1
    return n
