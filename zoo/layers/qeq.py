"""Charge equilibration on flat batches: per-structure constrained linear solves (review 5).

4G models (CENT, 4G-HDNNP, BpopNN's self-consistent charges) solve, for every structure s
of a flat batch, the saddle-point system

    [ M_s  1 ] [ x_s ]   [ b_s ]
    [ 1ᵀ   0 ] [ μ_s ] = [ t_s ]

(one Lagrange multiplier μ_s per structure for the total-charge constraint ``sum x = t``).
M_s is symmetric: its upper triangle comes from the Coulomb matrix entries of
:class:`zoo.featurizers.CoulombFeaturizer` (``keys.COULOMB_MATRIX``, ``COULOMB_I``,
``COULOMB_J``) plus a per-atom diagonal (hardness and Gaussian self-energy, or a Newton
curvature). The blocks are scattered into one zero-padded tensor [S, m + 1, m + 1]
(m = largest structure; padded atoms get a unit diagonal and no constraint entry, so
their unknown is 0) and solved together with ``tf.linalg.solve`` in float64, so gradients
reach the right-hand side (electronegativities from the networks), the diagonal (learned
hardness) and the Coulomb entries (whose COO Jacobian then gives the explicit position
dependence of the forces).

Cost: O(S m³) time and O(S m²) memory per batch. Measured with ``python -m
benchmarks.qeq_scaling`` (one thread, one neutral NaCl cluster per batch, medians): the
solve with its gradient takes 4.1, 4.5, 18 and 74 ms at 25, 100, 400 and 800 atoms (a
fixed ~4 ms of TensorFlow overhead below ~100 atoms), against 0.9, 5.3, 27 and 58 ms for
the ACSFs with their Jacobian and 0.03-16 ms for the Coulomb matrix: it is a third to a
half of the pre-network work up to 800 atoms and, growing as n³, dominates from about a
thousand atoms on. Beyond that an iterative solver (conjugate gradients on the projected
system, as the iQEq of Kocer et al. 2025) would be needed; it is not implemented.
"""

from __future__ import annotations

import tensorflow as tf

from zoo import keys


def local_index(structure, n_atoms):
    """int [n_atoms]: each atom's index within its own structure."""
    offsets = tf.cumsum(n_atoms, exclusive=True)
    return tf.range(tf.shape(structure, out_type=n_atoms.dtype)[0]) - tf.gather(offsets, structure)


def padded_blocks(pair_values, i, j, diagonal, structure, n_atoms):
    """The per-structure constrained matrices [S, m + 1, m + 1] (float64, see module docstring).

    Args:
        pair_values: float [P], entries (i, j) with i <= j of the symmetric matrix (an
            entry with i = j adds to the diagonal once; one with i < j is mirrored).
        i, j: int [P], flat-batch atoms of each entry (both in the same structure).
        diagonal: float [n_atoms], added to the diagonal.
        structure: int [n_atoms], structure of each atom.
        n_atoms: int [S], atoms per structure.
    """
    n_atoms = tf.cast(n_atoms, structure.dtype)
    n_structures = tf.shape(n_atoms, out_type=structure.dtype)[0]
    m = tf.reduce_max(n_atoms)
    loc = local_index(structure, n_atoms)
    s_pair, li, lj = tf.gather(structure, i), tf.gather(loc, i), tf.gather(loc, j)
    off = tf.cast(tf.not_equal(i, j), tf.float64)
    values = tf.cast(pair_values, tf.float64)
    corner = tf.fill(tf.shape(structure), m)
    ones = tf.ones_like(structure, tf.float64)
    indices = tf.concat([tf.stack([s_pair, li, lj], 1), tf.stack([s_pair, lj, li], 1),
                         tf.stack([structure, loc, loc], 1),
                         tf.stack([structure, loc, corner], 1), tf.stack([structure, corner, loc], 1)], axis=0)
    updates = tf.concat([values, values * off, tf.cast(diagonal, tf.float64), ones, ones], axis=0)
    size = m + 1
    blocks = tf.scatter_nd(indices, updates, tf.stack([n_structures, size, size]))
    # padded atoms (local index >= n_s, and < m): unit diagonal, so their unknown is 0
    padding = 1.0 - tf.cast(tf.sequence_mask(n_atoms, m), tf.float64)
    return blocks + tf.linalg.diag(tf.pad(padding, [[0, 0], [0, 1]]))


def constrained_solve(pair_values, i, j, diagonal, rhs, total, structure, n_atoms):
    """Solve every structure's constrained system (module docstring).

    Args:
        pair_values, i, j, diagonal, structure, n_atoms: as :func:`padded_blocks`.
        rhs: float [n_atoms], b.
        total: float [S], t, the required sum of each structure's x.

    Returns:
        (x [n_atoms], μ [S]) in the dtype of ``rhs``.
    """
    dtype = rhs.dtype
    n_atoms = tf.cast(n_atoms, structure.dtype)
    n_structures = tf.shape(n_atoms, out_type=structure.dtype)[0]
    m = tf.reduce_max(n_atoms)
    loc = local_index(structure, n_atoms)
    at = tf.stack([structure, loc], 1)
    b = tf.scatter_nd(at, tf.cast(rhs, tf.float64), tf.stack([n_structures, m]))
    b = tf.concat([b, tf.cast(total, tf.float64)[:, None]], axis=1)
    blocks = padded_blocks(pair_values, i, j, diagonal, structure, n_atoms)
    solution = tf.linalg.solve(blocks, b[:, :, None])[:, :, 0]
    return tf.cast(tf.gather_nd(solution, at), dtype), tf.cast(solution[:, -1], dtype)


def qeq_charges(electronegativity, hardness, inputs):
    """Charges minimising the Qeq energy at each structure's total charge.

    ``E_Qeq(q) = sum_i (chi_i q_i + 1/2 J_i q_i²) + 1/2 qᵀ A q`` with A the Coulomb matrix
    of Gaussian charges (``keys.COULOMB_MATRIX``) and J_i the total diagonal (hardness plus
    Gaussian self-energy, as the caller defines it); the minimum at ``sum q = Q`` solves
    ``(A + diag J) q + μ 1 = -chi`` (review Eq. 11; Ko et al., Nat. Commun. 12, 398 (2021), Eq. 6).

    Args:
        electronegativity: float [n_atoms], eV/e.
        hardness: float [n_atoms], eV/e², the diagonal added to A.
        inputs: the flat batch (Coulomb entries, ``keys.STRUCTURE``, ``keys.N_ATOMS``,
            ``keys.TOTAL_CHARGE``).

    Returns:
        float [n_atoms], e.
    """
    charges, _ = constrained_solve(tf.squeeze(inputs[keys.COULOMB_MATRIX], -1), inputs[keys.COULOMB_I],
                                   inputs[keys.COULOMB_J], hardness, -electronegativity,
                                   tf.cast(inputs[keys.TOTAL_CHARGE], electronegativity.dtype),
                                   inputs[keys.STRUCTURE], inputs[keys.N_ATOMS])
    return charges
