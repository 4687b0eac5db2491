"""The loop every engine runs where the work happens (this process, a pool worker, a
Dask worker): prepare an item, hand its write to a few I/O threads, prepare the next.

An item is taken (recorded as done) only after its write has finished; outcomes come
out in the order the items went in. In-flight writes are bounded in count and bytes,
so memory stays flat. The writes themselves go through the job's sink (work.finish).
"""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator

from ...handlers import Item, Result
from ..job import Job, Outcome
from ..work import safe_finish, safe_prepare

log = logging.getLogger(__name__)

IO_THREADS = 4  # fsync waits on the disk, not the CPU
MAX_PENDING = 16  # outputs waiting to be written, at most
MAX_PENDING_BYTES = 256 * 1024 * 1024  # and their bytes, at most


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


def run_inline(
    items: Iterable[Item],
    job: Job,
    take: Callable[[Outcome], None],
    prep: Callable[[Item, Job], Result] = safe_prepare,
    started: Callable[[], None] | None = None,
    finish: Callable[[Item, Job, Result], Outcome] = safe_finish,
) -> None:
    """Process `items` here (`prep`), writes on threads (`finish`: through the job's sink).
    `started()` is called as each item begins (the pool's supervisor learns from it which
    item a stuck worker is on)."""
    pending: deque[tuple[Future, int]] = deque()
    in_bytes = 0
    with ThreadPoolExecutor(IO_THREADS, thread_name_prefix="deid-write") as io:
        for it in items:
            if started is not None:
                started()
            res = prep(it, job)
            size = len(res.data or b"")
            pending.append((io.submit(finish, it, job, res), size))
            in_bytes += size
            while pending and (pending[0][0].done() or len(pending) > MAX_PENDING or in_bytes > MAX_PENDING_BYTES):
                fut, size = pending.popleft()
                in_bytes -= size
                take(fut.result())
        while pending:
            take(pending.popleft()[0].result())


class InlineExecutor:
    """`--engine inline`: every item in this process (the Executor protocol)."""

    def __init__(self, job: Job):
        self.job = job

    def run(self, items: Iterable[Item], take: Callable[[Outcome], None]) -> None:
        log.debug("inline executor: %d write threads", IO_THREADS)
        run_inline(items, self.job, take)
