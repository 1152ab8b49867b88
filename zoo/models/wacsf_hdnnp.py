"""HDNNP on weighted atom-centred symmetry functions (wACSF-HDNNP, 2G)."""

from __future__ import annotations

import tensorflow as tf

from descriptors.wacsf import WacsfParams
from zoo import keys
from zoo.featurizers import WacsfFeaturizer
from zoo.layers import ElementMLP, group_statistics, standardize, statistics_weights
from zoo.potential import Potential
from zoo.registry import register


@register("wacsf_hdnnp", generation="2G", descriptor="predefined",
          paper="M. Gastegger, L. Schwiedrzik, M. Bittermann, F. Berzsenyi, P. Marquetand, "
                "J. Chem. Phys. 148, 241709 (2018)")
class WacsfHDNNP(Potential):
    """Behler–Parrinello HDNNP on weighted ACSFs: input size independent of the elements (review 3.2).

    ``E = sum_i E_{Z_i}(W_i)``: one MLP per element, as :class:`zoo.models.hdnnp.HDNNP`, but
    the input of atom i is its wACSF vector W_i (:mod:`descriptors.wacsf`), in which
    neighbours of all elements add into the same columns with element weights w(Z) (atomic
    numbers by default). An element-resolved ACSF set needs E radial and E (E + 1) / 2
    angular blocks for E elements; wACSF need one of each, so the input size, and the
    first-layer weights, do not grow with the number of elements. Inputs are standardized
    with per-element statistics of the training split, as in the HDNNP.

    Deviation from the paper: the automatic parameter grid (``WacsfParams.auto``: evenly
    spaced shifted radial and angular Gaussians) stands in for the paper's hand-chosen sets.

    Args:
        elements: atomic numbers the model handles.
        cutoff: wACSF cutoff radius (Å), used when ``wacsf`` is not given.
        wacsf: explicit function set (``WacsfParams.to_dict()``); default
            ``WacsfParams.auto(elements, cutoff, n_radial, n_angular)``.
        n_radial: radial functions of the default grid.
        n_angular: angular shifts of the default grid (times 2 zetas times 2 lambdas).
        hidden: hidden-layer widths of each element network.
        activation: hidden activation (tanh as in Behler–Parrinello).
        **kwargs: loss weights and Keras options, see :class:`zoo.Potential`.
    """

    def __init__(self, elements, cutoff=6.0, wacsf=None, n_radial=24, n_angular=4, hidden=(25, 25),
                 activation="tanh", **kwargs):
        params = (WacsfParams.from_dict(wacsf) if wacsf
                  else WacsfParams.auto(tuple(elements), cutoff, n_radial=n_radial, n_angular=n_angular))
        super().__init__(featurizer=WacsfFeaturizer(params), **kwargs)
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
                "wacsf": params.to_dict(), "hidden": list(self.hidden), "activation": self.activation}
