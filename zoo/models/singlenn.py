"""SingleNN: one network with shared hidden layers and element-specific outputs (2G)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from descriptors.wacsf import WacsfParams
from zoo import keys
from zoo.featurizers import WacsfFeaturizer
from zoo.layers import ElementMLP, group_statistics, standardize, statistics_weights
from zoo.potential import Potential
from zoo.registry import register


@register("singlenn", generation="2G", descriptor="predefined",
          paper="M. Liu, J. R. Kitchin, J. Phys. Chem. C 124, 17811 (2020)")
class SingleNN(Potential):
    """SingleNN: shared hidden layers for all elements, one output layer per element (review 3.2).

    ``E_i = w_{Z_i} . h(G_i) + b_{Z_i}``: every atom's input G_i goes through the same hidden
    layers h (one set of weights for all elements), and only the last, linear layer is
    element-specific (Liu & Kitchin: one network with an output per element, the atom taking
    the output of its element). The hidden layers learn a common map of all atoms'
    fingerprints into a latent space in which atomic energies are linear; the number of
    parameters grows by only ``hidden[-1] + 1`` per element. Inputs are wACSF
    (:mod:`descriptors.wacsf`), whose size does not depend on the number of elements either.

    Inputs are standardized with one mean and standard deviation over all atoms of the
    training split (not per element): the shared hidden layers are meant to apply one
    element-independent map, which per-element scaling would break.

    Deviations from the paper: the fingerprints are wACSF on an automatic grid
    (``WacsfParams.auto``) rather than the paper's symmetry-function set; the
    element-specific output is written as one linear layer per element
    (:class:`zoo.layers.ElementMLP` without hidden layers), equivalent to a multi-output last
    layer from which each atom takes its element's output.

    Args:
        elements: atomic numbers the model handles.
        cutoff: wACSF cutoff radius (Å), used when ``wacsf`` is not given.
        wacsf: explicit function set (``WacsfParams.to_dict()``); default
            ``WacsfParams.auto(elements, cutoff, n_radial, n_angular)``.
        n_radial: radial functions of the default grid.
        n_angular: angular shifts of the default grid (times 2 zetas times 2 lambdas).
        hidden: widths of the shared hidden layers (at least one).
        activation: hidden activation.
        **kwargs: loss weights and Keras options, see :class:`zoo.Potential`.
    """

    def __init__(self, elements, cutoff=6.0, wacsf=None, n_radial=24, n_angular=4, hidden=(40, 40),
                 activation="tanh", **kwargs):
        params = (WacsfParams.from_dict(wacsf) if wacsf
                  else WacsfParams.auto(tuple(elements), cutoff, n_radial=n_radial, n_angular=n_angular))
        super().__init__(featurizer=WacsfFeaturizer(params), **kwargs)
        self.hidden = tuple(int(h) for h in hidden)
        if not self.hidden:
            raise ValueError(f"SingleNN needs at least one shared hidden layer, received hidden={hidden!r}")
        self.activation = activation
        statistics_weights(self, 1, params.n_features)  # one group: all atoms
        self.shared = []
        width = params.n_features
        for k, h in enumerate(self.hidden):
            layer = keras.layers.Dense(h, activation=activation, name=f"shared_dense{k}", dtype=self.dtype_policy)
            layer.build((None, width))
            self.shared.append(layer)
            width = h
        self.outputs_per_element = ElementMLP(len(self.elements), width, (), 1, dtype=self.dtype_policy,
                                              name="element_outputs")

    def atomic_outputs(self, inputs, training=False):
        x = inputs[keys.DESCRIPTORS]
        h = standardize(x, tf.zeros_like(inputs[keys.ELEMENT]), self.feature_mean, self.feature_std)
        for layer in self.shared:
            h = layer(h)
        return {keys.ATOMIC_ENERGIES: tf.squeeze(self.outputs_per_element(h, inputs[keys.ELEMENT]), axis=-1)}

    def adapt_inputs(self, batch):
        values = batch[keys.DESCRIPTORS]
        mean, std = group_statistics(values, np.zeros(len(values), np.int64), 1)
        self.feature_mean.assign(mean)
        self.feature_std.assign(std)

    def get_config(self):
        params = self.featurizer.params
        return {**super().get_config(), "elements": list(self.elements), "cutoff": params.cutoff,
                "wacsf": params.to_dict(), "hidden": list(self.hidden), "activation": self.activation}
