"""Speed of the ACSF kernel (values + full Jacobian) against dscribe's ACSF (values only).

    python -m benchmarks.descriptor_speed [--repeats 7] [--sizes 3 6 9 12]

Structure: periodic fcc Cu, a = 3.61 Å, n x n x n conventional cells, rattled (0.05 Å);
cutoff 6 Å; ``AcsfParams.auto([29], 6.0)``: 8 G2 + 8 G4 + 8 G5 = 24 functions, the same
parameters given to dscribe. Neighbour lists are built once, outside the timings (dscribe
builds its own inside ``create``, as it always does). Timings are medians over ``repeats``
rounds after a warm-up; in each round every variant runs once, so a busy machine slows them
alike. dscribe parallelises over structures with worker processes, so its n_jobs=2 timing
runs two copies, and runs last, on its own (its idle workers would disturb ours).
"""

from __future__ import annotations

import argparse
import os
import time

import numba
import numpy as np
from ase.build import bulk

from descriptors.acsf import AcsfParams, acsf
from descriptors.neighbors import neighbor_list

CUTOFF = 6.0


def copper(n: int, seed: int = 0):
    """Rattled periodic fcc Cu with n^3 conventional cells (4 n^3 atoms)."""
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(n)
    atoms.positions += np.random.default_rng(seed).normal(0.0, 0.05, atoms.positions.shape)
    return atoms


def ours(atoms, params, threads: int):
    """A zero-argument callable: our values + Jacobian with ``threads`` Numba threads."""
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, params.cutoff)

    def run():
        numba.set_num_threads(threads)
        acsf(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, nb, params)

    return run


def dscribe_runner(atoms, params, n_jobs: int):
    """A zero-argument callable: dscribe ACSF values of ``n_jobs`` copies, or None."""
    try:
        from dscribe.descriptors import ACSF
    except ImportError:
        return None
    descriptor = ACSF(r_cut=params.cutoff, g2_params=params.radial, g4_params=params.g4,
                      g5_params=params.g5, species=list(params.elements), periodic=True)
    systems = [atoms] * n_jobs
    return lambda: descriptor.create(systems if n_jobs > 1 else atoms, n_jobs=n_jobs)


def medians(runners: dict, atoms_per_call: dict, repeats: int) -> dict:
    """Median µs per atom of each runner, measured round-robin after one warm-up call."""
    for run in runners.values():
        run()
    times = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: 1e6 * float(np.median(t)) / atoms_per_call[name] for name, t in times.items()}


def thread_counts() -> list[int]:
    """1 and 2 Numba threads, or only 1 under NUMBA_NUM_THREADS=1 (set_num_threads refuses more)."""
    return [t for t in (1, 2) if t <= numba.config.NUMBA_NUM_THREADS]


def compare(repeats: int) -> None:
    atoms, params = copper(3), AcsfParams.auto([29], CUTOFF)
    runners = {f"ours, {t} thread{'s' * (t > 1)}": ours(atoms, params, t) for t in thread_counts()}
    sizes = {name: len(atoms) for name in runners}
    run = dscribe_runner(atoms, params, 1)
    if run is not None:
        runners["dscribe, n_jobs=1"], sizes["dscribe, n_jobs=1"] = run, len(atoms)
    result = medians(runners, sizes, repeats)
    if run is not None:
        result.update(medians({"dscribe, n_jobs=2": dscribe_runner(atoms, params, 2)},
                              {"dscribe, n_jobs=2": 2 * len(atoms)}, repeats))
    print(f"\nACSF on fcc Cu, {len(atoms)} atoms, cutoff {CUTOFF} Å, {params.n_features} functions "
          f"(median of {repeats})")
    print(f"{'':22s}{'µs/atom':>10s}   what")
    for name, us in result.items():
        what = "values + full Jacobian" if name.startswith("ours") else "values only"
        print(f"{name:22s}{us:10.1f}   {what}")
    if "dscribe, n_jobs=1" not in result:
        print("dscribe is not installed (pip install dscribe): no comparison")
        return
    for threads, jobs in ((1, 1), (2, 1), (2, 2)):
        if threads not in thread_counts():
            continue
        ratio = result[f"dscribe, n_jobs={jobs}"] / result[f"ours, {threads} thread{'s' * (threads > 1)}"]
        print(f"speed-up, ours at {threads} thread(s) vs dscribe n_jobs={jobs}: {ratio:5.1f}x")


def scaling(sizes, repeats: int, threads: int) -> None:
    params = AcsfParams.auto([29], CUTOFF)
    print(f"\nOurs (values + Jacobian) vs system size, {threads} thread(s) (median of {repeats})")
    print(f"{'atoms':>7s}{'µs/atom':>10s}{'/ first':>9s}")
    first = None
    for n in sizes:
        atoms = copper(n)
        us = medians({"ours": ours(atoms, params, threads)}, {"ours": len(atoms)}, repeats)["ours"]
        first = first or us
        print(f"{len(atoms):7d}{us:10.1f}{us / first:9.2f}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (>= 5 recommended)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 6, 9, 12],
                        help="conventional cells per side for the scaling table")
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPUs, Numba {numba.__version__} ({numba.config.THREADING_LAYER} "
          f"threading layer, up to {numba.config.NUMBA_NUM_THREADS} threads)")
    for threads in thread_counts():
        scaling(args.sizes, args.repeats, threads)
    compare(args.repeats)


if __name__ == "__main__":
    main()
