"""Atom-centred symmetry functions (Behler 2011) as model inputs."""

from __future__ import annotations

from descriptors.acsf import AcsfParams, acsf
from zoo import keys
from zoo.featurizers.base import ParamsFeaturizer, jacobian_entries, register_featurizer


@register_featurizer
class AcsfFeaturizer(ParamsFeaturizer):
    """ACSF values [n_atoms, K] and their COO Jacobian under :data:`keys.DESCRIPTORS`.

    Args:
        params: the symmetry-function set (:class:`descriptors.acsf.AcsfParams`; its
            elements are the featurizer's elements).
    """

    params_class = AcsfParams
    jacobians = (keys.DESCRIPTORS_JACOBIAN,)

    def featurize_structure(self, numbers, positions, cell, pbc):
        values, jac = acsf(positions, numbers, cell, pbc, self.neighbors(positions, cell, pbc), self.params,
                           device=self.kernel_device)
        return jacobian_entries(keys.DESCRIPTORS_JACOBIAN, values, jac)
