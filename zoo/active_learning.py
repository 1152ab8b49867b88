"""Committee-based active learning (query by committee; review section 6).

Each round trains a committee on the labelled structures, runs Langevin MD with the
committee mean, picks the visited structures where the members disagree most (largest
per-atom force spread), labels them with the reference ASE calculator and adds them to the
training set. ``strategy="random"`` picks as many structures at random from the same MD pool,
the baseline the committee choice must beat. Every round records the committee's error on a
fixed test set, so error vs. number of labels can be compared between strategies.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from zoo import keys
from zoo.committee import Committee
from zoo.data import Dataset
from zoo.reference import MDSegment, sample_md

STRATEGIES = ("committee", "random")
#: column of a round's picks per exploration (space-separated counts)
PICKS_PER_EXPLORATION = "picks_per_exploration"


@dataclasses.dataclass(frozen=True)
class Exploration:
    """How each round explores: Langevin MD from ``start`` with the committee mean.

    ``steps`` MD steps after ``equilibration`` give ``steps // stride`` pool structures;
    ``strain`` deforms the start cell first (cell -> cell @ (1 + strain)), so several
    explorations can cover the temperatures and volumes the test set holds.
    """

    start: Atoms
    temperature: float = 600.0  #: K
    steps: int = 200
    stride: int = 5  #: steps between pool structures
    timestep: float = 2.0  #: fs
    friction: float = 0.02  #: 1/fs
    strain: np.ndarray | None = None  #: float [3, 3]
    equilibration: int = 0  #: steps before the first pool structure

    def __post_init__(self):
        if not 0 < self.stride <= self.steps or self.equilibration < 0:
            raise ValueError(f"an Exploration needs 0 < stride <= steps and equilibration >= 0 (one pool structure "
                             f"every stride steps), received steps={self.steps}, stride={self.stride}, "
                             f"equilibration={self.equilibration}")

    def segment(self) -> MDSegment:
        return MDSegment(self.temperature, self.strain, self.timestep, self.friction, self.equilibration, self.stride)


def largest_force_spreads(committee: Committee, structures: list[Atoms]) -> np.ndarray:
    """Each structure's largest atomic force spread across the committee (eV/Å)."""
    pool = Dataset.from_atoms(structures)
    return np.maximum.reduceat(np.asarray(committee.predict(pool)[keys.FORCES_STD]), pool.offsets[:-1])


def unlabelled(atoms: Atoms) -> Atoms:
    """``atoms`` without calculator results: a pool structure carries no labels until
    the reference computes them."""
    return Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)


def explore(committee: Committee, explorations: Sequence[Exploration],
            rng) -> tuple[list[Atoms], np.ndarray, np.ndarray]:
    """MD pool of every exploration (the reference sets' own Langevin sampler, driven by the
    committee mean), each structure's largest atomic force spread (eV/Å) and the index of
    the exploration it came from."""
    pool, origin = [], []
    for index, e in enumerate(explorations):
        snapshots = sample_md(e.start, committee.calculator(), e.segment(), e.steps // e.stride, rng)
        pool += [unlabelled(snapshot) for snapshot in snapshots]
        origin += [index] * len(snapshots)
    return pool, largest_force_spreads(committee, pool), np.array(origin, dtype=np.int64)


def select(spread: np.ndarray, n: int, strategy: str, rng) -> np.ndarray:
    """Indices of the ``n`` pool structures to label: largest spread first, or random."""
    if strategy == "committee":
        return np.argsort(-spread, kind="stable")[:n]
    return np.sort(rng.choice(len(spread), size=min(n, len(spread)), replace=False))


def label(structures: list[Atoms], reference: Callable) -> Dataset:
    """Reference energies and forces of ``structures`` (``reference()`` makes a calculator)."""
    labelled = []
    for atoms in structures:
        atoms = atoms.copy()
        atoms.calc = reference()
        energy, forces = atoms.get_potential_energy(), atoms.get_forces()
        atoms.calc = SinglePointCalculator(atoms, **{keys.ENERGY: energy, keys.FORCES: forces})
        labelled.append(atoms)
    return Dataset.from_atoms(labelled)


def held_out_errors(committee: Committee, test: Dataset) -> dict[str, float]:
    """Committee-mean energy RMSE (meV/atom) and force RMSE (meV/Å) on ``test``."""
    pred = committee.predict(test)
    e = (pred[keys.ENERGY] - test.labels[keys.ENERGY]) / test.n_atoms
    f = pred[keys.FORCES] - test.labels[keys.FORCES]
    return {"energy_rmse_mev_atom": 1e3 * float(np.sqrt(np.mean(e**2))),
            "forces_rmse_mev_a": 1e3 * float(np.sqrt(np.mean(f**2)))}


def active_learning(train_member: Callable[[Dataset, int], object], labelled: Dataset,
                    exploration: Exploration | Sequence[Exploration], reference: Callable, test: Dataset, *,
                    rounds: int = 5, committee_size: int = 4, per_round: int = 10, strategy: str = "committee",
                    seed: int = 0) -> tuple[pd.DataFrame, Dataset]:
    """Run the loop; returns one row per round and the final labelled set.

    A row holds the committee's test errors before the round's labels, the mean force spread
    of the structures it picks and how many it picks from each exploration (space-separated
    counts, in the order of ``exploration``).

    Args:
        train_member: ``(dataset, seed) -> trained zoo.Potential`` (create, compile, fit).
        labelled: the initial labelled structures.
        exploration: the MD that proposes new structures; several explorations pool their
            structures, every round.
        reference: zero-argument callable returning the reference ASE calculator.
        test: fixed labelled test structures.
        rounds: rounds of select-label-retrain.
        committee_size: members per committee (different seeds).
        per_round: structures labelled per round.
        strategy: "committee" (largest force spread) or "random".
        seed: seeds the MD, the random choice and the members.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, received {strategy!r}")
    if committee_size < 2:
        raise ValueError(f"committee_size must be >= 2, received {committee_size}")
    explorations = (exploration,) if isinstance(exploration, Exploration) else tuple(exploration)
    if not explorations:
        raise ValueError("exploration must be an Exploration or a non-empty sequence of them, received none")
    rng = np.random.default_rng(seed)
    rows = []
    for round_ in range(rounds + 1):
        committee = Committee([train_member(labelled, seed * 1000 + round_ * committee_size + k)
                               for k in range(committee_size)])
        rows.append({"strategy": strategy, "round": round_, "n_labelled": len(labelled), **held_out_errors(committee, test)})
        if round_ == rounds:
            break
        pool, spread, origin = explore(committee, explorations, rng)
        chosen = select(spread, per_round, strategy, rng)
        rows[-1]["selected_force_spread"] = float(np.mean(spread[chosen]))
        rows[-1][PICKS_PER_EXPLORATION] = " ".join(map(str, np.bincount(origin[chosen], minlength=len(explorations))))
        labelled = Dataset.concatenate([labelled, label([pool[i] for i in chosen], reference)])
    return pd.DataFrame(rows), labelled
