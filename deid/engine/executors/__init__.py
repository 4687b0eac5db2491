"""Executors: where the work of a run happens. Each takes the job and the items, runs
every item through the same steps (work.safe_prepare, then work.finish: read, route,
process, verify, write through the job's sink or set aside) and hands each Outcome back,
in this process, as it completes: the driver (runner.py) is the one audit writer.

    inline  this process (debugging, tests)                      executors/inline.py
    local   a supervised pool of worker processes (default)     executors/pool.py
    dask    a Dask cluster, or a LocalCluster                    executors/dask.py

A new executor is one module with a class that has `run(items, take)`, and one line in
EXECUTORS below.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable, Iterable, Protocol

from ...handlers import Item
from ..job import Job, Outcome


class Engine(str, Enum):
    """`deid run --engine`: the values are the option's words."""

    INLINE = "inline"
    LOCAL = "local"
    DASK = "dask"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Limits:
    """How much an executor may use. The per-item time limit is the job's (Job.timeout),
    applied in every executor; these are the rest."""

    workers: int = 1  # processes (local), LocalCluster workers (dask); inline ignores it
    max_memory_mb: int = 0  # address-space limit per worker process (local; 0: none)
    scheduler: str | None = None  # a running Dask scheduler's address (dask; None: a LocalCluster)


class Executor(Protocol):
    """Runs items and reports each outcome as it completes.

    run() calls `take(outcome)` in the calling thread, once per item, for every item it
    was given (an item whose worker died or hung is reported quarantined, never lost);
    it returns when all are reported. Interruption: an exception raised by `take` (the
    driver's RunStopped: disk full, audit log unwritable) or a KeyboardInterrupt (Ctrl-C,
    SIGTERM) propagates out of run() after the executor has stopped its workers; items
    not reported by then are left for a resumed run (their outputs, if already written,
    are written again, byte for byte)."""

    def run(self, items: Iterable[Item], take: Callable[[Outcome], None]) -> None: ...


def _inline(job: Job, limits: Limits) -> Executor:
    from .inline import InlineExecutor

    return InlineExecutor(job)


def _local(job: Job, limits: Limits) -> Executor:
    from .pool import Supervisor

    return Supervisor(job, limits.workers, limits.max_memory_mb)


def _dask(job: Job, limits: Limits) -> Executor:
    from .dask import DaskExecutor

    return DaskExecutor(job, limits.workers, limits.scheduler)


# engine -> how to make its executor (modules imported only when chosen: dask is optional)
EXECUTORS: dict[Engine, Callable[[Job, Limits], Executor]] = {
    Engine.INLINE: _inline,
    Engine.LOCAL: _local,
    Engine.DASK: _dask,
}


def make_executor(engine: Engine | str, job: Job, limits: Limits = Limits()) -> Executor:
    """The executor for `engine` (an Engine or its word); ValueError for an unknown one."""
    return EXECUTORS[Engine(engine)](job, limits)
