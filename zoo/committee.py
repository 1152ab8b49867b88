"""Committees of potentials: mean predictions and their spread (review section 6).

A committee (query by committee) is several models of the same data, differing in their
random initialisation and/or training subsets. Their mean is usually more accurate than a
member, and their disagreement marks structures unlike the training data: the selection
criterion of committee-based active learning (e.g. the largest force spread along an MD
run).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from ase.calculators.calculator import Calculator as AseCalculator
from ase.calculators.calculator import all_changes

from zoo import keys
from zoo.calculator import Calculator
from zoo.potential import Potential
from zoo.registry import load_model

#: the predictions a committee averages (and reports the spread of)
AVERAGED = (keys.ENERGY, keys.FORCES)


def committee_statistics(energies: np.ndarray, forces: np.ndarray) -> dict[str, np.ndarray]:
    """Mean and spread of member predictions.

    Args:
        energies: float [M, n_structures], eV, one row per member.
        forces: float [M, n_atoms, 3], eV/Å.

    Returns:
        ENERGY [n_structures] and FORCES [n_atoms, 3]: means; ENERGY_STD [n_structures]:
        standard deviation over members; FORCES_STD [n_atoms]: sqrt(mean_m |F_m - F_mean|²).
    """
    mean_forces = forces.mean(axis=0)
    return {keys.ENERGY: energies.mean(axis=0), keys.FORCES: mean_forces,
            keys.ENERGY_STD: energies.std(axis=0),
            keys.FORCES_STD: np.sqrt(np.mean(np.sum((forces - mean_forces) ** 2, axis=-1), axis=0))}


class Committee:
    """Several trained :class:`zoo.Potential` s used as one.

    Args:
        models: at least two potentials (or paths of saved ``.keras`` files) for the same
            elements; they may be of different kinds.
    """

    def __init__(self, models):
        models = [load_model(m) if isinstance(m, (str, os.PathLike)) else m for m in models]
        if len(models) < 2:
            raise ValueError(f"a committee needs at least two models, received {len(models)}")
        for m in models:
            if not isinstance(m, Potential):
                raise TypeError(f"committee members must be zoo.Potential models, received {type(m).__name__}")
        elements = {tuple(m.elements) for m in models}
        if len(elements) > 1:
            raise ValueError(f"committee members must know the same elements, received {sorted(elements)}")
        self.models = models

    def __len__(self) -> int:
        return len(self.models)

    @property
    def elements(self) -> tuple[int, ...]:
        return tuple(self.models[0].elements)

    def predict(self, dataset, batch_size=32, **kwargs) -> dict[str, np.ndarray]:
        """Mean energies and forces of a :class:`zoo.data.Dataset` and their spread
        (:func:`committee_statistics`)."""
        members = [m.predict(dataset, batch_size=batch_size, verbose=0, **kwargs) for m in self.models]
        return committee_statistics(np.stack([np.asarray(p[keys.ENERGY]) for p in members]),
                                    np.stack([np.asarray(p[keys.FORCES]) for p in members]))

    def calculator(self, **kwargs) -> CommitteeCalculator:
        """An ASE calculator of the committee mean (see :class:`CommitteeCalculator`)."""
        return CommitteeCalculator(self, **kwargs)

    def save(self, folder) -> Path:
        """Members as ``member-<k>.keras`` in ``folder``; :meth:`load` reads them back."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for k, model in enumerate(self.models):
            model.save(folder / f"member-{k}.keras")
        return folder

    @classmethod
    def load(cls, folder) -> Committee:
        paths = sorted(Path(folder).glob("member-*.keras"), key=lambda p: int(p.stem.split("-")[1]))
        if not paths:
            raise FileNotFoundError(f"no member-*.keras files in {folder}; save a committee there first")
        return cls(paths)


class CommitteeCalculator(AseCalculator):
    """ASE calculator of a committee's mean energy and forces.

    ``results`` also hold ``energy_std`` (eV) and ``forces_std`` [n_atoms] (eV/Å), read with
    ``calc.results[zoo.keys.FORCES_STD]`` after a calculation, e.g. inside an MD loop that
    collects structures where the committee disagrees.

    Args:
        committee: the :class:`Committee`.
        **kwargs: passed to every member's :class:`zoo.Calculator` (``total_charge``).
    """

    implemented_properties = [keys.ENERGY, keys.FREE_ENERGY, keys.FORCES]

    def __init__(self, committee: Committee, **kwargs):
        super().__init__()
        self.committee = committee
        self.members = [Calculator(m, **kwargs) for m in committee.models]

    def calculate(self, atoms=None, properties=(keys.ENERGY,), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        energies, forces = [], []
        for member in self.members:
            member.calculate(self.atoms, [keys.ENERGY, keys.FORCES], system_changes)
            energies.append([member.results[keys.ENERGY]])
            forces.append(member.results[keys.FORCES])
        stats = committee_statistics(np.array(energies), np.array(forces))
        energy = float(stats[keys.ENERGY][0])
        self.results = {keys.ENERGY: energy, keys.FREE_ENERGY: energy, keys.FORCES: stats[keys.FORCES],
                        keys.ENERGY_STD: float(stats[keys.ENERGY_STD][0]), keys.FORCES_STD: stats[keys.FORCES_STD]}
