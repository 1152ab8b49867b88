"""Per-element linear energy baseline: E_s ≈ Σ_e count[s, e] · ε_e."""

import numpy as np

from zoo import keys
from zoo.data.dataset import Dataset
from zoo.data.validate import MAX_ATOMIC_NUMBER


def element_counts(dataset: Dataset, elements) -> np.ndarray:
    """float64 [S, len(elements)]: atoms of each element (in the given order) per structure."""
    elements = np.asarray(elements, dtype=np.int64)
    column = np.full(MAX_ATOMIC_NUMBER + 1, -1)
    column[elements] = np.arange(len(elements))
    index = column[dataset.numbers]
    if np.any(index < 0):
        unknown = sorted(set(dataset.numbers[index < 0].tolist()))
        raise ValueError(f"the data contain element(s) {unknown} that are not in elements="
                         f"{elements.tolist()}; pass every element of the data (e.g. dataset.elements)")
    flat = dataset.structure_index * len(elements) + index
    return np.bincount(flat, minlength=len(dataset) * len(elements)).reshape(len(dataset), len(elements)).astype(float)


def fit_energy_baseline(dataset: Dataset, elements) -> np.ndarray:
    """float64 [len(elements)] eV: per-element energies ε minimising Σ_s (E_s − count_s·ε)².

    Solved by ``np.linalg.lstsq`` over the structures that have an energy. When the data
    do not determine ε (one composition only, or elements absent), this is the
    minimum-norm solution: e.g. for pure Cu, ε_Cu is the mean energy per atom, and an
    element absent from the data gets 0.
    """
    energy = dataset.labels.get(keys.ENERGY)
    labelled = np.isfinite(energy) if energy is not None else np.zeros(len(dataset), bool)
    if not labelled.any():
        raise ValueError("fit_energy_baseline needs structures with an energy label; none of the "
                         f"{len(dataset)} structures has one")
    counts = element_counts(dataset, elements)[labelled]
    baseline, *_ = np.linalg.lstsq(counts, energy[labelled], rcond=None)
    return baseline
