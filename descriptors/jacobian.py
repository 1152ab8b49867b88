"""The COO Jacobian that every descriptor kernel returns with its values."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Jacobian(NamedTuple):
    """Derivatives of ``values`` [n_items, K] with respect to atomic positions.

    ``d values[item[b], k] / d positions[atom[b], :] = value[b, k, :]``. Blocks that share
    an (item, atom) pair add up, so a periodic image contributes through the atom it
    images without any merging step.

    Pair blocks: where a row depends on a pair vector r_j + S - r_i only (EANN orbitals,
    environment-matrix rows, distances), its derivative with respect to r_i is the negative
    of that with respect to r_j. Such a kernel emits one block per row with ``atom`` j and
    ``partner`` i: the block adds ``value[b]`` to atom j and ``-value[b]`` to atom i,
    which halves the blocks of two-block pair rows. The partner is the row's reference atom
    (displacement 0), so the virial needs nothing more. ``partner`` is None for kernels
    without pair blocks.

    ``displacement[b]`` is where the block's atom (the periodic image the row depends on)
    sits relative to the row's reference atom (the centre, for atom-centred rows), so the
    derivative of a row with respect to a homogeneous strain of cell and positions is
    ``sum_b value[b] ⊗ displacement[b]`` (see :func:`strain_derivative`): stress needs no
    other information from a kernel.

    Attributes:
        item: int64 [B], row of ``values``.
        atom: int64 [B], atom index (within the structure).
        value: float64 [B, K, 3], unit of ``values`` per Å.
        displacement: float64 [B, 3], Å (zero for the reference atom's own block).
        partner: int64 [B], the atom that gets ``-value[b]`` (pair blocks), or None.
    """

    item: np.ndarray
    atom: np.ndarray
    value: np.ndarray
    displacement: np.ndarray
    partner: np.ndarray | None = None

    def outputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(item, atom, value, displacement): the arrays a loop kernel fills in place."""
        return self.item, self.atom, self.value, self.displacement


def jacobian_to_dense(jac: Jacobian, n_items: int, n_atoms: int) -> np.ndarray:
    """Dense [n_items, K, n_atoms, 3] array of a COO Jacobian (for tests and small inputs)."""
    dense = np.zeros((n_items, jac.value.shape[1], n_atoms, 3), dtype=jac.value.dtype)
    np.add.at(dense, (jac.item, slice(None), jac.atom), jac.value)
    if jac.partner is not None:
        np.subtract.at(dense, (jac.item, slice(None), jac.partner), jac.value)
    return dense


def strain_derivative(jac: Jacobian, n_items: int) -> np.ndarray:
    """[n_items, K, 3, 3]: d values / d strain ε (positions and cell scaled by 1 + ε).

    ``[i, k, a, c] = sum over blocks b of row i of value[b, k, a] * displacement[b, c]``;
    exact for rows that depend on positions only through differences (translation
    invariance), which holds for every local descriptor. A block's partner (the reference
    atom, displacement 0) adds nothing.
    """
    out = np.zeros((n_items, jac.value.shape[1], 3, 3), dtype=jac.value.dtype)
    np.add.at(out, jac.item, jac.value[:, :, :, None] * jac.displacement[:, None, None, :])
    return out
