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
from typing import Callable

import numpy as np
import pandas as pd
from ase import Atoms, units
from ase.calculators.singlepoint import SinglePointCalculator
from ase.constraints import FixCom
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

from zoo import keys
from zoo.committee import Committee
from zoo.data import Dataset

STRATEGIES = ("committee", "random")


@dataclasses.dataclass(frozen=True)
class Exploration:
    """How each round explores: Langevin MD from ``start`` with the committee mean."""

    start: Atoms
    temperature: float = 600.0  #: K
    steps: int = 200
    stride: int = 5  #: steps between pool structures
    timestep: float = 2.0  #: fs
    friction: float = 0.02  #: 1/fs


def explore(committee: Committee, exploration: Exploration, rng) -> tuple[list[Atoms], np.ndarray]:
    """MD pool: structures every ``stride`` steps and each one's largest atomic force spread (eV/Å)."""
    atoms = exploration.start.copy()
    atoms.set_constraint(FixCom())
    atoms.calc = committee.calculator()
    MaxwellBoltzmannDistribution(atoms, temperature_K=exploration.temperature, rng=rng)
    dynamics = Langevin(atoms, exploration.timestep * units.fs, temperature_K=exploration.temperature,
                        friction=exploration.friction / units.fs, fixcm=False, rng=rng)
    pool, spread = [], []
    for _ in range(exploration.steps // exploration.stride):
        dynamics.run(exploration.stride)
        pool.append(Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc))
        spread.append(float(np.max(atoms.calc.results[keys.FORCES_STD])))
    return pool, np.array(spread)


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


def active_learning(train_member: Callable[[Dataset, int], object], labelled: Dataset, exploration: Exploration,
                    reference: Callable, test: Dataset, *, rounds: int = 5, committee_size: int = 4,
                    per_round: int = 10, strategy: str = "committee", seed: int = 0) -> tuple[pd.DataFrame, Dataset]:
    """Run the loop; returns one row per round and the final labelled set.

    Args:
        train_member: ``(dataset, seed) -> trained zoo.Potential`` (create, compile, fit).
        labelled: the initial labelled structures.
        exploration: the MD that proposes new structures.
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
    rng = np.random.default_rng(seed)
    rows = []
    for round_ in range(rounds + 1):
        committee = Committee([train_member(labelled, seed * 1000 + round_ * committee_size + k)
                               for k in range(committee_size)])
        rows.append({"strategy": strategy, "round": round_, "n_labelled": len(labelled), **held_out_errors(committee, test)})
        if round_ == rounds:
            break
        pool, spread = explore(committee, exploration, rng)
        chosen = select(spread, per_round, strategy, rng)
        rows[-1]["selected_force_spread"] = float(np.mean(spread[chosen]))
        labelled = Dataset.concatenate([labelled, label([pool[i] for i in chosen], reference)])
    return pd.DataFrame(rows), labelled
