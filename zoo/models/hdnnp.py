"""Atom-based high-dimensional neural network potential (2G HDNNP)."""

from __future__ import annotations

from descriptors.acsf import AcsfParams
from zoo.atomwise import AtomwisePotential
from zoo.featurizers import AcsfFeaturizer
from zoo.registry import register


@register("hdnnp", generation="2G", descriptor="predefined",
          paper="J. Behler, M. Parrinello, Phys. Rev. Lett. 98, 146401 (2007)")
class HDNNP(AtomwisePotential):
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
        super().__init__(AcsfFeaturizer(params), params.n_features, hidden, activation, **kwargs)

    def get_config(self):
        params = self.featurizer.params
        return {**super().get_config(), "cutoff": params.cutoff, "acsf": params.to_dict()}
