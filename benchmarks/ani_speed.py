"""Speed of our ANI-1x AEVs with their full Jacobian against TorchANI's AEV forward+backward.

    python -m benchmarks.ani_speed [--repeats 7] [--frames 64]

What is timed, per atom (median over ``repeats`` rounds after a warm-up; every variant runs
once per round, so a busy machine slows them alike; 1 and 2 threads for both sides):

- ours: neighbour list (:func:`descriptors.neighbors.neighbor_list`) + :func:`descriptors.ani.ani_aev`,
  values and the *full* Jacobian d AEV / d positions, float64;
- TorchANI (``AEVComputer.like_1x``, its default all-pairs neighbour list, float32 as it
  ships): AEV forward plus one backward pass through autograd (a vector-Jacobian product
  with a random cotangent, what an energy gradient costs), i.e. less than a full Jacobian.

Structures:

- ethanol: ``frames`` rattled ethanol molecules (9 atoms). TorchANI takes them as one batch
  [frames, 9]. Ours runs once per frame ("per frame": the featurizer's path, one call per
  structure) and once on all frames at once ("batched": the frames side by side 10 Å apart
  in one non-periodic structure, so one neighbour-list and one kernel call; AEVs and
  Jacobians per atom are identical to the per-frame ones because nothing is within 10 Å).
- Cu: periodic fcc Cu, 3 x 3 x 3 conventional cells (108 atoms, a = 3.61 Å), rattled, with
  the ANI-1x functions for the one element Cu (16 radial + 32 angular columns).

TorchANI is a test/benchmark-only dependency (``pip install torchani`` with the CPU build of
torch); without it only our timings are printed.
"""

from __future__ import annotations

import argparse
import os
import time

import numba
import numpy as np
from ase.build import bulk, molecule

from descriptors.ani import AniParams, ani_aev
from descriptors.neighbors import neighbor_list


def ethanol_frames(n: int, seed: int = 0) -> list:
    """``n`` ethanol molecules rattled by 0.05 Å."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        atoms = molecule("CH3CH2OH")
        atoms.positions += rng.normal(0.0, 0.05, atoms.positions.shape)
        frames.append(atoms)
    return frames


def copper(seed: int = 0):
    """Rattled periodic fcc Cu, 108 atoms."""
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(3)
    atoms.positions += np.random.default_rng(seed).normal(0.0, 0.05, atoms.positions.shape)
    return atoms


def side_by_side(frames, spacing: float = 10.0):
    """One non-periodic structure holding all ``frames`` on a cubic grid ``spacing`` Å apart."""
    per_side = int(np.ceil(len(frames) ** (1 / 3)))
    grid = np.array([(a, b, c) for a in range(per_side) for b in range(per_side) for c in range(per_side)])
    positions = np.concatenate([f.positions + spacing * grid[k] for k, f in enumerate(frames)])
    numbers = np.concatenate([f.numbers for f in frames])
    return numbers, positions


def ours(numbers, positions, cell, pbc, params, threads):
    """A zero-argument callable: neighbour list + AEVs with their full Jacobian."""

    def run():
        numba.set_num_threads(threads)
        nb = neighbor_list(positions, cell, pbc, params.radial_cutoff)
        ani_aev(positions, numbers, cell, pbc, nb, params)

    return run


def ours_per_frame(frames, params, threads):
    runs = [ours(f.numbers, f.positions, f.cell.array, f.pbc, params, threads) for f in frames]
    return lambda: [run() for run in runs]


def torchani_runner(species, coords, cell, pbc, num_species, threads):
    """A zero-argument callable: TorchANI AEV forward + backward, or None without TorchANI."""
    os.environ.setdefault("TORCHANI_NO_WARN_EXTENSIONS", "1")
    try:
        import torch
        import torchani
    except ImportError:
        return None
    computer = torchani.AEVComputer.like_1x(num_species=num_species)
    species = torch.as_tensor(species)
    coords = torch.as_tensor(coords, dtype=torch.float32)
    cell = None if cell is None else torch.as_tensor(cell, dtype=torch.float32)
    pbc = None if pbc is None else torch.as_tensor(pbc)
    cotangent = torch.as_tensor(np.random.default_rng(0).normal(
        size=(*species.shape, computer.out_dim)).astype(np.float32))

    def run():
        torch.set_num_threads(threads)
        x = coords.detach().requires_grad_(True)
        aev = computer(species, x, cell, pbc)
        (grad,) = torch.autograd.grad(aev, x, cotangent)
        return grad

    return run


def medians(runners: dict, atoms_per_call: dict, repeats: int) -> dict:
    """Median µs per atom of each runner, round-robin after one warm-up call."""
    for run in runners.values():
        run()
    times = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: 1e6 * float(np.median(t)) / atoms_per_call[name] for name, t in times.items()}


def compare_ethanol(n_frames: int, repeats: int) -> dict:
    frames = ethanol_frames(n_frames)
    params = AniParams.like_ani1x()
    numbers, positions = side_by_side(frames)
    index = {z: k for k, z in enumerate(params.elements)}
    species = np.array([[index[z] for z in f.numbers] for f in frames])
    coords = np.stack([f.positions for f in frames])
    runners, sizes = {}, {}
    for threads in (1, 2):
        runners[f"ours per frame, {threads} thr"] = ours_per_frame(frames, params, threads)
        runners[f"ours batched, {threads} thr"] = ours(numbers, positions, np.zeros((3, 3)), [False] * 3, params,
                                                       threads)
        run = torchani_runner(species, coords, None, None, 4, threads)
        if run is not None:
            runners[f"torchani, {threads} thr"] = run
    sizes = {name: len(numbers) for name in runners}
    return medians(runners, sizes, repeats)


def compare_copper(repeats: int) -> dict:
    atoms = copper()
    params = AniParams.like_ani1x([29])
    runners = {}
    for threads in (1, 2):
        runners[f"ours, {threads} thr"] = ours(atoms.numbers, atoms.positions, atoms.cell.array, atoms.pbc, params,
                                               threads)
        run = torchani_runner(np.zeros((1, len(atoms)), np.int64), atoms.positions[None], atoms.cell.array,
                              atoms.pbc, 1, threads)
        if run is not None:
            runners[f"torchani, {threads} thr"] = run
    return medians(runners, {name: len(atoms) for name in runners}, repeats)


def report(title: str, result: dict) -> None:
    print(f"\n{title}")
    print(f"{'':28s}{'µs/atom':>10s}")
    for name, us in result.items():
        print(f"{name:28s}{us:10.1f}")
    for threads in (1, 2):
        peer = result.get(f"torchani, {threads} thr")
        if peer is None:
            continue
        for name, us in result.items():
            if name.startswith("ours") and name.endswith(f"{threads} thr"):
                print(f"speed-up of {name} over torchani at {threads} thread(s): {peer / us:5.1f}x")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (>= 5 recommended)")
    parser.add_argument("--frames", type=int, default=64, help="ethanol frames per batch")
    args = parser.parse_args(argv)
    try:
        import torch
        import torchani
        peer = f"torch {torch.__version__}, torchani {torchani.__version__}"
    except ImportError:
        peer = "torchani not installed (pip install torchani): our timings only"
    print(f"{os.cpu_count()} CPUs, Numba {numba.__version__} ({numba.config.THREADING_LAYER} threading layer), "
          f"{peer}; load average {os.getloadavg()[0]:.2f}")
    report(f"ANI-1x AEVs, {args.frames} ethanol frames (9 atoms), median of {args.repeats}",
           compare_ethanol(args.frames, args.repeats))
    report(f"ANI-1x AEVs, periodic fcc Cu, 108 atoms, median of {args.repeats}", compare_copper(args.repeats))
    print("\nours: values + full Jacobian (float64), neighbour list included; torchani: forward + one "
          "backward (float32), neighbour list included")


if __name__ == "__main__":
    main()
