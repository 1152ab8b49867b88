"""Hierarchically interacting particle neural network (HIP-NN): an energy built order by
order from interaction layers (2G, learnable descriptors)."""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo import keys
from zoo.featurizers import DistanceFeaturizer
from zoo.layers import InverseGaussianSensitivity, built_dense, contiguous_slots, slot_layout, to_slots
from zoo.potential import Potential
from zoo.registry import register


@register("hipnn", generation="2G", descriptor="learnable",
          paper="N. Lubbers, J. S. Smith, K. Barros, J. Chem. Phys. 148, 241715 (2018)")
class HIPNN(Potential):
    """HIP-NN: hierarchical energy E = E⁰ + E¹ + E² + ... from interaction blocks (review 3.3).

    Lubbers, Smith, Barros 2018; review Kocer, Ko, Behler 2022, Eq. 9. Atom features start
    as the one-hot encoding of the element, z_i^0. Block n = 1 .. N is one interaction
    layer followed by ``n_onsite`` on-site layers:

        z_i^a <- f( sum_{ν,b} sum_{j ∈ N(i)} s_ν(d_ij) W^{ν,ab} z_j^b + sum_b W_self^{ab} z_i^b + B^a ),
        z_i <- f(W z_i + B)   (on-site, ``n_onsite`` times),

    with sensitivities ``s_ν(d) = exp(-(d⁻¹ - μ_ν⁻¹)² / (2 σ_ν⁻²)) cos²(π d / 2r_c)``
    (learnable μ_ν, σ_ν per interaction layer; :class:`zoo.layers.InverseGaussianSensitivity`)
    and f the softplus. Each block ends in a linear atomic-energy read-out ε_i^n, so the
    energy is the hierarchical sum (review Eq. 9)

        E = E⁰ + sum_{n=1}^{N} E^n,   E^n = sum_i ε_i^n,

    where E⁰ is the read-out of the one-hot input, i.e. one energy per element: here the
    least-squares composition baseline of the training split (the base class's
    ``element_energy``). ``predict`` returns the terms per structure as
    :data:`keys.HIERARCHICAL_ENERGIES` [n_structures, N + 1] and the hierarchicality
    :data:`keys.HIERARCHICALITY` [n_structures, N], ``R^n = (E^n)² / ((E^(n-1))² + ε)``,
    the ratio the paper's hierarchicality regularization penalizes; a trained HIP-NN has
    R^n << 1 (each order a correction to the one before). With ``hierarchicality_weight``
    > 0 the loss adds ``hierarchicality_weight · mean_{s,n} R^n_s`` (the paper's L_R).

    Deviations from the paper: E⁰ is fixed by least squares instead of trained with the
    network (with the energy scale of the base class on the E^n, n >= 1); the
    initialization of μ_ν, σ_ν (evenly spaced in 1/d) is ours; the paper's L2 weight
    regularization is left to the optimizer (e.g. AdamW weight decay).

    Args:
        elements: atomic numbers the model handles.
        cutoff: r_c (Å) of the neighbour list and the sensitivities.
        n_features: width of the interaction and on-site layers.
        n_interactions: N, interaction blocks (hierarchy orders beyond E⁰).
        n_onsite: on-site layers after each interaction layer.
        n_sensitivities: sensitivity functions ν per interaction layer.
        min_distance, max_distance: Å, range of the initial sensitivity centres μ_ν
            (default max: the cutoff).
        activation: the nonlinearity f.
        hierarchicality_weight: weight of the hierarchicality term of the loss.
        hierarchicality_epsilon: ε (eV²) of R^n.
        **kwargs: loss weights and Keras options, see :class:`zoo.Potential`.
    """

    def __init__(self, elements, cutoff=5.0, n_features=64, n_interactions=2, n_onsite=3, n_sensitivities=16,
                 min_distance=0.8, max_distance=None, activation="softplus", hierarchicality_weight=0.0,
                 hierarchicality_epsilon=1e-3, **kwargs):
        super().__init__(featurizer=DistanceFeaturizer(elements, cutoff), **kwargs)
        self.cutoff = float(cutoff)
        self.n_features, self.n_interactions = int(n_features), int(n_interactions)
        self.n_onsite, self.n_sensitivities = int(n_onsite), int(n_sensitivities)
        if min(self.n_features, self.n_interactions) < 1 or self.n_onsite < 0:
            raise ValueError(f"n_features and n_interactions must be >= 1 and n_onsite >= 0, received "
                             f"{n_features}, {n_interactions}, {n_onsite}")
        self.min_distance = float(min_distance)
        self.max_distance = float(self.cutoff if max_distance is None else max_distance)
        self.activation = activation
        if hierarchicality_weight < 0 or hierarchicality_epsilon <= 0:
            raise ValueError(f"need hierarchicality_weight >= 0 and hierarchicality_epsilon > 0 eV², received "
                             f"{hierarchicality_weight}, {hierarchicality_epsilon}")
        self.hierarchicality_weight = float(hierarchicality_weight)
        self.hierarchicality_epsilon = float(hierarchicality_epsilon)
        n_in = len(self.elements)
        self.blocks = []
        for n in range(self.n_interactions):
            self.blocks.append(self._block(n, n_in))
            n_in = self.n_features

    def _block(self, n, n_in):
        """Sensitivities, W^ν (stacked), W_self (with B), on-site layers and read-out of block n + 1."""
        f, dtype = self.n_features, self.dtype_policy
        return {
            "sensitivity": InverseGaussianSensitivity(self.n_sensitivities, self.min_distance, self.max_distance,
                                                      self.cutoff, dtype=dtype, name=f"b{n}_sensitivity"),
            "interaction": built_dense(self.n_sensitivities * n_in, f, use_bias=False, name=f"b{n}_interaction",
                                       dtype=dtype),
            "self": built_dense(n_in, f, name=f"b{n}_self", dtype=dtype),
            "onsite": [built_dense(f, f, self.activation, name=f"b{n}_onsite{k}", dtype=dtype)
                       for k in range(self.n_onsite)],
            "readout": built_dense(f, 1, name=f"b{n}_energy", dtype=dtype),
        }

    def atomic_outputs(self, inputs, training=False):
        distance = inputs[keys.PAIR_DISTANCE]
        centre, neighbor, element = inputs[keys.PAIR_CENTRE], inputs[keys.PAIR_NEIGHBOR], inputs[keys.ELEMENT]
        structure = inputs[keys.STRUCTURE]
        n_atoms, n_structures = tf.shape(element)[0], tf.shape(inputs[keys.N_ATOMS])[0]
        activation = keras.activations.get(self.activation)
        z = tf.one_hot(element, len(self.elements), dtype=distance.dtype)
        atomic, terms = 0.0, [tf.math.unsorted_segment_sum(tf.gather(self.element_energy, element), structure,
                                                            n_structures)]
        # Σ_j s_ν(r_ij) z_j as one batched product per atom over its pairs (not the sum of
        # [n_pairs, ν, b] outer products)
        layout = slot_layout(centre, contiguous_slots(centre, n_atoms), n_atoms)
        for block in self.blocks:
            s = block["sensitivity"](distance)                                       # [n_pairs, ν]
            env = tf.einsum("isv,isb->ivb", to_slots(s, layout), to_slots(tf.gather(z, neighbor), layout))
            env = tf.reshape(env, [n_atoms, self.n_sensitivities * z.shape[-1]])     # [n_atoms, ν b]
            z = activation(block["interaction"](env) + block["self"](z))
            for layer in block["onsite"]:
                z = layer(z)
            epsilon = tf.squeeze(block["readout"](z), axis=-1)                       # ε_i^n
            atomic += epsilon
            terms.append(self.energy_scale * tf.math.unsorted_segment_sum(epsilon, structure, n_structures))
        terms = tf.stack(terms, axis=1)                                              # [n_structures, N + 1]
        ratio = tf.square(terms[:, 1:]) / (tf.square(terms[:, :-1]) + self.hierarchicality_epsilon)
        return {keys.ATOMIC_ENERGIES: atomic, keys.HIERARCHICAL_ENERGIES: terms, keys.HIERARCHICALITY: ratio}

    def potential_loss(self, inputs, labels, out):
        loss = super().potential_loss(inputs, labels, out)
        if self.hierarchicality_weight > 0:
            loss += self.hierarchicality_weight * tf.reduce_mean(out[keys.HIERARCHICALITY])
        return loss

    def get_config(self):
        return {**super().get_config(), "elements": list(self.elements), "cutoff": self.cutoff,
                "n_features": self.n_features, "n_interactions": self.n_interactions, "n_onsite": self.n_onsite,
                "n_sensitivities": self.n_sensitivities, "min_distance": self.min_distance,
                "max_distance": self.max_distance, "activation": self.activation,
                "hierarchicality_weight": self.hierarchicality_weight,
                "hierarchicality_epsilon": self.hierarchicality_epsilon}
