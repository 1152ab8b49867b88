"""HDNNP on weighted atom-centred symmetry functions (wACSF-HDNNP, 2G)."""

from __future__ import annotations

from descriptors.wacsf import WacsfParams
from zoo.atomwise import AtomwisePotential
from zoo.featurizers import WacsfFeaturizer
from zoo.registry import register


@register("wacsf_hdnnp", generation="2G", descriptor="predefined",
          paper="M. Gastegger, L. Schwiedrzik, M. Bittermann, F. Berzsenyi, P. Marquetand, "
                "J. Chem. Phys. 148, 241709 (2018)")
class WacsfHDNNP(AtomwisePotential):
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
        super().__init__(WacsfFeaturizer(params), params.n_features, hidden, activation, **kwargs)

    def get_config(self):
        params = self.featurizer.params
        return {**super().get_config(), "cutoff": params.cutoff, "wacsf": params.to_dict()}
