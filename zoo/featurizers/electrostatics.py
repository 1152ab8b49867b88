"""Coulomb matrices and D2 dispersion energies as differentiable model inputs (review 4)."""

from __future__ import annotations

import numpy as np

from descriptors.coulomb import CoulombParams, coulomb_matrix, triangle_indices
from descriptors.d2 import D2Params, d2
from descriptors.neighbors import neighbor_list
from zoo import keys
from zoo.featurizers.base import Featurizer, check_min_distance, element_index, jacobian_entries, register_featurizer


@register_featurizer
class CoulombFeaturizer(Featurizer):
    """The Coulomb matrix A(R) (eV/e²) of a structure with its COO Jacobian.

    Emits ``keys.COULOMB_MATRIX`` [P, 1] (the upper triangle i <= j, P = n (n + 1) / 2),
    the atoms ``keys.COULOMB_I`` and ``keys.COULOMB_J`` of each entry, and the Jacobian
    under ``keys.COULOMB_JACOBIAN``. Molecules use the direct sum, 3-d periodic cells the
    Ewald sum (:mod:`descriptors.coulomb`, :mod:`descriptors.ewald`). Memory and time are
    O(n²) per structure (dense pairs); see :mod:`descriptors.coulomb` for where that stops
    being practical.

    Args:
        elements: atomic numbers.
        params: :class:`descriptors.coulomb.CoulombParams` (or its dict): damping kind,
            PhysNet shielding cutoff, Ewald accuracy.
        widths: Å, Gaussian charge width per element (in ``elements`` order); only with
            ``damping="gaussian"``.
    """

    jacobians = (keys.COULOMB_JACOBIAN,)

    def __init__(self, elements, params: CoulombParams | dict | None = None, widths=None):
        super().__init__(elements)
        if isinstance(params, dict):
            params = CoulombParams.from_dict(params)
        self.params = params or CoulombParams()
        if widths is not None:
            widths = tuple(float(w) for w in widths)
            if len(widths) != len(self.elements):
                raise ValueError(f"widths must give one width per element {self.elements}, received {widths}")
        self.widths = widths

    def featurize_structure(self, numbers, positions, cell, pbc):
        widths = None if self.widths is None else np.asarray(self.widths)[element_index(numbers, self.elements)]
        values, jac = coulomb_matrix(positions, cell, pbc, self.params, widths, device=self.kernel_device)
        i, j = triangle_indices(len(positions))
        return {keys.COULOMB_I: i, keys.COULOMB_J: j, **jacobian_entries(keys.COULOMB_JACOBIAN, values, jac)}

    def get_config(self) -> dict:
        return {"elements": list(self.elements), "params": self.params.to_dict(),
                "widths": None if self.widths is None else list(self.widths)}


@register_featurizer
class D2Featurizer(Featurizer):
    """Grimme D2 dispersion energy per atom (eV, s6 = 1) with its COO Jacobian.

    Emits ``keys.D2_ENERGIES`` [n_atoms, 1] and ``keys.D2_JACOBIAN``
    (:mod:`descriptors.d2`); a model multiplies by its s6 and adds them to its atomic
    energies. The global scaling is left to the model (``D2Params.s6`` is fixed to 1 here).

    Args:
        elements: atomic numbers (H to Xe).
        cutoff: Å, pairs beyond it are dropped.
        d: steepness of the damping function (20 in Grimme 2006).
    """

    jacobians = (keys.D2_JACOBIAN,)

    def __init__(self, elements, cutoff=15.0, d=20.0):
        super().__init__(elements)
        self.params = D2Params(s6=1.0, d=d, cutoff=cutoff)

    def featurize_structure(self, numbers, positions, cell, pbc):
        neighbors = neighbor_list(positions, cell, pbc, self.params.cutoff)
        check_min_distance(neighbors.distance, neighbors.i, neighbors.j)
        values, jac = d2(numbers, neighbors, self.params, device=self.kernel_device)
        return jacobian_entries(keys.D2_JACOBIAN, values, jac)

    def get_config(self) -> dict:
        return {"elements": list(self.elements), "cutoff": self.params.cutoff, "d": self.params.d}
