"""Where sweep cells run: on dask.distributed workers, or in this process.

By default a ``LocalCluster`` sized to the machine: ``cores // threads`` worker processes of
``threads`` threads each (``threads`` from the sweep, default 2), so cells never compete for
cores and their timings are not disturbed by a neighbour. ``scheduler=ADDRESS``
uses a running cluster instead (``dask scheduler`` started by hand, or dask-jobqueue on
SLURM/PBS), so a sweep grows past one machine without code changes; its workers need this
package installed and the reference-data cache (``NNP_ZOO_CACHE``) on a shared file system.
``workers=0`` runs the cells one after another in the calling process (debugging, tests).

Every cell runs in a fresh process of its own (:mod:`benchmarks.isolated`), started by the
worker with TensorFlow, Numba and BLAS bounded to ``threads`` through its environment, so
workers do not oversubscribe cores and no cell inherits the memory of the cells before it.
Timings of cells that share a machine with other cells are only comparable when
``workers * threads`` does not exceed its cores.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

#: seconds between looks at the cluster while no cell ends
POLL_SECONDS = 2.0


def progress_line(total: int, done: int, running: int, failed: int) -> str:
    """The sweep's status in one line."""
    return (f"cells: {done}/{total} done ({failed} failed), {running} running, "
            f"{max(total - done - running, 0)} queued")


class Progress:
    """A status line of the cells: rewritten in place on a terminal; elsewhere (a log file,
    CI) logged whenever it changes."""

    def __init__(self, total: int, stream=None):
        self.total, self.stream, self.last = total, stream or sys.stderr, None
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()

    def show(self, done: int, running: int, failed: int) -> None:
        line = progress_line(self.total, done, running, failed)
        if line == self.last:
            return
        if self.live:
            self.stream.write("\r" + line.ljust(len(self.last or "")))
            self.stream.flush()
        else:
            log.info(line)
        self.last = line

    def close(self) -> None:
        if self.live and self.last is not None:
            self.stream.write("\n")


def default_workers(threads: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, threads))


def thread_environment(threads: int) -> dict[str, str]:
    """Environment variables that bound every thread pool of a worker process.

    TensorFlow gets the threads as inter-op threads (independent ops run side by side), each
    op one thread: the models' ops are small, and splitting them cost more than it gained.
    ``python -m benchmarks.train_step`` with two threads, intra-op x inter-op 2 x 1 -> 1 x 2,
    training step: AIMNet 21.2 -> 9.8 ms (ethanol batch of 8), 259 -> 202 ms (Cu-108),
    EANN Cu 33.9 -> 27.3, HDNNP 1.7 -> 1.9 and 13.2 -> 13.6, SchNet Cu 221 -> 244 ms."""
    n = str(threads)
    return {"OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n, "NUMBA_NUM_THREADS": n,
            "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": n}


def execute_on_worker(cell, cells: Path | None, threads: int) -> dict:
    """Run a cell on a worker, in a fresh process of its own (:mod:`benchmarks.isolated`)
    with its threads bounded."""
    from benchmarks.isolated import run_isolated

    return run_isolated(cell, cells, thread_environment(threads))


def run_cells(cells_to_run, cells: Path | None, threads: int, scheduler: str | None = None,
              workers: int | None = None) -> dict:
    """Run the cells; returns cell key -> result row. Shows a :class:`Progress` line."""
    from benchmarks.runner import execute, is_success

    if not cells_to_run:
        return {}
    progress = Progress(len(cells_to_run))
    if scheduler is None and workers == 0:
        rows, failed = {}, 0
        for cell in cells_to_run:
            progress.show(len(rows), 1, failed)
            rows[cell.key] = execute(cell, cells)
            failed += not is_success(rows[cell.key]["status"])
        progress.show(len(rows), 0, failed)
        progress.close()
        return rows

    from distributed import Client, LocalCluster, wait

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers or default_workers(threads), threads_per_worker=1,
                               processes=True, env=thread_environment(threads),
                               dashboard_address=":0")  # any free port: never collides with a running cluster
    with Client(scheduler or cluster) as client:
        pending = {client.submit(execute_on_worker, cell, cells, threads, key=cell.key, pure=False): cell
                   for cell in cells_to_run}
        rows, failed = {}, 0
        while pending:
            # the scheduler hands every task to a worker at once (client.processing() lists them
            # all), but a worker runs one cell per thread: the rest wait in its queue
            running = min(len(pending), sum(client.nthreads().values()))
            progress.show(len(rows), running, failed)
            try:
                finished, _ = wait(list(pending), timeout=POLL_SECONDS, return_when="FIRST_COMPLETED")
            except TimeoutError:  # none ended: look at the cluster again
                continue
            for future in finished:
                row = future.result()
                rows[pending.pop(future).key] = row
                failed += not is_success(row["status"])
        progress.show(len(rows), 0, failed)
        progress.close()
    if cluster is not None:
        cluster.close()
    return rows
