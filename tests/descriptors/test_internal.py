"""Inverse distances of one molecule (1G inputs): values, FD Jacobian, strain, bad input."""

import numpy as np
import pytest
from ase.build import molecule

from descriptors.internal import inverse_distances, pair_indices
from descriptors.jacobian import jacobian_to_dense, strain_derivative


def test_values_are_inverse_distances_in_row_major_pair_order():
    positions = molecule("CH3CH2OH").positions
    values, _ = inverse_distances(positions)
    expected = [1.0 / np.linalg.norm(positions[j] - positions[i])
                for i in range(len(positions)) for j in range(i + 1, len(positions))]
    np.testing.assert_allclose(values, [expected], rtol=1e-14)
    i, j = pair_indices(4)
    assert list(zip(i, j)) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]


def test_jacobian_matches_central_finite_differences():
    rng = np.random.default_rng(0)
    positions = molecule("H2CO").positions + rng.normal(0, 0.1, (4, 3))
    _, jac = inverse_distances(positions)
    dense = jacobian_to_dense(jac, 1, 4)  # [1, K, 4, 3]
    h = 1e-6
    for a in range(4):
        for c in range(3):
            plus, minus = positions.copy(), positions.copy()
            plus[a, c] += h
            minus[a, c] -= h
            numeric = (inverse_distances(plus)[0] - inverse_distances(minus)[0]) / (2 * h)
            np.testing.assert_allclose(dense[0, :, a, c], numeric[0], rtol=1e-7, atol=1e-9)


def test_block_displacements_give_the_strain_derivative():
    rng = np.random.default_rng(1)
    positions = molecule("NH3").positions + rng.normal(0, 0.05, (4, 3))
    _, jac = inverse_distances(positions)
    analytic = strain_derivative(jac, 1)[0]  # [K, 3, 3]
    h = 1e-6
    for a in range(3):
        for c in range(3):
            strain = np.zeros((3, 3))
            strain[a, c] = h
            plus = inverse_distances(positions @ (np.eye(3) + strain).T)[0]
            minus = inverse_distances(positions @ (np.eye(3) - strain).T)[0]
            np.testing.assert_allclose(analytic[:, a, c], (plus - minus)[0] / (2 * h), rtol=1e-6, atol=1e-9)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="at least 2 atoms"):
        inverse_distances(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="atoms 0 and 2 are at the same position"):
        inverse_distances(np.array([[0.0, 0, 0], [1.0, 0, 0], [0.0, 0, 0]]))
    with pytest.raises(ValueError, match="NaN or inf"):
        inverse_distances(np.array([[0.0, 0, 0], [np.nan, 0, 0]]))
    with pytest.raises(ValueError, match="shape"):
        inverse_distances(np.zeros((3, 2)))
