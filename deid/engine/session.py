"""One run, from a checked RunConfig to its result: count the inputs, hold the output and
audit log, open the vault, start (or resume) a run in the audit log, run every input on
the chosen executor with SIGTERM as Ctrl-C, check the accounting, close the log and the
vault, and remove temp files. What to print and which exit code is the caller's.
"""

from __future__ import annotations

import logging
import signal
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Callable, ContextManager, Iterator, Mapping

from ..errors import AuditError, DeidError, VaultError
from ..printable import display
from .config import RunConfig
from .job import Job, Outcome
from .runner import Summary
from .sinks import Sink

if TYPE_CHECKING:
    from ..audit.log import AuditLog
    from ..core import AuditEvent
    from ..pseudonym import Pseudonymizer
    from ..vault import Vault

log = logging.getLogger(__name__)

# progress(total) -> a context whose value is called once per finished input
Progress = Callable[[int], ContextManager[Callable[[Outcome], None]]]
# a whole-release step, after every input is written and before the accounting (the risk
# pass, deid/risk/release.py, above the engine, passed in by the CLI): (the sink, a writer
# of audit events on an output already written, the keyed fingerprint) -> what it found
ReleaseStep = Callable[[Sink, Callable[[str, list["AuditEvent"]], None], Callable[[str], str]], object]


@dataclass
class RunResult:
    summary: Summary
    counted: int  # inputs the counting walk found
    problems: list[str] = field(default_factory=list)  # accounting: [] when the books balance
    dry_run: bool = False
    release: object = None  # what the release step returned (None: no step, or it did not run)


@contextmanager
def no_progress(_total: int) -> Iterator[Callable[[Outcome], None]]:
    yield lambda _o: None


def execute(
    cfg: RunConfig,
    progress: Progress = no_progress,
    say: Callable[[str], None] = log.warning,
    release: ReleaseStep | None = None,
) -> RunResult:
    """Run `cfg`. `say`: a notice for the person running it (a resumed run, a new vault
    key). `release`: a step over the whole output once every input is written (not in a
    dry run, nor after an interruption). DeidError: a usage or configuration problem, or one the run cannot go on with
    (dask missing, the vault failing); the run is left resumable."""
    from .discover import discover

    counted = sum(1 for _ in discover(list(cfg.inputs)))  # a counting walk: nothing is kept in memory
    if not counted:
        raise DeidError(f"no input files found in {', '.join(map(str, cfg.inputs))}: nothing to de-identify")
    log.info("%d inputs found, engine %s", counted, cfg.engine.value)
    if cfg.dry_run:
        return _dry_run(cfg, counted, progress)
    from .lock import hold

    with hold(cfg.out, cfg.audit):
        return _run(cfg, counted, progress, say, release)


def _items(
    cfg: RunConfig,
    job: Job,
    audit: AuditLog,
    total: int,
    progress: Progress,
    skip: Mapping[str, str] | None = None,
    mappings: Callable[[list[tuple[str, str, str]]], None] | None = None,
) -> Summary:
    """The engine over every input, with a progress display."""
    from .discover import discover
    from .runner import run

    with progress(total - len(skip or ())) as step:
        return run(
            discover(list(cfg.inputs)),
            job,
            audit,
            workers=cfg.limits.workers,
            progress=step,
            skip=skip,
            timeout=cfg.timeout,
            max_memory_mb=cfg.limits.max_memory_mb,
            engine=cfg.engine,
            scheduler=cfg.limits.scheduler,
            mappings=mappings,
        )


def _run(
    cfg: RunConfig, counted: int, progress: Progress, say: Callable[[str], None], release: ReleaseStep | None
) -> RunResult:
    from ..handlers import Context
    from ..pseudonym import Pseudonymizer
    from .accounting import check as accounting

    sink = cfg.sink()
    vdb = _open_vault(cfg, sink, say) if cfg.vault or cfg.vault_key_file else None
    try:
        audit, skip = _start(cfg, sink, vdb, say)
    except DeidError:
        if vdb is not None:
            vdb.close()
        raise
    job = Job(
        Context(cfg.pipeline, Pseudonymizer(cfg.secret), cfg.preview is not None, collect_mappings=vdb is not None),
        sink,
        cfg.naming,
    )
    previous = signal.signal(signal.SIGTERM, _sigterm)  # a batch scheduler's stop: as Ctrl-C
    error, summary, problems, found = None, None, [], None
    try:
        summary = _items(cfg, job, audit, counted, progress, skip, vdb.add if vdb is not None else None)
        if release is not None and not summary.interrupted:
            found = _release(release, sink, audit, job, summary)
        problems = accounting(summary, audit, sink)
    except DeidError as exc:  # e.g. --engine dask without dask installed, or the vault cannot store a mapping
        error = exc
    finally:
        signal.signal(signal.SIGTERM, previous)
    closing = _close(audit, vdb, finish=summary is not None and not summary.interrupted)
    removed = sink.remove_partials()  # a killed worker's temp files (the lock says no other run writes here)
    log.debug("closed: %d temp files removed", removed)
    if error is not None or summary is None:
        raise error or DeidError("the run stopped without a summary")
    if closing:  # the last batch of audit rows (or vault mappings) was not stored: a rerun redoes it
        summary.interrupted, summary.stop_reason = True, summary.stop_reason or closing
    return RunResult(summary, counted, problems, release=found)


def _release(step: ReleaseStep, sink: Sink, audit: AuditLog, job: Job, summary: Summary) -> object:
    """The release step; a disk or audit log that fails under it stops the run as it would
    stop an input (exit 3: run again, and the step runs again over the whole output). So
    does Ctrl-C (or SIGTERM) during it: the run is then closed as any interrupted run is,
    the audit rows already recorded committed, so a rerun skips the inputs written."""
    try:
        return step(sink, audit.record_events, job.ctx.pseudo.fingerprint)
    except (OSError, AuditError) as exc:
        summary.interrupted = True
        summary.stop_reason = f"the release pass could not finish ({type(exc).__name__}): free space, then run again"
        return None
    except KeyboardInterrupt:
        summary.interrupted = True
        summary.stop_reason = "interrupted during the release pass: run the same command again to finish it"
        return None


def _start(
    cfg: RunConfig, sink: Sink, vdb: Vault | None, say: Callable[[str], None]
) -> tuple[AuditLog, Mapping[str, str]]:
    """The sink's folders checked, the audit log open and a run started in it; (log, the
    path fingerprints an interrupted run of the same command finished)."""
    from ..audit.log import AuditLog
    from ..pseudonym import Pseudonymizer

    sink.prepare()
    audit = AuditLog(cfg.audit)
    if vdb is not None:
        audit.before_commit = vdb.commit  # mappings are stored before an input counts as done
    pseudo = Pseudonymizer(cfg.secret)
    signature = resume_signature(cfg, sink, pseudo, vdb)
    try:
        earlier = audit.unfinished(signature)
        skip: Mapping[str, str] = {}
        if earlier and cfg.resume is not False:
            skip = sink.resume_index(audit.done_paths(earlier))
            removed = sink.remove_partials()
            log.info("resuming: %d inputs done earlier, %d temp files removed", len(skip), removed)
            say(
                f"resuming an interrupted run: {len(skip)} inputs already done are skipped"
                + (f", {removed} temp files removed" if removed else "")
            )
        audit.start_run(cfg.pipeline.name, cfg.pipeline.policy_hash, versions(), pseudo.key_id, signature)
    except BaseException:
        audit.abandon()
        raise
    return audit, skip


def resume_signature(cfg: RunConfig, sink: Sink, pseudo: Pseudonymizer, vdb: Vault | None) -> str:
    """What a resumed run must share with the interrupted one (keyed, so the audit log
    holds no path): pipeline, naming, destination, vault, inputs. The vault is part of
    what a resume continues: with it, without it or another one, start over."""
    vault_part = "vault:" + str(vdb.path.resolve()) if vdb is not None else "no-vault"
    return pseudo.fingerprint(
        "run:"
        + "\0".join(
            [cfg.pipeline.policy_hash, cfg.naming.value, sink.where, vault_part]
            + sorted(str(p.resolve()) for p in cfg.inputs)
        )
    )


def _dry_run(cfg: RunConfig, counted: int, progress: Progress) -> RunResult:
    """Everything processed, nothing written: the audit log is in memory, and thrown away."""
    from ..audit.log import AuditLog
    from ..handlers import Context
    from ..pseudonym import Pseudonymizer
    from .accounting import check as accounting

    audit = AuditLog(":memory:")
    audit.start_run(cfg.pipeline.name, cfg.pipeline.policy_hash, {}, "")
    job = Job(Context(cfg.pipeline, Pseudonymizer(cfg.secret)), cfg.sink(), cfg.naming, dry_run=True)
    summary = _items(cfg, job, audit, counted, progress)
    problems = accounting(summary, audit, None)
    audit.abandon()
    return RunResult(summary, counted, problems, dry_run=True)


def versions() -> dict[str, str]:
    """Versions that decide the output, recorded with each run (OCR model wheel included)."""
    import sys
    from importlib.metadata import version as dist_version

    from .. import __version__

    out = {"deid": __version__, "python": sys.version.split()[0]}
    for dist in ("pydicom", "rapidocr", "onnxruntime", "opencv-python-headless", "numpy"):
        try:
            out[dist] = dist_version(dist)
        except Exception:
            out[dist] = "not installed"
    return out


def _open_vault(cfg: RunConfig, sink: Sink, say: Callable[[str], None]) -> Vault:
    """The vault this run writes (--vault), opened (and locked) before any input is processed,
    outside every folder the sink writes."""
    from ..vault import open_for_run

    vdb, where = open_for_run(cfg.vault, cfg.vault_key_file, cfg.secret, sink.folders(), cfg.inputs)
    if where.startswith("created"):
        say(
            f"new vault key: {display(where[8:])} (mode 0600). Keep it apart from the pseudonym key: "
            "without it the vault can never be read."
        )
    return vdb


def _close(audit: AuditLog, vdb: Vault | None, finish: bool) -> str:
    """Finish (when asked) and close the audit log, then the vault; '' when all went well,
    else why not. Each audit commit stores the vault's mappings first (log.before_commit);
    when the vault cannot, or the log cannot commit, the log's open batch is dropped, so
    its inputs do not count as done and a resumed run redoes them."""
    problem = ""
    try:
        if finish:
            audit.finish_run()
        audit.close()
    except (VaultError, AuditError) as exc:
        audit.abandon()  # the mappings of that batch's inputs were not stored
        problem = str(exc)
    finally:
        if vdb is not None:
            try:
                vdb.close()
            except VaultError as exc:
                problem = problem or str(exc)
    return problem


def _sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt
