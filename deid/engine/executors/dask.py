"""The dask executor: the same handlers on a Dask cluster, for when one machine is not enough.

`--engine dask --scheduler tcp://host:8786` uses a running cluster (SLURM via
dask-jobqueue, Kubernetes via dask-kubernetes: docs/operations.md); `--engine dask`
alone starts a LocalCluster. Items go out in chunks, at most `2 x workers` chunks in
flight (back-pressure: memory stays flat however many inputs there are). Workers read
inputs and write outputs themselves, through the job's sink (the folder sink: atomically,
on storage every worker and the driver see), and send back only outcomes and audit
events: the driver stays the one audit writer.

The job, the secret key included, is sent to the workers once. On a remote cluster,
secure the scheduler (TLS, `--scheduler tls://...`). A per-item timeout is not enforced
by killing a worker here: each item runs under the job's time limit inside the worker
(deid/limits.py), which stops Python code (a parser loop) but not native code that never
returns; for that, and for memory, use the cluster's own worker limits (memory,
lifetime), which restart a worker and fail its task; the items of a failed task go again one
per task, and an item whose own task fails is quarantined as `worker-died`.
"""

from __future__ import annotations

import logging
import os
from typing import Callable, Iterable, Iterator

from ...handlers import Item, Result, Status
from ..job import Job, Outcome
from ..work import finish
from .inline import chunks, run_inline

log = logging.getLogger(__name__)

CHUNK = 16


def process_chunk(job: Job, items: list[Item]) -> list[Outcome]:
    """On a dask worker: one chunk, written as the local executor writes it."""
    os.environ.setdefault("DEID_OCR_THREADS", "1")
    out: list[Outcome] = []
    run_inline(items, job, out.append)
    return out


class DaskExecutor:
    """`--engine dask`: the Executor protocol over a Dask cluster."""

    def __init__(self, job: Job, workers: int, scheduler: str | None = None, chunk: int = CHUNK):
        self.job, self.workers, self.scheduler, self.chunk = job, workers, scheduler, chunk

    def run(self, items: Iterable[Item], take: Callable[[Outcome], None]) -> None:
        try:
            from dask.distributed import Client, LocalCluster, as_completed
        except ImportError:
            from ...errors import DeidError

            raise DeidError("--engine dask needs dask.distributed: pip install 'deid[dask]'") from None
        cluster = None
        if self.scheduler:
            try:
                client = Client(self.scheduler)
            except (OSError, ValueError) as exc:  # unreachable, refused, a malformed address
                from ...errors import DeidError

                raise DeidError(
                    f"cannot reach the Dask scheduler at --scheduler {self.scheduler}: {type(exc).__name__}"
                ) from None
        else:
            cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
        try:
            job = client.scatter(self.job, broadcast=True)
            batches = chunks(items, self.chunk)
            in_flight = max(2, 2 * len(client.scheduler_info().get("workers", {})) or 2 * self.workers)
            log.debug(
                "dask: %s, chunks of %d, at most %d in flight",
                "a running scheduler" if self.scheduler else "a LocalCluster",
                self.chunk,
                in_flight,
            )
            pending = as_completed()
            sent: dict = {}

            def submit(batch: list[Item]) -> None:
                fut = client.submit(process_chunk, job, batch, pure=False)
                sent[fut.key] = batch
                pending.add(fut)

            for c in _take(batches, in_flight):
                submit(c)
            for fut in pending:
                batch = sent.pop(fut.key)
                try:
                    outcomes = fut.result()
                except Exception as exc:  # the worker died (memory limit, lifetime) or the task failed
                    log.info("dask: a task failed (%s), %d items", type(exc).__name__, len(batch))
                    if len(batch) > 1:  # which item it was is not known: each goes again on its own
                        for it in batch:
                            submit([it])
                        continue
                    reason = f"worker-died: {type(exc).__name__}"
                    outcomes = [finish(batch[0], self.job, Result(Status.QUARANTINED, reason=reason, kind="unknown"))]
                for o in outcomes:
                    take(o)
                nxt = next(batches, None)
                if nxt is not None:
                    submit(nxt)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def _take(it: Iterator, n: int) -> list:
    out = []
    for _ in range(n):
        x = next(it, None)
        if x is None:
            break
        out.append(x)
    return out
