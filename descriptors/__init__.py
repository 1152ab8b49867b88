"""Numba descriptor kernels: pure functions, numpy arrays in, numpy arrays out.

This package never imports TensorFlow. Every kernel returns ``values`` and a COO
:class:`~descriptors.jacobian.Jacobian` (see docs/DESIGN.md, "Descriptor contract").
"""
