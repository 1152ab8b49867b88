"""Peak memory of training vs. data-set size: it must grow with the batch, not the data.

``python -m benchmarks.memory --structures 1000 10000 --epochs 1`` trains an HDNNP on
``cu_emt`` sets of each size, each in a fresh process, and prints the peak resident set
size (RSS) of each run, with the feature cache off and at a fixed budget. ``--model`` (and
``--cutoff``) choose another registered model; ``--epochs`` at a fixed size shows growth
with the number of steps (e.g. per-shape kernel caches), which should level off.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

PROC_STATUS, PROC_CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux ≥ 4.0), so that a worker
    that runs many cells measures each cell's own peak; False where the kernel does not
    allow it (then :func:`peak_rss_mib` is the peak since the process started)."""
    try:
        PROC_CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def current_rss_mib() -> float:
    """Resident set size (MiB) now (Linux; elsewhere the peak)."""
    try:
        return int(re.search(r"VmRSS:\s+(\d+)", PROC_STATUS.read_text()).group(1)) / 1024
    except (OSError, AttributeError):
        return peak_rss_mib()


def peak_rss_mib() -> float:
    """Peak resident set size (MiB) since the last :func:`reset_peak_rss` (Linux), or since
    the process started (elsewhere)."""
    try:
        return int(re.search(r"VmHWM:\s+(\d+)", PROC_STATUS.read_text()).group(1)) / 1024
    except (OSError, AttributeError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train_once(n_structures: int, epochs: int, cache_bytes: int, batch_size: int, model_name: str = "hdnnp",
               cutoff: float = 6.0) -> dict:
    """Train in this process and report peak RSS (MiB) and timings."""
    import keras

    import zoo
    from zoo import reference

    data = reference.load("cu_emt", n_structures=n_structures)
    model = zoo.create(model_name, elements=data.elements, cutoff=cutoff)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    peak_before = peak_rss_mib()  # includes generating the reference data in this process
    rss_before = current_rss_mib()
    reset_peak_rss()  # so that the peak below is that of fit alone
    start = time.perf_counter()
    model.fit(data, epochs=epochs, batch_size=batch_size, cache_bytes=cache_bytes, verbose=0)
    peak_fit = peak_rss_mib()
    return {"model": model_name, "cutoff": cutoff, "structures": n_structures, "atoms": int(data.n_atoms.sum()),
            "cache_mib": cache_bytes / 2**20,
            "epochs": epochs, "seconds": round(time.perf_counter() - start, 1),
            "peak_rss_before_fit_mib": round(peak_before), "rss_at_fit_start_mib": round(rss_before),
            "peak_rss_fit_mib": round(peak_fit), "fit_growth_mib": round(peak_fit - rss_before)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__)
    parser.add_argument("--structures", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--cache-mib", type=int, nargs="+", default=[0, 1024])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--model", default="hdnnp", help="registered model name")
    parser.add_argument("--cutoff", type=float, default=6.0, help="the model's cutoff, Å")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(train_once(args.structures[0], args.epochs, args.cache_mib[0] * 2**20, args.batch_size,
                                    args.model, args.cutoff)))
        return 0
    for cache in args.cache_mib:
        for n in args.structures:
            out = subprocess.run([sys.executable, "-m", "benchmarks.memory", "--one", "--structures", str(n),
                                  "--cache-mib", str(cache), "--epochs", str(args.epochs),
                                  "--batch-size", str(args.batch_size), "--model", args.model,
                                  "--cutoff", str(args.cutoff)],
                                 capture_output=True, text=True, check=True)
            print(out.stdout.strip().splitlines()[-1], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
