"""One sweep cell in a fresh Python process: ``python -m benchmarks.isolated REQUEST``.

A worker that runs many cells keeps what each leaves behind: glibc's allocator pools,
TensorFlow's traced graphs and thread pools. In a sweep of 20 models the RSS of such a
worker grew to 11 GB (dask paused it at 80 % of its memory limit and restarted it at 95 %),
although no cell needed more than ~3 GB, and the peak memory and timings of a cell
depended on the cells before it. A cell in its own process starts from the same state as
every other cell and gives all its memory back when it ends; it costs a few seconds of
imports per cell.

``REQUEST`` is a pickle of ``(cell, cells folder or None, answer path)``; the child runs
:func:`benchmarks.runner.execute` (which stores the cell's row in the cells folder) and
pickles the row to the answer path. A child that dies without answering (killed for
memory, a crash in native code) is recorded as an error row naming its exit status.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path


def run_isolated(cell, cells: Path | None, environment: dict[str, str] | None = None) -> dict:
    """:func:`benchmarks.runner.execute` of ``cell`` in a child process; returns its row."""
    from benchmarks.runner import store_cell

    with tempfile.TemporaryDirectory(prefix="nnp-zoo-cell-") as tmp:
        request, answer = Path(tmp) / "request.pkl", Path(tmp) / "row.pkl"
        request.write_bytes(pickle.dumps((cell, cells, answer)))
        status = subprocess.run([sys.executable, "-m", "benchmarks.isolated", str(request)],
                                env={**os.environ, **(environment or {})}).returncode
        if answer.is_file():
            return pickle.loads(answer.read_bytes())
    reason = f"killed by signal {-status}" if status < 0 else f"exit status {status}"
    return store_cell(cells, cell.key, {**cell.row, "status": f"error: the cell's process ended without a result "
                                                              f"({reason}; out of memory?)"})


def main(argv=None) -> int:
    from benchmarks.runner import execute

    (request,) = argv if argv is not None else sys.argv[1:]
    cell, cells, answer = pickle.loads(Path(request).read_bytes())
    row = execute(cell, cells)
    Path(answer).write_bytes(pickle.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
