"""The one Jacobian contraction that gives every model its forces (docs/DESIGN.md)."""

import tensorflow as tf

from zoo import keys


def contract_jacobian(grad_values, item, atom, value, n_atoms):
    """``sum_{b: atom[b]=a} sum_k grad_values[item[b], k] * value[b, k, :]``.

    Args:
        grad_values: float [n_items, K], dE/d values.
        item: int [B], row of ``values`` of each Jacobian block.
        atom: int [B], atom of each block.
        value: float [B, K, 3], d values[item, :] / d positions[atom].
        n_atoms: scalar int, atoms in the batch.

    Returns:
        float [n_atoms, 3]: dE/d positions through these values.
    """
    per_block = tf.einsum("bk,bkc->bc", tf.gather(grad_values, item), value)
    return tf.math.unsorted_segment_sum(per_block, atom, n_atoms)


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
            total += contract_jacobian(grad, inputs[jac.item], inputs[jac.atom], inputs[jac.value], n_atoms)
    return total
