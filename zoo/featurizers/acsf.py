"""Atom-centred symmetry functions (Behler 2011) as model inputs."""

from __future__ import annotations

import numpy as np

from descriptors.acsf import AcsfParams, acsf
from descriptors.neighbors import neighbor_list
from zoo import keys
from zoo.featurizers.base import Featurizer, check_min_distance, register_featurizer


@register_featurizer
class AcsfFeaturizer(Featurizer):
    """ACSF values [n_atoms, K] and their COO Jacobian under :data:`keys.DESCRIPTORS`.

    Args:
        params: the symmetry-function set (its elements are the featurizer's elements).
    """

    jacobians = (keys.DESCRIPTORS_JACOBIAN,)

    def __init__(self, params: AcsfParams | dict):
        if isinstance(params, dict):
            params = AcsfParams.from_dict(params)
        super().__init__(params.elements)
        self.params = params

    @property
    def n_features(self) -> int:
        return self.params.n_features

    @property
    def cutoff(self) -> float:
        return self.params.cutoff

    def featurize_structure(self, numbers, positions, cell, pbc):
        neighbors = neighbor_list(positions, cell, pbc, self.params.cutoff)
        check_min_distance(neighbors.distance, neighbors.i, neighbors.j)
        values, jac = acsf(positions, numbers, cell, pbc, neighbors, self.params)
        jk = keys.DESCRIPTORS_JACOBIAN
        return {jk.values: values, jk.item: jac.item, jk.atom: jac.atom, jk.value: jac.value,
                jk.displacement: jac.displacement}

    def get_config(self) -> dict:
        return {"params": self.params.to_dict()}
