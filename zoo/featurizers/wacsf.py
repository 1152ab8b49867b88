"""Weighted atom-centred symmetry functions (Gastegger et al. 2018) as model inputs."""

from __future__ import annotations

from descriptors.wacsf import WacsfParams, wacsf
from zoo import keys
from zoo.featurizers.base import ParamsFeaturizer, jacobian_entries, register_featurizer


@register_featurizer
class WacsfFeaturizer(ParamsFeaturizer):
    """wACSF values [n_atoms, K] and their COO Jacobian under :data:`keys.DESCRIPTORS`.

    The same keys as :class:`zoo.featurizers.AcsfFeaturizer` (both are atom-centred
    descriptor rows), so any atom-wise model can take either.

    Args:
        params: the weighted symmetry functions (their elements are the featurizer's).
    """

    params_class = WacsfParams
    jacobians = (keys.DESCRIPTORS_JACOBIAN,)

    def featurize_structure(self, numbers, positions, cell, pbc):
        values, jac = wacsf(positions, numbers, cell, pbc, self.neighbors(positions, cell, pbc), self.params,
                            device=self.kernel_device)
        return jacobian_entries(keys.DESCRIPTORS_JACOBIAN, values, jac)
