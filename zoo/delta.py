"""Δ-learning (review section 6): a model of the difference between a target method and a
cheaper baseline method, predicting baseline + correction.

The baseline is any ASE calculator (EMT, GFN1-xTB through tblite, a force field): it is
evaluated on every structure the correction is trained on or predicts, so it must be much
cheaper than the target. The correction is an ordinary :class:`zoo.Potential`, trained with
Keras ``fit`` on residual labels (target − baseline energies and forces).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from ase.calculators.calculator import Calculator as AseCalculator
from ase.calculators.mixing import SumCalculator

from zoo import keys
from zoo.calculator import Calculator
from zoo.data import Dataset

#: the labels a baseline provides and a Δ model corrects
CORRECTED = (keys.ENERGY, keys.FORCES)


def total_charges(dataset: Dataset) -> np.ndarray:
    """float [S], e: each structure's labelled total charge, 0 where there is none."""
    if keys.TOTAL_CHARGE not in dataset.labels:
        return np.zeros(len(dataset))
    charge = dataset.labels[keys.TOTAL_CHARGE]
    return np.where(np.isfinite(charge), charge, 0.0)  # a structure without the label is neutral


def baseline_labels(dataset: Dataset, baseline: Callable[..., AseCalculator],
                    charged: bool = False) -> dict[str, np.ndarray]:
    """ENERGY [S] (eV) and FORCES [n_atoms, 3] (eV/Å) of the baseline on every structure.

    Args:
        dataset: the structures.
        baseline: a callable returning a fresh ASE calculator: of no argument, or, with
            ``charged``, of the structure's total charge (e).
        charged: pass each structure's total charge (:func:`total_charges`) to ``baseline``.
    """
    energies, forces = np.empty(len(dataset)), np.empty((len(dataset.numbers), 3))
    for s, (atoms, charge) in enumerate(zip(dataset.iter_atoms(), total_charges(dataset))):
        atoms.calc = baseline(float(charge)) if charged else baseline()
        energies[s] = atoms.get_potential_energy()
        forces[dataset.offsets[s]:dataset.offsets[s + 1]] = atoms.get_forces()
    return {keys.ENERGY: energies, keys.FORCES: forces}


def subtract_baseline(dataset: Dataset, base: dict[str, np.ndarray]) -> Dataset:
    """A copy of ``dataset`` whose energy and force labels are target − ``base`` (baseline
    labels of the same structures)."""
    for key in CORRECTED:
        if not dataset.has_label(key):
            raise ValueError(f"Δ-learning needs target {key!r} labels on every structure, which the data set lacks")
    out = dataset[np.arange(len(dataset))]
    for key in CORRECTED:
        out.labels[key] = dataset.labels[key] - base[key]
    return out


def add_baseline(correction: dict, base: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A correction model's prediction with the baseline energy and forces added back;
    other outputs stay as predicted."""
    return {**correction, **{key: base[key] + np.asarray(correction[key]) for key in CORRECTED}}


class Delta:
    """A correction model on top of a baseline calculator.

    Args:
        model: an untrained (or trained) :class:`zoo.Potential` for the correction.
        baseline: a zero-argument callable returning a fresh ASE calculator of the baseline
            method (e.g. ``ase.calculators.emt.EMT`` or
            ``lambda: TBLite(method="GFN1-xTB", verbosity=0)``).
    """

    def __init__(self, model, baseline: Callable[[], AseCalculator]):
        if not callable(baseline):
            raise TypeError(f"baseline must be a callable returning an ASE calculator (e.g. EMT, not EMT()), "
                            f"received {type(baseline).__name__}")
        self.model = model
        self.baseline = baseline

    def residual(self, dataset: Dataset) -> Dataset:
        """A copy of ``dataset`` whose energy and force labels are target − baseline."""
        return subtract_baseline(dataset, baseline_labels(dataset, self.baseline))

    def fit(self, x: Dataset, validation_data: Dataset | None = None, **kwargs):
        """``model.fit`` on the residuals of ``x`` (and of ``validation_data``)."""
        val = self.residual(validation_data) if validation_data is not None else None
        return self.model.fit(self.residual(x), validation_data=val, **kwargs)

    def predict(self, dataset: Dataset, **kwargs) -> dict[str, np.ndarray]:
        """Baseline + correction: ENERGY [S] and FORCES [n_atoms, 3]."""
        corrected = add_baseline(self.model.predict(dataset, verbose=0, **kwargs),
                                 baseline_labels(dataset, self.baseline))
        return {key: corrected[key] for key in CORRECTED}

    def calculator(self, **kwargs) -> SumCalculator:
        """ASE calculator of baseline + correction (energies, forces)."""
        return SumCalculator([self.baseline(), Calculator(self.model, **kwargs)])
