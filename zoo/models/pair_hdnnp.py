"""Pair-based high-dimensional neural network potential (pair HDNNP, 2G)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from descriptors.pair_sf import PairSfParams
from zoo import keys
from zoo.featurizers import PairSfFeaturizer
from zoo.layers import ElementMLP, group_statistics, standardize, statistics_weights
from zoo.potential import Potential
from zoo.registry import register


@register("pair_hdnnp", generation="2G", descriptor="predefined",
          paper="K. V. J. Jose, N. Artrith, J. Behler, J. Chem. Phys. 136, 194111 (2012)")
class PairHDNNP(Potential):
    """Pair HDNNP: E = sum over atom pairs of E_ij from one network per element pair (review Eq. 5).

    ``E = sum_{i<j} E_ij = 1/2 sum_i sum_{j != i} E_ij``. Each unordered pair closer than the
    pair cutoff r_p is a row of pair symmetry functions G_ij (:mod:`descriptors.pair_sf`:
    the pair distance and the third atoms within the cutoff of both atoms, symmetric in i
    and j); the network of the pair's element combination (Cu–Cu, Cu–Au, ...) maps the
    row, standardized with the statistics of that pair type over the training split, to
    the pair energy

        E_ij = f_p(r_ij) NN_{Z_i Z_j}(G_ij) / c

    where f_p (column 0 of G_ij) is the cutoff function at r_p and c a constant (below).

    Atomic energies (which the base class scales and shifts by the per-element baseline):
    each pair energy is split half to each of its two atoms, E_i = 1/2 sum_j E_ij, so that
    sum_i E_i = sum_{i<j} E_ij and :class:`zoo.Potential`'s baseline and energy scale work
    unchanged. The output ``keys.PAIR_ENERGIES`` gives E_ij in eV (scaled, no baseline).

    Deviations from the paper: the factor f_p(r_ij) (ours) makes the energy and the forces
    continuous when a pair crosses r_p (the network output alone jumps there); c, the mean
    of sum_j f_p(r_ij) / 2 per atom on the training split, makes an atomic energy a weighted
    mean rather than a sum of about c pair outputs (a constant factor the network could
    absorb, chosen only for the conditioning of training); the pair symmetry functions use
    our parameter grid (``PairSfParams.auto``).

    Args:
        elements: atomic numbers the model handles.
        pair_cutoff: r_p (Å): pairs closer than this have an energy.
        cutoff: r_c (Å): third atoms within r_c of both atoms describe a pair.
        pair_sf: explicit functions (``PairSfParams.to_dict()``); default
            ``PairSfParams.auto(elements, pair_cutoff, cutoff)``.
        hidden: hidden-layer widths of each pair-type network.
        activation: hidden activation.
        **kwargs: loss weights and Keras options, see :class:`zoo.Potential`.
    """

    def __init__(self, elements, pair_cutoff=3.5, cutoff=4.5, pair_sf=None, hidden=(25, 25), activation="tanh",
                 **kwargs):
        params = PairSfParams.from_dict(pair_sf) if pair_sf else PairSfParams.auto(tuple(elements), pair_cutoff,
                                                                                   cutoff)
        super().__init__(featurizer=PairSfFeaturizer(params), **kwargs)
        self.hidden = tuple(int(h) for h in hidden)
        self.activation = activation
        n_types, n_features = params.n_pair_types, params.n_features
        statistics_weights(self, n_types, n_features)  # feature_mean, feature_std per pair type
        self.pair_norm = self.add_weight(shape=(), initializer="ones", trainable=False, name="pair_norm")
        self.network = ElementMLP(n_types, n_features, self.hidden, 1, activation, dtype=self.dtype_policy,
                                  name="pair_networks")

    def atomic_outputs(self, inputs, training=False):
        values, pair_type = inputs[keys.PAIR_SF], inputs[keys.PAIR_SF_TYPE]
        scaled = standardize(values, pair_type, self.feature_mean, self.feature_std)
        pair = tf.squeeze(self.network(scaled, pair_type), axis=-1) * values[:, 0] / self.pair_norm
        half = 0.5 * pair
        atoms = tf.concat([inputs[keys.PAIR_SF_I], inputs[keys.PAIR_SF_J]], axis=0)
        atomic = tf.math.unsorted_segment_sum(tf.concat([half, half], axis=0), atoms,
                                              tf.shape(inputs[keys.ELEMENT])[0])
        return {keys.ATOMIC_ENERGIES: atomic, keys.PAIR_ENERGIES: self.energy_scale * pair}

    def adapt_inputs(self, batch):
        values = np.asarray(batch[keys.PAIR_SF], np.float64)
        mean, std = group_statistics(values, batch[keys.PAIR_SF_TYPE], self.featurizer.params.n_pair_types)
        self.feature_mean.assign(mean)
        self.feature_std.assign(std)
        n_atoms = len(batch[keys.ELEMENT])
        if len(values) and n_atoms:
            self.pair_norm.assign(max(float(values[:, 0].sum()) / n_atoms, 1e-3))

    def get_config(self):
        params = self.featurizer.params
        return {**super().get_config(), "elements": list(self.elements), "pair_cutoff": params.pair_cutoff,
                "cutoff": params.cutoff, "pair_sf": params.to_dict(), "hidden": list(self.hidden),
                "activation": self.activation}
