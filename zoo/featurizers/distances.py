"""Pair distances of a full neighbour list as model inputs (message-passing models, review 3.3)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from descriptors.distances import all_pairs, pair_distances
from descriptors.neighbors import neighbor_list
from zoo import keys
from zoo.featurizers.base import Featurizer, check_min_distance, jacobian_entries, register_featurizer


@register_featurizer
class DistanceFeaturizer(Featurizer):
    """Distances [n_pairs, 1] of every neighbour entry with their COO Jacobian
    (:data:`keys.PAIR_DISTANCE_JACOBIAN`), plus each entry's centre and neighbour atom
    (:data:`keys.PAIR_CENTRE`, :data:`keys.PAIR_NEIGHBOR`, offset into the batch).

    The neighbour list is full (both (i, j) and (j, i)); periodic images within the cutoff
    are separate entries, so a message-passing model sees a periodic crystal as it is.

    Args:
        elements: atomic numbers the model handles.
        cutoff: Å; None takes every pair of a non-periodic structure (no cutoff), and
            rejects periodic ones.
    """

    jacobians = (keys.PAIR_DISTANCE_JACOBIAN,)

    def __init__(self, elements, cutoff: float | None = 5.0):
        super().__init__(elements)
        if cutoff is not None:
            if not isinstance(cutoff, numbers.Real) or not math.isfinite(cutoff) or cutoff <= 0:
                raise ValueError(f"cutoff must be a finite number > 0 Å or None (all pairs), received {cutoff!r}")
            cutoff = float(cutoff)
        self.cutoff = cutoff

    @property
    def n_features(self) -> int:
        return 1

    def featurize_structure(self, numbers, positions, cell, pbc):
        if self.cutoff is None:
            if np.any(pbc):
                raise ValueError(f"cutoff=None (all pairs) is for molecules, received a structure with "
                                 f"pbc={np.asarray(pbc).tolist()}; give the model a cutoff in Å")
            neighbors = all_pairs(positions)
        else:
            neighbors = neighbor_list(positions, cell, pbc, self.cutoff)
        check_min_distance(neighbors.distance, neighbors.i, neighbors.j)
        values, jac, centre, neighbor = pair_distances(neighbors, len(positions), self.cutoff,
                                                                  device=self.kernel_device)
        return {**jacobian_entries(keys.PAIR_DISTANCE_JACOBIAN, values, jac), keys.PAIR_CENTRE: centre,
                keys.PAIR_NEIGHBOR: neighbor}

    def get_config(self) -> dict:
        return {"elements": list(self.elements), "cutoff": self.cutoff}
