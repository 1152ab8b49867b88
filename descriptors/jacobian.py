"""The COO Jacobian that every descriptor kernel returns with its values."""

from typing import NamedTuple

import numpy as np


class Jacobian(NamedTuple):
    """Derivatives of ``values`` [n_items, K] with respect to atomic positions.

    ``d values[item[b], k] / d positions[atom[b], :] = value[b, k, :]``. Blocks that share
    an (item, atom) pair add up, so a periodic image contributes through the atom it
    images without any merging step.

    Attributes:
        item: int64 [B], row of ``values``.
        atom: int64 [B], atom index (within the structure).
        value: float64 [B, K, 3], unit of ``values`` per Å.
    """

    item: np.ndarray
    atom: np.ndarray
    value: np.ndarray


def jacobian_to_dense(jac: Jacobian, n_items: int, n_atoms: int) -> np.ndarray:
    """Dense [n_items, K, n_atoms, 3] array of a COO Jacobian (for tests and small inputs)."""
    dense = np.zeros((n_items, jac.value.shape[1], n_atoms, 3), dtype=jac.value.dtype)
    np.add.at(dense, (jac.item, slice(None), jac.atom), jac.value)
    return dense
