"""The Behler–Parrinello pattern shared by atom-wise 2G models: one network per element on
atom-centred descriptors standardized with per-element training statistics.

HDNNP (ACSF), wACSF-HDNNP, ANI (AEV) and DPMD (local-frame descriptor) differ only in their
featurizer and in how a descriptor row [n_atoms, K] is read from the batch; everything else
(statistics, standardization, element networks) is here once.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo import keys
from zoo.layers import ElementMLP, group_statistics, standardize, statistics_weights
from zoo.potential import Potential


class AtomwisePotential(Potential):
    """``E = sum_i E_{Z_i}((G_i - mean_{Z_i}) / std_{Z_i})``: per-element networks on
    standardized descriptor rows (review 3.2.1). Not registered itself.

    Subclasses pass their featurizer and may override :meth:`descriptor_rows` (tensors) and
    :meth:`descriptor_array` (numpy, for the statistics) when the rows are not
    ``keys.DESCRIPTORS``.

    Args:
        featurizer: the model's featurizer.
        n_features: K, columns of a descriptor row.
        hidden: hidden-layer widths of each element network.
        activation: hidden activation (a Keras activation identifier).
        network_name: name of the element networks (part of the saved weights' paths).
        **kwargs: loss weights and Keras options, see :class:`zoo.Potential`.
    """

    def __init__(self, featurizer, n_features, hidden, activation, network_name="element_networks", **kwargs):
        super().__init__(featurizer=featurizer, **kwargs)
        self.hidden = tuple(int(h) for h in hidden)
        self.activation = activation
        statistics_weights(self, len(self.elements), int(n_features))  # feature_mean, feature_std
        self.network = ElementMLP(len(self.elements), int(n_features), self.hidden, 1, self.network_activation(),
                                  dtype=self.dtype_policy, name=network_name)

    def network_activation(self):
        """What ElementMLP gets for ``activation`` (a subclass may map its own names)."""
        return self.activation

    def descriptor_rows(self, inputs):
        """float [n_atoms, K] from the flat batch."""
        return inputs[keys.DESCRIPTORS]

    def descriptor_array(self, batch) -> np.ndarray:
        """The same rows as numpy, from a statistics batch."""
        return np.asarray(batch[keys.DESCRIPTORS], np.float64)

    def atomic_outputs(self, inputs, training=False):
        element = inputs[keys.ELEMENT]
        scaled = standardize(self.descriptor_rows(inputs), element, self.feature_mean, self.feature_std)
        return {keys.ATOMIC_ENERGIES: tf.squeeze(self.network(scaled, element), axis=-1)}

    def adapt_inputs(self, batch):
        mean, std = group_statistics(self.descriptor_array(batch), batch[keys.ELEMENT], len(self.elements))
        self.feature_mean.assign(mean)
        self.feature_std.assign(std)

    def get_config(self):
        return {**super().get_config(), "elements": list(self.elements), "hidden": list(self.hidden),
                "activation": self.activation}
