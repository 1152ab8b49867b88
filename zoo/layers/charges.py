"""Charges and their electrostatic energy on flat batches (3G/4G models, review section 4)."""

import tensorflow as tf

from zoo import keys


def neutralize(charges, structure, n_atoms, total_charge):
    """Shift raw charges uniformly within each structure so they sum to its total charge.

    ``q_i = q̃_i - (sum_{j in s} q̃_j - Q_s) / n_s`` (the correction of PhysNet, Unke &
    Meuwly 2019, Eq. 14; also used for the charge networks of 3G-HDNNP and TensorMol).

    Args:
        charges: float [n_atoms], e, raw network charges.
        structure: int [n_atoms], structure of each atom.
        n_atoms: int [n_structures], atoms per structure.
        total_charge: float [n_structures], e.

    Returns:
        float [n_atoms], e.
    """
    n_structures = tf.shape(n_atoms)[0]
    excess = tf.math.unsorted_segment_sum(charges, structure, n_structures) - total_charge
    return charges - tf.gather(excess / tf.cast(n_atoms, charges.dtype), structure)


def coulomb_atomic_energies(charges, inputs):
    """Per-atom electrostatic energies ``E_a = 1/2 q_a sum_b A_ab q_b`` (eV) from the flat
    upper-triangle Coulomb matrix of :class:`zoo.featurizers.CoulombFeaturizer`.

    Entry e = (i, j), i <= j, contributes ``w_e q_i q_j A_e`` (w = 1 off the diagonal, 1/2
    on it) to the energy, split equally between atoms i and j; no dense block is built.

    Args:
        charges: float [n_atoms], e.
        inputs: flat batch with ``keys.COULOMB_MATRIX`` [P, 1] (eV/e²), ``keys.COULOMB_I``
            and ``keys.COULOMB_J`` [P].

    Returns:
        float [n_atoms], eV; their sum over a structure is 1/2 qᵀ A q.
    """
    i, j = inputs[keys.COULOMB_I], inputs[keys.COULOMB_J]
    weight = tf.where(tf.equal(i, j), 0.5, 1.0)
    half = 0.5 * tf.cast(weight, charges.dtype) * tf.gather(charges, i) * tf.gather(charges, j) * tf.squeeze(
        inputs[keys.COULOMB_MATRIX], axis=-1)
    n_atoms = tf.shape(charges)[0]
    return tf.math.unsorted_segment_sum(half, i, n_atoms) + tf.math.unsorted_segment_sum(half, j, n_atoms)


def coulomb_potential(charges, inputs):
    """``(A q)_a = sum_b A_ab q_b`` (eV/e), the gradient of 1/2 qᵀ A q, from the flat
    upper-triangle Coulomb matrix (as :func:`coulomb_atomic_energies`).

    Args:
        charges: float [n_atoms], e.
        inputs: flat batch with ``keys.COULOMB_MATRIX`` [P, 1], ``keys.COULOMB_I``, ``keys.COULOMB_J``.

    Returns:
        float [n_atoms], eV/e.
    """
    i, j = inputs[keys.COULOMB_I], inputs[keys.COULOMB_J]
    entry = tf.squeeze(inputs[keys.COULOMB_MATRIX], axis=-1)
    off = tf.cast(tf.not_equal(i, j), charges.dtype)
    n_atoms = tf.shape(charges)[0]
    return (tf.math.unsorted_segment_sum(entry * tf.gather(charges, j), i, n_atoms)
            + tf.math.unsorted_segment_sum(off * entry * tf.gather(charges, i), j, n_atoms))
