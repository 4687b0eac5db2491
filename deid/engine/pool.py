"""The local executor: a supervised pool of worker processes.

Workers get small chunks of items and process them as the inline engine does (writes
and their fsync on a few threads while the next file is processed), sending back each
outcome, with its audit events, as soon as it is done; output bytes never cross
processes. The driver keeps every worker fed (a new chunk when half of its last one is
back), so at most about 1.5 chunks per worker are in flight, however many inputs there
are.

Outcomes come back in the order the items were given, so the oldest outstanding item of
a worker is the one it is working on. The driver watches a deadline per worker, renewed
by every outcome: a worker silent for `timeout` seconds is killed, its oldest item
quarantined (`timeout`) and the rest handed to a fresh worker; a worker that dies (out
of memory, a crash in native code) has its oldest item quarantined (`worker-died`) the
same way. The batch goes on. Workers can be given an address-space limit.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Callable, Iterable, Iterator

from ..handlers import Item, Result
from .runner import Job, Outcome, _inline, chunks, finish, safe_prepare

CHUNK = 8
POLL = 0.5   # seconds between deadline checks when no worker reports


@dataclass
class _Slot:
    proc: mp.process.BaseProcess
    conn: Connection
    outstanding: deque = field(default_factory=deque)
    deadline: float = 0.0


def _worker(job: Job, conn: Connection, threads: int, max_memory_mb: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the driver handles Ctrl-C and stops the pool
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.environ.setdefault("DEID_OCR_THREADS", str(threads))
    if max_memory_mb:
        import resource

        limit = max_memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            chunk = conn.recv()
        except EOFError:
            return
        if chunk is None:
            return
        _inline(chunk, job, conn.send, lambda it, j: safe_prepare(it, j, max_memory_mb))


class Supervisor:
    def __init__(self, job: Job, workers: int, timeout: float = 0.0, max_memory_mb: int = 0, chunk: int = CHUNK):
        self.job, self.workers, self.timeout, self.max_memory_mb = job, workers, timeout, max_memory_mb
        self.chunk = chunk
        self.ctx = mp.get_context("fork")
        self.threads = max(1, (os.cpu_count() or 1) // workers)
        self.slots: list[_Slot] = []

    def _start(self) -> _Slot:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker, args=(self.job, child, self.threads, self.max_memory_mb),
                                daemon=True)
        proc.start()
        child.close()
        return _Slot(proc, parent)

    def _send(self, slot: _Slot, chunk: list[Item]) -> None:
        if not slot.outstanding:
            self._renew(slot)
        slot.outstanding.extend(chunk)
        slot.conn.send(chunk)

    def _renew(self, slot: _Slot) -> None:
        slot.deadline = time.monotonic() + self.timeout if self.timeout else 0.0

    def _feed(self, slot: _Slot, chunks: Iterator[list[Item]]) -> None:
        if len(slot.outstanding) <= self.chunk // 2:
            nxt = next(chunks, None)
            if nxt:
                self._send(slot, nxt)

    def _replace(self, slot: _Slot, reason: str, take: Callable[[Outcome], None]) -> None:
        """Kill a stuck or dead worker, quarantine the item it was on, give the rest of its
        items to a fresh worker."""
        if slot.proc.is_alive():
            slot.proc.kill()
        slot.proc.join()
        slot.conn.close()
        rest = list(slot.outstanding)
        slot.outstanding.clear()
        if rest:
            take(finish(rest[0], self.job, Result("quarantined", reason=reason)))
        fresh = self._start()
        slot.proc, slot.conn = fresh.proc, fresh.conn
        if rest[1:]:
            self._send(slot, rest[1:])

    def _drain(self, s: _Slot, take: Callable[[Outcome], None], batches: Iterator[list[Item]]) -> None:
        """Every outcome this worker has sent so far (one wait, many receives)."""
        while s.outstanding:
            try:
                outcome = s.conn.recv()
            except (EOFError, OSError):
                code = s.proc.exitcode if not s.proc.is_alive() else None
                self._replace(s, f"worker-died: exit {code} (out of memory or a crash in native code)", take)
                break
            s.outstanding.popleft()
            self._renew(s)
            take(outcome)
            if not s.conn.poll():
                break
        self._feed(s, batches)

    def run(self, items: Iterable[Item], take: Callable[[Outcome], None]) -> None:
        batches = chunks(items, self.chunk)
        try:
            for _ in range(self.workers):
                slot = self._start()
                self.slots.append(slot)
                self._feed(slot, batches)
            while any(s.outstanding for s in self.slots):
                busy = [s for s in self.slots if s.outstanding]
                ready = wait([s.conn for s in busy], timeout=POLL)
                for s in busy:
                    if s.conn in ready:
                        self._drain(s, take, batches)
                    elif s.deadline and time.monotonic() > s.deadline:
                        self._replace(s, f"timeout: over {self.timeout:g} s", take)
                        self._feed(s, batches)
        finally:
            self.stop()

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
