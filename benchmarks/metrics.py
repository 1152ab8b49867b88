"""Accuracy metrics: pure functions, arrays in (eV, eV/Å, e, e·Å), dict of floats out (meV, me)."""

import numpy as np

from zoo import keys

MEV = 1000.0


def _mae_rmse(error: np.ndarray) -> tuple[float, float]:
    error = np.asarray(error, dtype=np.float64).ravel()
    return float(np.mean(np.abs(error))), float(np.sqrt(np.mean(error**2)))


def energy_errors(predicted, reference, n_atoms) -> dict[str, float]:
    """Per-atom energy MAE and RMSE in meV/atom.

    Args:
        predicted, reference: float [n_structures], eV.
        n_atoms: int [n_structures].
    """
    mae, rmse = _mae_rmse((np.asarray(predicted) - np.asarray(reference)) / np.asarray(n_atoms))
    return {"energy_mae_mev_atom": MEV * mae, "energy_rmse_mev_atom": MEV * rmse}


def force_errors(predicted, reference) -> dict[str, float]:
    """Force-component MAE and RMSE in meV/Å. Arrays float [n_atoms, 3], eV/Å."""
    mae, rmse = _mae_rmse(np.asarray(predicted) - np.asarray(reference))
    return {"forces_mae_mev_a": MEV * mae, "forces_rmse_mev_a": MEV * rmse}


def structure_force_errors(predicted, reference, n_atoms) -> dict[str, float]:
    """The force RMSE of each structure on its own components: the median and the worst
    structure, meV/Å. One structure far from most of the training data can dominate a test
    set's RMSE (EANN on ethanol-1000: 754 meV/Å on one of 100 structures, 113 -> 84 overall
    without it), so the table shows the worst next to the overall value.

    Args:
        predicted, reference: float [n_atoms, 3], eV/Å, structures one after another.
        n_atoms: int [n_structures].
    """
    n_atoms = np.asarray(n_atoms, np.int64)
    if n_atoms.min(initial=1) < 1 or n_atoms.sum() != len(predicted):
        raise ValueError(f"n_atoms must count >= 1 atom per structure and {len(predicted)} in all (the force "
                         f"rows), received {n_atoms.sum()} in {len(n_atoms)} structures (min {n_atoms.min(initial=1)})")
    squared = np.sum((np.asarray(predicted, np.float64) - np.asarray(reference, np.float64)) ** 2, axis=1)
    starts = np.concatenate([[0], np.cumsum(n_atoms)[:-1]]).astype(np.int64)
    per_structure = np.sqrt(np.add.reduceat(squared, starts) / (3 * n_atoms))
    return {"forces_structure_median_rmse_mev_a": MEV * float(np.median(per_structure)),
            "forces_structure_max_rmse_mev_a": MEV * float(np.max(per_structure))}


def charge_errors(predicted, reference) -> dict[str, float]:
    """Partial-charge MAE and RMSE in me (milli-elementary charges). Arrays float [n_atoms], e."""
    mae, rmse = _mae_rmse(np.asarray(predicted) - np.asarray(reference))
    return {"charges_mae_me": MEV * mae, "charges_rmse_me": MEV * rmse}


def dipole_errors(predicted, reference) -> dict[str, float]:
    """Dipole-component MAE and RMSE in me·Å. Arrays float [n_structures, 3], e·Å."""
    mae, rmse = _mae_rmse(np.asarray(predicted) - np.asarray(reference))
    return {"dipole_mae_me_a": MEV * mae, "dipole_rmse_me_a": MEV * rmse}


def accuracy(prediction: dict, dataset) -> dict[str, float]:
    """Every metric for which ``dataset`` has labels and ``prediction`` has outputs."""
    out = {}
    if keys.ENERGY in prediction and dataset.has_label(keys.ENERGY):
        out.update(energy_errors(prediction[keys.ENERGY], dataset.labels[keys.ENERGY], dataset.n_atoms))
    if keys.FORCES in prediction and dataset.has_label(keys.FORCES):
        out.update(force_errors(prediction[keys.FORCES], dataset.labels[keys.FORCES]))
        out.update(structure_force_errors(prediction[keys.FORCES], dataset.labels[keys.FORCES], dataset.n_atoms))
    if keys.CHARGES in prediction and dataset.has_label(keys.CHARGES):
        out.update(charge_errors(prediction[keys.CHARGES], dataset.labels[keys.CHARGES]))
    if keys.DIPOLE in prediction and dataset.has_label(keys.DIPOLE):
        out.update(dipole_errors(prediction[keys.DIPOLE], dataset.labels[keys.DIPOLE]))
    return out
