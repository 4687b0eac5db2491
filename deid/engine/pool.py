"""The local executor: a supervised pool of worker processes.

Each worker handles one item at a time: reads, processes and writes it (atomically),
and sends back only the outcome and its audit events. The driver hands out the next
item as each finishes (so at most `workers` items are in flight, however many inputs
there are), and watches a deadline per item: a worker past it is killed and its item
quarantined (`timeout`), a worker that dies (out of memory, a crash in native code)
has its item quarantined (`worker-died`); either way a fresh worker takes its place and
the batch goes on. Workers can be given an address-space limit (`max_memory_mb`).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Callable, Iterable

from ..handlers import Item, Result
from .runner import Job, Outcome, finish, prepare

POLL = 0.5   # seconds between deadline checks when no worker reports


@dataclass
class _Slot:
    proc: mp.process.BaseProcess
    conn: Connection
    item: Item | None = None
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
            item = conn.recv()
        except EOFError:
            return
        if item is None:
            return
        try:
            res = prepare(item, job)
        except MemoryError:
            res = Result("quarantined", reason=f"out-of-memory: over the {max_memory_mb} MiB worker limit")
        except Exception as exc:  # handlers quarantine their own errors; this is the last net
            res = Result("quarantined", reason=f"internal-error: {type(exc).__name__}")
        conn.send(finish(item, job, res))


class Supervisor:
    def __init__(self, job: Job, workers: int, timeout: float = 0.0, max_memory_mb: int = 0):
        self.job, self.workers, self.timeout, self.max_memory_mb = job, workers, timeout, max_memory_mb
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

    def _give(self, slot: _Slot, items) -> bool:
        item = next(items, None)
        slot.item = item
        if item is None:
            return False
        slot.deadline = time.monotonic() + self.timeout if self.timeout else 0.0
        slot.conn.send(item)
        return True

    def _replace(self, slot: _Slot, reason: str, take: Callable[[Outcome], None]) -> None:
        """Kill a stuck or dead worker, quarantine its item, start a fresh one."""
        item = slot.item
        if slot.proc.is_alive():
            slot.proc.kill()
        slot.proc.join()
        slot.conn.close()
        if item is not None:
            take(finish(item, self.job, Result("quarantined", reason=reason)))
        fresh = self._start()
        slot.proc, slot.conn, slot.item = fresh.proc, fresh.conn, None

    def run(self, items: Iterable[Item], take: Callable[[Outcome], None]) -> None:
        it = iter(items)
        try:
            for _ in range(self.workers):
                slot = self._start()
                self.slots.append(slot)
                if not self._give(slot, it):
                    break
            while any(s.item is not None for s in self.slots):
                busy = [s for s in self.slots if s.item is not None]
                ready = wait([s.conn for s in busy], timeout=POLL)
                for s in busy:
                    if s.conn in ready:
                        try:
                            outcome = s.conn.recv()
                        except (EOFError, OSError):
                            code = s.proc.exitcode if not s.proc.is_alive() else None
                            self._replace(s, f"worker-died: exit {code} (out of memory or a crash in native code)",
                                          take)
                            self._give(s, it)
                            continue
                        s.item = None
                        take(outcome)
                        self._give(s, it)
                    elif s.deadline and time.monotonic() > s.deadline:
                        self._replace(s, f"timeout: over {self.timeout:g} s", take)
                        self._give(s, it)
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
