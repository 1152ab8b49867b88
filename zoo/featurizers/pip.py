"""Permutation invariant polynomials of Morse variables (PIP-NN, Jiang & Guo 2013) as inputs."""

from __future__ import annotations

import math
import numbers as _numbers

from descriptors.pip import PipBasis, pip
from zoo import keys
from zoo.featurizers.base import jacobian_entries, register_featurizer
from zoo.featurizers.internal import MoleculeFeaturizer


@register_featurizer
class PipFeaturizer(MoleculeFeaturizer):
    """The PIP basis of one molecule as one row [1, n_basis], with its Jacobian
    (:data:`keys.PIP_JACOBIAN`, one block per atom).

    The basis (every orbit sum of monomials up to ``degree`` under the permutations of like
    atoms, :meth:`descriptors.pip.PipBasis.generate`) is regenerated from ``numbers`` and
    ``degree``, deterministically, so the config stays small.

    Args:
        elements: atomic numbers the model handles.
        numbers: the molecule's atomic numbers in atom order (None: not fixed yet).
        degree: largest total degree of the monomials.
        morse_range: a in y_ij = exp(-r_ij / a), Å.
    """

    jacobians = (keys.PIP_JACOBIAN,)

    def __init__(self, elements, numbers=None, degree: int = 3, morse_range: float = 1.5):
        super().__init__(elements, numbers)
        if not isinstance(degree, _numbers.Integral) or degree < 1:
            raise ValueError(f"degree must be an integer >= 1, received {degree!r}")
        if not isinstance(morse_range, _numbers.Real) or not math.isfinite(morse_range) or morse_range <= 0:
            raise ValueError(f"morse_range must be a finite number > 0 Å, received {morse_range!r}")
        self.degree = int(degree)
        self.morse_range = float(morse_range)
        self.basis = None if self.numbers is None else PipBasis.generate(self.numbers, self.degree)

    @property
    def n_features(self) -> int:
        if self.basis is None:
            raise ValueError("n_features is not known before the molecule is fixed (numbers=None)")
        return self.basis.n_basis

    def molecule_inputs(self, positions):
        return jacobian_entries(keys.PIP_JACOBIAN, *pip(positions, self.basis, self.morse_range,
                                                              device=self.kernel_device))

    def get_config(self) -> dict:
        return {**super().get_config(), "degree": self.degree, "morse_range": self.morse_range}
