"""The local executor: a supervised pool of worker processes.

Workers get small chunks of items and process them as the inline engine does (writes
and their fsync on a few threads while the next file is processed), sending back each
outcome, with its audit events, as soon as it is done; output bytes never cross
processes. The driver keeps every worker fed (a new chunk when half of its last one is
back), so at most about 1.5 chunks per worker are in flight, however many inputs there
are.

A worker says when it starts an item, so the driver always knows which item a worker is
on: items before it may be written but not yet reported. Each item runs under the job's
time limit inside the worker (deid/limits.py: it quarantines the item as `timeout` and
the worker goes on). A worker that stays silent past that limit plus a grace (stuck in
native code) is killed: the item it was on is quarantined (`timeout`), and the rest of
its items, finished ones included, go to a fresh worker, which writes and reports them
again (the same bytes). A worker that dies (out of memory, a crash in native code) has
the item it was on quarantined (`worker-died`) the same way. The batch goes on. Workers
can be given an address-space limit.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Iterable, Iterator

from ...handlers import Item, Result, Status
from ..job import Job, Outcome
from ..work import finish, safe_prepare
from .inline import chunks, run_inline

log = logging.getLogger(__name__)

CHUNK = 8
POLL = 0.5  # seconds between deadline checks when no worker reports
KILL_GRACE = 10.0  # seconds past the time limit before a silent worker is killed
STARTED = "started"


@dataclass
class _Slot:
    proc: mp.process.BaseProcess
    conn: Connection
    outstanding: deque = field(default_factory=deque)  # sent, outcome not back yet (in order)
    started: int = 0  # how many of them the worker has begun
    deadline: float = 0.0

    def current(self) -> int:
        """Index in `outstanding` of the item the worker is on (the last one it began)."""
        return max(0, self.started - 1)


def _worker(job: Job, conn: Connection, threads: int, max_memory_mb: int) -> None:
    """A worker process. What escapes the per-item nets (a bug in a write) ends it with
    no traceback on stderr, which could show a path or a value: the supervisor reports
    its item as worker-died (quarantined). DEID_DEBUG=1 shows the traceback."""
    try:
        _die_with_parent()
        _serve(job, conn, threads, max_memory_mb)
    except BaseException:
        if os.environ.get("DEID_DEBUG"):
            raise
        os._exit(WORKER_FAILED)


WORKER_FAILED = 70  # EX_SOFTWARE
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """A worker whose driver was killed (kill -9, out of memory) dies too (Linux): it
    ignores SIGTERM, and a forked worker holds the driver's ends of the pipes, so it would
    wait for work for ever and keep the run's lock."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the line above
        os._exit(0)


def _serve(job: Job, conn: Connection, threads: int, max_memory_mb: int) -> None:
    # The driver handles Ctrl-C and SIGTERM and stops the pool (a None on the pipe, then
    # SIGKILL). A terminal's Ctrl-C reaches the whole process group, and systemd's stop
    # sends SIGTERM to every process of the unit: a worker that died of it would have its
    # item quarantined as worker-died, and a draining gateway would lose its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.environ.setdefault("DEID_OCR_THREADS", str(threads))
    if max_memory_mb:
        import resource

        limit = max_memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        _loop(job, conn, max_memory_mb)
    finally:
        job.sink.close()  # a peer sink's connections, released rather than dropped


def _loop(job: Job, conn: Connection, max_memory_mb: int) -> None:
    while True:
        try:
            chunk = conn.recv()
        except EOFError:
            return
        if chunk is None:
            return
        run_inline(
            chunk,
            job,
            conn.send,
            partial(safe_prepare, max_memory_mb=max_memory_mb),
            started=partial(conn.send, STARTED),
        )


class Supervisor:
    """`--engine local`: the Executor protocol over a supervised pool of processes.

    `keep`: the workers outlive a run() that ends normally, for the next one (the gateway
    runs a batch at a time); stop() ends them. A run() that is interrupted always stops
    them, since they may still be busy with its items. `start_method`: multiprocessing's
    ("fork" by default; "forkserver" where the caller has threads, such as the gateway's
    receiver: a worker is then forked from a process that has none)."""

    def __init__(
        self,
        job: Job,
        workers: int,
        max_memory_mb: int = 0,
        chunk: int = CHUNK,
        keep: bool = False,
        start_method: str = "fork",
    ):
        self.job, self.workers, self.max_memory_mb, self.chunk = job, max(1, workers), max_memory_mb, chunk
        self.keep = keep
        self.limit = job.timeout + max(KILL_GRACE, job.timeout / 4) if job.timeout else 0.0
        self.ctx: Any = mp.get_context(start_method)  # typeshed: BaseContext for a str, no .Process
        self.threads = max(1, (os.cpu_count() or 1) // self.workers)
        self.slots: list[_Slot] = []

    def _start(self) -> _Slot:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker, args=(self.job, child, self.threads, self.max_memory_mb), daemon=True)
        proc.start()
        child.close()
        return _Slot(proc, parent)

    def _send(self, slot: _Slot, chunk: list[Item]) -> None:
        if not slot.outstanding:
            self._renew(slot)
        slot.outstanding.extend(chunk)
        try:
            slot.conn.send(chunk)
        except OSError:  # the worker died: the next wait() finds its pipe closed and replaces it
            pass

    def _renew(self, slot: _Slot) -> None:
        slot.deadline = time.monotonic() + self.limit if self.limit else 0.0

    def _feed(self, slot: _Slot, chunks: Iterator[list[Item]]) -> None:
        if len(slot.outstanding) <= self.chunk // 2:
            nxt = next(chunks, None)
            if nxt:
                self._send(slot, nxt)

    def _replace(self, slot: _Slot, reason: str, take: Callable[[Outcome], None]) -> None:
        """Kill a stuck or dead worker, quarantine the item it was on, give the rest of its
        items (those it finished but had not reported too) to a fresh worker."""
        log.info(
            "pool: replacing a worker (%s), %d of its items go to a fresh one",
            reason.split(":", 1)[0],
            max(0, len(slot.outstanding) - 1),
        )
        self._end(slot)
        rest = list(slot.outstanding)
        blamed = rest.pop(slot.current()) if rest else None
        slot.outstanding.clear()
        slot.started = 0
        fresh = self._start()
        slot.proc, slot.conn = fresh.proc, fresh.conn
        if rest:
            self._send(slot, rest)
        if blamed is not None:
            take(finish(blamed, self.job, Result(Status.QUARANTINED, reason=reason, kind="unknown")))

    def _drain(self, s: _Slot, take: Callable[[Outcome], None], batches: Iterator[list[Item]]) -> None:
        """Every message this worker has sent so far (one wait, many receives)."""
        while s.outstanding:
            try:
                msg = s.conn.recv()
            except (EOFError, OSError):
                s.proc.join(1)
                code = s.proc.exitcode
                why = (
                    "an error in deid: DEID_DEBUG=1 shows it"
                    if code == WORKER_FAILED
                    else "out of memory or a crash in native code"
                )
                self._replace(s, f"worker-died: exit {code} ({why})", take)
                break
            if isinstance(msg, str):  # STARTED
                s.started += 1
                self._renew(s)
            else:
                s.outstanding.popleft()
                s.started -= 1
                take(msg)
            if not s.conn.poll():
                break
        self._feed(s, batches)

    def run(self, items: Iterable[Item], take: Callable[[Outcome], None]) -> None:
        batches = chunks(items, self.chunk)
        log.debug(
            "pool: %d workers, chunks of %d, %d OCR threads each, kill after %g s of silence",
            self.workers,
            self.chunk,
            self.threads,
            self.limit,
        )
        finished = False
        try:
            if not self.slots:
                self.slots = [self._start() for _ in range(self.workers)]
            for i, slot in enumerate(self.slots):  # a kept worker that died while idle (nothing to blame)
                if not slot.proc.is_alive() or slot.conn.poll():
                    self._end(slot)
                    self.slots[i] = self._start()
            for slot in self.slots:
                self._feed(slot, batches)
            while any(s.outstanding for s in self.slots):
                busy = [s for s in self.slots if s.outstanding]
                ready = wait([s.conn for s in busy], timeout=POLL)
                for s in busy:
                    if s.conn in ready:
                        self._drain(s, take, batches)
                    elif s.deadline and time.monotonic() > s.deadline:
                        self._replace(s, f"timeout: over {self.job.timeout:g} s (worker stopped)", take)
                        self._feed(s, batches)
            finished = True
        finally:
            if not (finished and self.keep):
                self.stop()

    def resize(self, workers: int) -> None:
        """How many workers the next run starts (a stopped pool only: the gateway's, after
        its destination rejected an association)."""
        assert not self.slots, "resize a stopped pool"
        self.workers = max(1, workers)
        self.threads = max(1, (os.cpu_count() or 1) // self.workers)

    @staticmethod
    def _end(slot: _Slot) -> None:
        if slot.proc.is_alive():
            slot.proc.kill()
        slot.proc.join()
        slot.conn.close()

    def stop(self) -> None:
        for s in self.slots:
            try:
                s.conn.send(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + 2
        for s in self.slots:
            s.proc.join(max(0.0, deadline - time.monotonic()))
            if s.proc.is_alive():
                s.proc.kill()
                s.proc.join()
        self.slots = []
