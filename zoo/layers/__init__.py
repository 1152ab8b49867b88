"""Shared building blocks of the models: pure functions plus thin Keras layers."""

from zoo.layers.contraction import contract_jacobian, energy_gradient
from zoo.layers.element_mlp import ElementMLP

__all__ = ["contract_jacobian", "energy_gradient", "ElementMLP"]
