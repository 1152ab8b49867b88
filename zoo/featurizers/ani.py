"""ANI atomic environment vectors (Smith, Isayev, Roitberg 2017) as model inputs: the AEV
itself (ANI) or its per-pair and per-triplet summands (AIMNet)."""

from __future__ import annotations

from descriptors.ani import AniParams, ani_aev, ani_terms
from zoo import keys
from zoo.featurizers.base import ParamsFeaturizer, jacobian_entries, register_featurizer


class _AniBase(ParamsFeaturizer):
    """Shared parameter handling of the two ANI featurizers."""

    params_class = AniParams

    @property
    def cutoff(self) -> float:
        return self.params.radial_cutoff


@register_featurizer
class AniFeaturizer(_AniBase):
    """ANI AEVs in two differentiable parts, :data:`keys.ANI_RADIAL` [n_atoms, E R] and
    :data:`keys.ANI_ANGULAR` [n_atoms, E(E+1)/2 A Z], each with its COO Jacobian (the
    angular rows reach only R_ca, so their Jacobian has fewer blocks).

    Args:
        params: the AEV parameters (its elements are the featurizer's elements).
    """

    jacobians = (keys.ANI_RADIAL_JACOBIAN, keys.ANI_ANGULAR_JACOBIAN)

    def featurize_structure(self, numbers, positions, cell, pbc):
        out = ani_aev(positions, numbers, cell, pbc, self.neighbors(positions, cell, pbc), self.params,
                      device=self.kernel_device)
        return {**jacobian_entries(keys.ANI_RADIAL_JACOBIAN, out.radial, out.radial_jac),
                **jacobian_entries(keys.ANI_ANGULAR_JACOBIAN, out.angular, out.angular_jac)}


@register_featurizer
class AniTermsFeaturizer(_AniBase):
    """The AEV summands before summation: :data:`keys.ANI_PAIR` [n_pairs, R] with centre
    and neighbour atoms, :data:`keys.ANI_TRIPLET` [n_triplets, A Z] with centre, j and k,
    each with its COO Jacobian. Not element-resolved: a model weights them by learned
    features of the neighbours (AIMNet).

    Args:
        params: the AEV parameters (its elements are the featurizer's elements).
    """

    jacobians = (keys.ANI_PAIR_JACOBIAN, keys.ANI_TRIPLET_JACOBIAN)

    @property
    def n_features(self) -> int:
        return len(self.params.radial_shifts) + self.params.n_angular_terms

    def featurize_structure(self, numbers, positions, cell, pbc):
        t = ani_terms(positions, numbers, cell, pbc, self.neighbors(positions, cell, pbc), self.params,
                      device=self.kernel_device)
        return {**jacobian_entries(keys.ANI_PAIR_JACOBIAN, t.pair, t.pair_jac),
                keys.ANI_PAIR_CENTRE: t.pair_centre, keys.ANI_PAIR_NEIGHBOR: t.pair_neighbor,
                **jacobian_entries(keys.ANI_TRIPLET_JACOBIAN, t.triplet, t.triplet_jac),
                keys.ANI_TRIPLET_CENTRE: t.triplet_centre, keys.ANI_TRIPLET_J: t.triplet_j,
                keys.ANI_TRIPLET_K: t.triplet_k}
