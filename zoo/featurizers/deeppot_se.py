"""DeepPot-SE environment-matrix rows (Zhang et al., NeurIPS 2018) as model inputs."""

from __future__ import annotations

from descriptors.deeppot_se import DeepPotSeParams, deeppot_se
from zoo import keys
from zoo.featurizers.base import ParamsFeaturizer, jacobian_entries, register_featurizer


@register_featurizer
class DeepPotSeFeaturizer(ParamsFeaturizer):
    """Environment-matrix rows of the filled slots [n_rows, 4] with their COO Jacobian
    (:data:`keys.ENV_MATRIX`), plus each row's centre, neighbour element and slot.

    Args:
        params: the environment matrix (its elements are the featurizer's elements).
    """

    params_class = DeepPotSeParams
    jacobians = (keys.ENV_MATRIX_JACOBIAN,)

    @property
    def n_features(self) -> int:
        """Columns of a row: (s, s x/r, s y/r, s z/r)."""
        return 4

    def featurize_structure(self, numbers, positions, cell, pbc):
        values, jac, rows = deeppot_se(positions, numbers, cell, pbc, self.neighbors(positions, cell, pbc),
                                       self.params, device=self.kernel_device)
        return {**jacobian_entries(keys.ENV_MATRIX_JACOBIAN, values, jac), keys.ENV_MATRIX_CENTRE: rows.centre,
                keys.ENV_MATRIX_NEIGHBOR_ELEMENT: rows.neighbor_element, keys.ENV_MATRIX_SLOT: rows.slot}
