"""The one Jacobian contraction that gives every model its forces (docs/DESIGN.md)."""

import tensorflow as tf

from zoo import keys


def contract_jacobian(grad_values, item, atom, value, n_atoms, partner=None):
    """``sum_{b: atom[b]=a} sum_k grad_values[item[b], k] * value[b, k, :]``, minus the same
    sum over the blocks whose ``partner`` is a (pair blocks).

    Args:
        grad_values: float [n_items, K], dE/d values.
        item: int [B], row of ``values`` of each Jacobian block.
        atom: int [B], atom of each block.
        value: float [B, K, 3], d values[item, :] / d positions[atom].
        n_atoms: scalar int, atoms in the batch.
        partner: int [B], the atom that gets -value of each block, or None.

    Returns:
        float [n_atoms, 3]: dE/d positions through these values.
    """
    return _sum_blocks_to_atoms(block_gradients(grad_values, item, value), atom, n_atoms, partner)


def block_gradients(grad_values, item, value):
    """float [B, 3]: ``sum_k grad_values[item[b], k] * value[b, k, :]``, each block's share
    of dE/d positions (before it is summed to atoms or to the virial)."""
    return tf.einsum("bk,bkc->bc", tf.gather(grad_values, item), value)


def _sum_blocks_to_atoms(per_block, atom, n_atoms, partner):
    gradient = tf.math.unsorted_segment_sum(per_block, atom, n_atoms)
    if partner is not None:
        gradient -= tf.math.unsorted_segment_sum(per_block, partner, n_atoms)
    return gradient


def _sum_blocks_to_virial(per_block, atom, displacement, structure, n_structures):
    outer = per_block[:, :, None] * displacement[:, None, :]
    return tf.math.unsorted_segment_sum(outer, tf.gather(structure, atom), n_structures)


def contract_virial(grad_values, item, atom, value, displacement, structure, n_structures):
    """dE/d strain per structure: ``sum_b (sum_k grad_values[item[b], k] * value[b, k, :]) ⊗ displacement[b]``.

    The strain ε scales positions and cell by (1 + ε); a row that depends on positions
    only through differences changes by ``sum_b value_b ⊗ displacement_b`` (docs/DESIGN.md,
    "Block displacements give the virial"; :func:`descriptors.jacobian.strain_derivative`).

    Args:
        grad_values: float [n_items, K], dE/d values.
        item: int [B], row of ``values`` of each Jacobian block.
        atom: int [B], atom of each block.
        value: float [B, K, 3], d values[item, :] / d positions[atom].
        displacement: float [B, 3], Å, the block atom's image relative to the row's reference atom.
        structure: int [n_atoms], structure of each atom.
        n_structures: scalar int, structures in the batch.

    Returns:
        float [n_structures, 3, 3], eV: ``[s, a, c] = dE_s / d ε_ac``.
    """
    return _sum_blocks_to_virial(block_gradients(grad_values, item, value), atom, displacement, structure,
                                 n_structures)


def _partner(inputs, jac: keys.JacobianKeys):
    """The pair-block partners of ``jac`` in ``inputs``, or None for a Jacobian without them."""
    return None if jac.partner is None else inputs[jac.partner]


def energy_gradient(energy, inputs, jacobians: tuple[keys.JacobianKeys, ...], tape):
    """dE/d positions [n_atoms, 3] summed over all differentiable inputs of a featurizer.

    Args:
        energy: float [n_structures], computed under ``tape`` from ``inputs``.
        inputs: the flat batch; the values of each Jacobian must be watched by ``tape``.
        jacobians: the featurizer's :class:`zoo.keys.JacobianKeys`.
        tape: the ``tf.GradientTape`` that recorded ``energy``.
    """
    n_atoms = tf.shape(inputs[keys.ELEMENT])[0]
    grads = tape.gradient(energy, [inputs[j.values] for j in jacobians])
    total = 0.0
    for jac, grad in zip(jacobians, grads):
        if grad is not None:  # an input the energy does not depend on contributes nothing
            total += contract_jacobian(grad, inputs[jac.item], inputs[jac.atom], inputs[jac.value], n_atoms,
                                       _partner(inputs, jac))
    return total


def energy_gradient_and_virial(energy, inputs, jacobians: tuple[keys.JacobianKeys, ...], tape):
    """dE/d positions [n_atoms, 3] and dE/d strain [n_structures, 3, 3] from one gradient.

    Arguments as :func:`energy_gradient`; ``inputs`` must also hold each Jacobian's
    ``displacement`` and ``keys.STRUCTURE``, ``keys.N_ATOMS``.
    """
    n_atoms = tf.shape(inputs[keys.ELEMENT])[0]
    n_structures = tf.shape(inputs[keys.N_ATOMS])[0]
    grads = tape.gradient(energy, [inputs[j.values] for j in jacobians])
    gradient, virial = 0.0, 0.0
    for jac, grad in zip(jacobians, grads):
        if grad is not None:
            # one product per block for both sums
            per_block = block_gradients(grad, inputs[jac.item], inputs[jac.value])
            atom = inputs[jac.atom]
            gradient += _sum_blocks_to_atoms(per_block, atom, n_atoms, _partner(inputs, jac))
            virial += _sum_blocks_to_virial(per_block, atom, inputs[jac.displacement], inputs[keys.STRUCTURE],
                                            n_structures)
    return gradient, virial
