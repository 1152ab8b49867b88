"""Charge equilibration (Qeq) matrix of Gaussian charges, with its position Jacobian.

The Qeq energy of charges q (e) in a structure (review Eq. 11; A. K. Rappé, W. A.
Goddard, J. Phys. Chem. 95, 3358 (1991); with Gaussian charges as in S. A. Ghasemi et
al., Phys. Rev. B 92, 045131 (2015) and T. W. Ko et al., Nat. Commun. 12, 398 (2021), Eq. 6):

    E_Qeq(q) = sum_i chi_i q_i + 1/2 qᵀ H q,
    H_ij = k_e erf(r_ij / (sqrt(2) gamma_ij)) / r_ij,  gamma_ij = sqrt(s_i² + s_j²)   (i != j)
    H_ii = J_i + k_e / (s_i sqrt(pi))

with electronegativities chi_i (eV/e), hardnesses J_i (eV/e²) and Gaussian widths s_i (Å);
k_e / (s_i sqrt(pi)) is twice the self-energy of a unit Gaussian charge. Periodic cells
use the Ewald form of the off-diagonal part (:mod:`descriptors.ewald`, whose diagonal then
also holds the interaction of an atom with its own images). The charges minimising E_Qeq
at a total charge Q solve ``[H 1; 1ᵀ 0] [q; mu] = [-chi; Q]`` (:func:`solve_qeq`).

H is :func:`descriptors.coulomb.coulomb_matrix` with ``damping="gaussian"`` plus the
diagonal: same upper-triangle layout, same Jacobian (the diagonal terms do not depend on
positions). Models build it on the fly from the Coulomb entries because their hardness is
a trained weight (:mod:`zoo.layers.qeq`); this module is the plain-NumPy form for users
and for tests. Cost: O(n²) to build, O(n³) to solve, see :mod:`zoo.layers.qeq`.
"""

from __future__ import annotations

import math

import numpy as np

from descriptors.coulomb import K_E, CoulombParams, coulomb_matrix, triangle_indices
from descriptors.jacobian import Jacobian


def self_energy_diagonal(widths) -> np.ndarray:
    """eV/e² [n]: k_e / (s_i sqrt(pi)), the diagonal of a Gaussian charge's self-interaction."""
    widths = np.asarray(widths, dtype=np.float64)
    if np.any(~np.isfinite(widths)) or np.any(widths <= 0):
        raise ValueError(f"Gaussian widths must be finite and > 0 Å, received {widths}")
    return K_E / (widths * math.sqrt(math.pi))


def qeq_matrix(positions, cell, pbc, widths, hardness, accuracy=1e-8) -> tuple[np.ndarray, Jacobian]:
    """The Qeq matrix H (upper triangle, eV/e²) of one structure and its COO Jacobian.

    Args:
        positions: float [n, 3], Å.
        cell: float [3, 3], Å (rows are lattice vectors); ignored unless periodic.
        pbc: bool [3], all False (molecule, cluster) or all True (Ewald).
        widths: float [n], Å, Gaussian charge widths s_i.
        hardness: float [n], eV/e², J_i.
        accuracy: Ewald truncation target for periodic cells.

    Returns:
        values float [P, 1] (P = n (n + 1) / 2 rows, the upper triangle i <= j, row-major as
        :func:`descriptors.coulomb.triangle_indices`) and the Jacobian of
        :func:`descriptors.coulomb.coulomb_matrix` (the diagonal adds nothing to it).
    """
    n = len(positions)
    hardness = np.asarray(hardness, dtype=np.float64)
    if hardness.shape != (n,) or np.any(~np.isfinite(hardness)):
        raise ValueError(f"hardness must be {n} finite values (eV/e²), received shape {hardness.shape}")
    diagonal = self_energy_diagonal(widths) + hardness
    values, jac = coulomb_matrix(positions, cell, pbc, CoulombParams(damping="gaussian", accuracy=accuracy),
                                 widths=np.asarray(widths, dtype=np.float64))
    i, j = triangle_indices(n)
    values = values.copy()
    values[i == j, 0] += diagonal
    return values, jac


def dense_matrix(values, n: int) -> np.ndarray:
    """float [n, n]: the symmetric matrix of the upper-triangle ``values`` [P, 1]."""
    i, j = triangle_indices(n)
    dense = np.zeros((n, n))
    dense[i, j] = values[:, 0]
    dense[j, i] = values[:, 0]
    return dense


def solve_qeq(values, electronegativity, total_charge: float) -> tuple[np.ndarray, float]:
    """Charges minimising E_Qeq at total charge Q, and the energy at them.

    Args:
        values: float [P, 1], H from :func:`qeq_matrix`.
        electronegativity: float [n], eV/e.
        total_charge: e.

    Returns:
        (charges float [n] e, E_Qeq eV).
    """
    chi = np.asarray(electronegativity, dtype=np.float64)
    n = len(chi)
    system = np.zeros((n + 1, n + 1))
    system[:n, :n] = dense_matrix(values, n)
    system[:n, n] = system[n, :n] = 1.0
    solution = np.linalg.solve(system, np.append(-chi, total_charge))
    q = solution[:n]
    return q, float(chi @ q + 0.5 * q @ system[:n, :n] @ q)
