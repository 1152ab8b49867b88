"""Pair symmetry functions (Jose, Artrith, Behler 2012) as model inputs: one row per pair.

Pair rows are items of their own, not atoms: besides the values and their Jacobian the
featurizer gives each row's two atoms (``PAIR_SF_I``, ``PAIR_SF_J``, offset into the batch
like atom indices, so a model can attribute pair energies to atoms) and its unordered
element-pair type (``PAIR_SF_TYPE``, which network a row goes to).
"""

from __future__ import annotations

import numpy as np

from descriptors.pair_sf import PairSfParams, pair_sf
from zoo import keys
from zoo.featurizers.base import ParamsFeaturizer, element_index, jacobian_entries, register_featurizer


@register_featurizer
class PairSfFeaturizer(ParamsFeaturizer):
    """Pair symmetry functions [n_pairs, K] of every unordered pair closer than the pair
    cutoff, their COO Jacobian (:data:`keys.PAIR_SF_JACOBIAN`), the pairs' atoms and types.

    Args:
        params: the pair symmetry functions (their elements are the featurizer's).
    """

    params_class = PairSfParams
    jacobians = (keys.PAIR_SF_JACOBIAN,)

    @property
    def cutoff(self) -> float:
        """Å, the neighbour-list cutoff: the larger of the pair and environment cutoffs."""
        return max(self.params.pair_cutoff, self.params.cutoff)

    def featurize_structure(self, numbers, positions, cell, pbc):
        values, jac, pairs = pair_sf(positions, numbers, cell, pbc, self.neighbors(positions, cell, pbc),
                                     self.params, device=self.kernel_device)
        element = element_index(np.asarray(numbers), self.elements)
        pair_type = np.asarray(self.params.pair_type(element[pairs.i], element[pairs.j]), np.int64)
        return {**jacobian_entries(keys.PAIR_SF_JACOBIAN, values, jac), keys.PAIR_SF_I: pairs.i,
                keys.PAIR_SF_J: pairs.j, keys.PAIR_SF_TYPE: pair_type}
