"""DPMD local-frame slot rows (Zhang et al. 2018) as model inputs."""

from __future__ import annotations

from descriptors.dpmd import DpmdParams, dpmd
from zoo import keys
from zoo.featurizers.base import ParamsFeaturizer, jacobian_entries, register_featurizer


@register_featurizer
class DpmdFeaturizer(ParamsFeaturizer):
    """DPMD slot rows [n_atoms * n_slots, 4] and their COO Jacobian under :data:`keys.DPMD_SLOTS`.

    Row ``atom * n_slots + slot`` (layout of :mod:`descriptors.dpmd`); the model reshapes to
    [n_atoms, 4 n_slots] and keeps ``params.dense_columns()``.

    Args:
        params: the slots (its elements are the featurizer's elements).
    """

    params_class = DpmdParams
    jacobians = (keys.DPMD_JACOBIAN,)

    def featurize_structure(self, numbers, positions, cell, pbc):
        values, jac = dpmd(positions, numbers, cell, pbc, self.neighbors(positions, cell, pbc), self.params,
                           device=self.kernel_device)
        return jacobian_entries(keys.DPMD_JACOBIAN, values, jac)
