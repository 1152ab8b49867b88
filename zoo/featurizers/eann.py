"""EANN Gaussian-type orbitals of neighbour pairs (Zhang, Hu, Jiang 2019) as model inputs."""

from __future__ import annotations

import numpy as np

from descriptors.eann import EannParams, eann
from zoo import keys
from zoo.featurizers.base import ParamsFeaturizer, jacobian_entries, register_featurizer


@register_featurizer
class EannFeaturizer(ParamsFeaturizer):
    """Orbital factor rows [n_pairs, A + R] (angular monomials, radial factors) with their
    COO Jacobian (:data:`keys.GTO`), plus each row's centre, neighbour element and place
    among its centre's rows (:data:`keys.GTO_SLOT`).

    Args:
        params: the orbitals (its elements are the featurizer's elements).
    """

    params_class = EannParams
    jacobians = (keys.GTO_JACOBIAN,)

    def featurize_structure(self, numbers, positions, cell, pbc):
        values, jac, centre, neighbor_element = eann(positions, numbers, cell, pbc,
                                                     self.neighbors(positions, cell, pbc), self.params,
                                                     device=self.kernel_device)
        return {**jacobian_entries(keys.GTO_JACOBIAN, values, jac), keys.GTO_CENTRE: centre,
                keys.GTO_NEIGHBOR_ELEMENT: neighbor_element, keys.GTO_SLOT: rank_within(centre)}


def rank_within(groups: np.ndarray) -> np.ndarray:
    """int64 [n]: the place of each entry among the entries of its group, in order (0, 1, ...)."""
    order = np.argsort(groups, kind="stable")
    ordered = groups[order]
    rank = np.empty(len(groups), np.int64)
    rank[order] = np.arange(len(groups)) - np.searchsorted(ordered, ordered)
    return rank
