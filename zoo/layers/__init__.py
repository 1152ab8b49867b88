"""Shared building blocks of the models: pure functions plus thin Keras layers."""

from zoo.layers.contraction import contract_jacobian, contract_virial, energy_gradient, energy_gradient_and_virial
from zoo.layers.element_mlp import ElementMLP, ResidualElementMLP
from zoo.layers.charges import coulomb_atomic_energies, coulomb_potential, neutralize
from zoo.layers.standardize import group_statistics, standardize, statistics_weights

__all__ = ["contract_jacobian", "contract_virial", "energy_gradient", "energy_gradient_and_virial", "ElementMLP",
           "ResidualElementMLP"]
__all__ += ["coulomb_atomic_energies", "coulomb_potential", "neutralize"]
__all__ += ["group_statistics", "standardize", "statistics_weights"]
from zoo.layers.activations import ShiftedSoftplus, shifted_softplus
from zoo.layers.pairs import PairSum, built_dense, contiguous_slots, pair_outer_sum, pair_sum, slot_layout, to_slots
from zoo.layers.radial import (CosineCutoff, GaussianExpansion, InverseGaussianSensitivity, cosine_cutoff,
                               gaussian_expansion, inverse_gaussian_sensitivity)

__all__ += ["ShiftedSoftplus", "shifted_softplus", "PairSum", "built_dense", "contiguous_slots", "pair_outer_sum",
            "pair_sum", "slot_layout", "to_slots", "CosineCutoff", "GaussianExpansion", "InverseGaussianSensitivity",
            "cosine_cutoff", "gaussian_expansion", "inverse_gaussian_sensitivity"]
