"""Atom-based high-dimensional neural network potential (2G HDNNP)."""

from __future__ import annotations

import tensorflow as tf

from descriptors.acsf import AcsfParams
from zoo import keys
from zoo.featurizers import AcsfFeaturizer
from zoo.layers import ElementMLP, group_statistics, standardize, statistics_weights
from zoo.layers.standardize import MIN_STD  # noqa: F401  (other models import it from here)
from zoo.potential import Potential
from zoo.registry import register


@register("hdnnp", generation="2G", descriptor="predefined",
          paper="J. Behler, M. Parrinello, Phys. Rev. Lett. 98, 146401 (2007)")
class HDNNP(Potential):
    """Behler–Parrinello HDNNP: one MLP per element on standardized ACSFs (review 3.2.1).

    ``E = sum_i E_{Z_i}(G_i)``: the atomic energy of atom i comes from the network of its
    element applied to its atom-centred symmetry functions G_i, standardized with the
    per-element mean and standard deviation of the training split (stored in the model).

    Args:
        elements: atomic numbers the model handles.
        cutoff: ACSF cutoff radius (Å), used when ``acsf`` is not given.
        acsf: explicit symmetry-function set (``AcsfParams.to_dict()``); default
            ``AcsfParams.auto(elements, cutoff)``.
        hidden: hidden-layer widths of each element network.
        activation: hidden activation (tanh as in Behler–Parrinello).
        **kwargs: loss weights and Keras options, see :class:`zoo.Potential`.
    """

    def __init__(self, elements, cutoff=6.0, acsf=None, hidden=(25, 25), activation="tanh", **kwargs):
        params = AcsfParams.from_dict(acsf) if acsf else AcsfParams.auto(tuple(elements), cutoff)
        super().__init__(featurizer=AcsfFeaturizer(params), **kwargs)
        self.hidden = tuple(int(h) for h in hidden)
        self.activation = activation
        n_elements, n_features = len(self.elements), params.n_features
        statistics_weights(self, n_elements, n_features)  # feature_mean, feature_std
        self.network = ElementMLP(n_elements, n_features, self.hidden, 1, activation,
                                  dtype=self.dtype_policy, name="element_networks")

    def atomic_outputs(self, inputs, training=False):
        element = inputs[keys.ELEMENT]
        scaled = standardize(inputs[keys.DESCRIPTORS], element, self.feature_mean, self.feature_std)
        return {keys.ATOMIC_ENERGIES: tf.squeeze(self.network(scaled, element), axis=-1)}

    def adapt_inputs(self, batch):
        mean, std = group_statistics(batch[keys.DESCRIPTORS], batch[keys.ELEMENT], len(self.elements))
        self.feature_mean.assign(mean)
        self.feature_std.assign(std)

    def get_config(self):
        params = self.featurizer.params
        return {**super().get_config(), "elements": list(self.elements), "cutoff": params.cutoff,
                "acsf": params.to_dict(), "hidden": list(self.hidden), "activation": self.activation}
