"""Where sweep cells run: on dask.distributed workers, or in this process.

By default a ``LocalCluster`` sized to the machine: ``cores // threads`` worker processes of
``threads`` threads each (``threads`` from the sweep, default 2), so a 2-core machine runs
one cell at a time and its timings are not disturbed by a neighbour. ``scheduler=ADDRESS``
uses a running cluster instead (``dask scheduler`` started by hand, or dask-jobqueue on
SLURM/PBS), so a sweep grows past one machine without code changes; its workers need this
package installed and the reference-data cache (``NNP_ZOO_CACHE``) on a shared file system.
``workers=0`` runs the cells one after another in the calling process (debugging, tests).

Every worker pins TensorFlow, Numba and BLAS to its ``threads`` before running a cell, so
workers do not oversubscribe cores. Timings of cells that share a machine with other cells
are only comparable when ``workers * threads`` does not exceed its cores.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def default_workers(threads: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, threads))


def thread_environment(threads: int) -> dict[str, str]:
    """Environment variables that bound every thread pool of a worker process."""
    n = str(threads)
    return {"OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n, "NUMBA_NUM_THREADS": n,
            "TF_NUM_INTRAOP_THREADS": n, "TF_NUM_INTEROP_THREADS": "1"}


def pin_threads(threads: int) -> None:
    """Bound TensorFlow and Numba threads in this process (a worker on a cluster that was
    not started with :func:`thread_environment`)."""
    import numba
    import tensorflow as tf

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already initialised in this worker: keep its setting
        pass


def execute_on_worker(cell, cells: Path | None, threads: int) -> dict:
    from benchmarks.runner import execute

    pin_threads(threads)
    return execute(cell, cells)


def run_cells(cells_to_run, cells: Path | None, threads: int, scheduler: str | None = None,
              workers: int | None = None) -> dict:
    """Run the cells; returns cell key -> result row. Logs progress as cells end."""
    from benchmarks.runner import execute, is_success

    if not cells_to_run:
        return {}
    if scheduler is None and workers == 0:
        return {cell.key: execute(cell, cells) for cell in cells_to_run}

    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers or default_workers(threads), threads_per_worker=1,
                               processes=True, env=thread_environment(threads),
                               dashboard_address=":0")  # any free port: never collides with a running cluster
    with Client(scheduler or cluster) as client:
        futures = {client.submit(execute_on_worker, cell, cells, threads, key=cell.key, pure=False): cell
                   for cell in cells_to_run}
        rows, failed = {}, 0
        for future in as_completed(futures):
            row = future.result()
            rows[futures[future].key] = row
            failed += not is_success(row["status"])
            log.info("cells: %d done, %d running or queued, %d failed", len(rows), len(futures) - len(rows), failed)
    if cluster is not None:
        cluster.close()
    return rows
