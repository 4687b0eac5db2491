"""What a worker does with one input, in every engine: read, route, process and verify it
(prepare), then write the output or set the input aside with its reason (finish).

Every path written here is the input's with identifying names replaced (paths.py), or
the handler's new name. An input ends in exactly one of: written, quarantined (copied
aside with a reason), error (not copied: a FIFO, a link, an unreadable file or folder,
a failed copy; its reason is still written) or a stop of the whole run (disk full).
"""

from __future__ import annotations

import hashlib
import os
import stat

from ..audit.events import AuditEvent
from ..core import Item, Result, Status
from ..handlers import handler_for
from ..limits import STOPS, TimeLimit, time_limit
from .job import Job, Outcome
from .paths import safe_relpath
from .sinks import DestinationDown, Refused
from .writer import out_of_space


class NotARegularFile(OSError):
    """What the walk saw as a file is now something else (a FIFO, a device)."""


def read_input(path: str) -> bytes:
    """The file's bytes, never through a link and never blocking on a FIFO swapped in
    since the walk."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise NotARegularFile(path)
        return fh.read()


def prepare(item: Item, job: Job) -> Result:
    """Read, route and process one item; nothing is written yet."""
    if item.problem:
        return Result(Status.ERROR, reason=item.problem, kind="input")
    try:
        data = read_input(item.source)
    except OSError as exc:
        return Result(Status.ERROR, reason=f"unreadable-file: {type(exc).__name__}", kind="unreadable")
    handler = handler_for(item.source, data)
    if handler is None:
        return Result(
            Status.QUARANTINED, reason="unsupported-type: not a file kind this pipeline handles", kind="unsupported"
        )
    res = handler.process(item, job.ctx, data)
    if res.status == Status.OK and res.data is not None and job.ctx.pipeline.verify.enabled:
        from ..check.verify import verify_output  # the pipeline's `verify:` step

        res = verify_output(res, data, written_name(item, job, res), job.ctx)  # as it will be written
    return res


def safe_prepare(item: Item, job: Job, max_memory_mb: int = 0) -> Result:
    """prepare() under the job's time limit, with a last net: handlers quarantine their own
    errors, and anything that still escapes quarantines the item instead of killing the
    worker or the batch."""
    try:
        with time_limit(job.timeout):
            return prepare(item, job)
    except TimeLimit:
        return Result(Status.QUARANTINED, reason=f"timeout: over {job.timeout:g} s", kind="timeout")
    except MemoryError:
        return Result(Status.QUARANTINED, reason=f"out-of-memory: over the {max_memory_mb} MiB worker limit")
    except STOPS:
        raise
    except BaseException as exc:  # Exception, and a native decoder's panic (pyo3's PanicException)
        return Result(Status.QUARANTINED, reason=f"internal-error: {type(exc).__name__}")


def written_name(item: Item, job: Job, res: Result) -> str:
    """The path in the sink (below --out, or the quarantine) and in the audit: the handler's new name
    when asked for (--naming pseudonymized) or when the input path held the patient's
    identity; else the input's path with identifying names replaced."""
    if (job.naming == "pseudonymized" or res.renamed) and res.name_hint:
        return res.name_hint
    return safe_relpath(item.relpath, job.ctx.pseudo)


def finish(item: Item, job: Job, res: Result) -> Outcome:
    """Write the output through the job's sink, or set the input aside; the outcome names
    where it went (its path in the sink, as the audit records it)."""
    rel = written_name(item, job, res)
    if job.dry_run:
        res.data, res.previews = None, []
        return Outcome(rel, res.status, res.reason, rel if res.status == Status.OK else "", res, item.relpath)
    try:
        if res.status == Status.OK:
            res = _write(job, rel, res)
        if res.status != Status.OK:
            res = _set_aside(job, rel, item, res)
    except OSError as exc:
        if not (out_of_space(exc) or isinstance(exc, DestinationDown)):
            raise
        why = (
            f"destination-down: {exc}"
            if isinstance(exc, DestinationDown)
            else f"disk-full: {type(exc).__name__} writing below the output or quarantine folder"
        )
        return Outcome(
            rel,
            "stop",
            why,
            "",
            res.quarantined("disk-full", events=[]),
            item.relpath,
        )
    return Outcome(rel, res.status, res.reason, rel if res.status == Status.OK else "", res, item.relpath)


def safe_finish(item: Item, job: Job, res: Result) -> Outcome:
    """finish() with a last net: a write that fails in a way no sink expects (a bug) ends
    this item as an error with the class name, blamed on this item, not on whichever item
    its worker was preparing when the exception reached it."""
    try:
        return finish(item, job, res)
    except STOPS:
        raise
    except BaseException as exc:
        failed = res.quarantined(f"write-failed: internal-error: {type(exc).__name__}", events=[], status=Status.ERROR)
        return Outcome(written_name(item, job, res), failed.status, failed.reason, "", failed, item.relpath)


def _write(job: Job, rel: str, res: Result) -> Result:
    """Previews first: if one cannot be written, the item is quarantined with no output left
    behind (never an output file that is also in quarantine). A full disk propagates."""
    if res.data is None:
        return res.quarantined("internal-error: no output")
    try:
        for suffix, png in res.previews:
            job.sink.preview(rel, suffix, png)
        job.sink.put(rel, res.data)
        # the output's digest (of de-identified bytes, not a value): lets the report and
        # an auditor tell the file this run wrote from anything later found at its path
        res.events.append(
            AuditEvent(
                "<output>",
                "digest",
                "file",
                "engine:output-digest",
                "",
                "sha256=" + hashlib.sha256(res.data).hexdigest(),
            )
        )
    except Refused as exc:  # a peer sink's permanent refusal: quarantined with its status code
        res = res.quarantined(f"refused-by-destination: {exc.code}", events=[])
    except OSError as exc:
        if out_of_space(exc) or isinstance(exc, DestinationDown):
            raise
        res = res.quarantined(f"write-failed: {type(exc).__name__}", events=[])
    res.data, res.previews = None, []
    return res


def _set_aside(job: Job, rel: str, item: Item, res: Result) -> Result:
    """A quarantined input is copied aside (an error's input cannot be); both get a reason
    file. A copy or reason file that fails makes the input an error, still audited."""
    if res.status == Status.QUARANTINED:
        try:
            job.sink.set_aside(rel, item.source)
        except OSError as exc:
            if out_of_space(exc):
                raise
            res = res.quarantined(f"{res.reason} (quarantine copy failed: {type(exc).__name__})", status=Status.ERROR)
    try:
        job.sink.quarantine(rel, res.reason, res.details)
    except OSError as exc:
        if out_of_space(exc):
            raise
        res = res.quarantined(f"{res.reason} (reason file failed: {type(exc).__name__})", status=Status.ERROR)
    return res
