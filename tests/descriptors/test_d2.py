"""Grimme D2 (descriptors.d2): values against a slow NumPy reference of Grimme 2006
Eqs. 11-13, the parameter table against the paper, and the Jacobian against finite
differences."""

import math

import numpy as np
import pytest

from descriptors.d2 import C6, C6_UNIT, R0, D2Params, d2
from descriptors.jacobian import jacobian_to_dense
from descriptors.neighbors import neighbor_list


def reference_energy(numbers, positions, cell, pbc, s6, d, cutoff, images=3):
    """E_disp = -s6 sum_{i<j, images} C6_ij / r^6 / (1 + exp(-d (r / R_r - 1))), with
    C6_ij = sqrt(C6_i C6_j) and R_r = R0_i + R0_j (Grimme 2006, Eqs. 11-13), over explicit
    periodic images (each unordered pair of an atom and an image once: 1/2 of all ordered)."""
    c6 = np.array([C6[z] for z in numbers]) * 1e6 / 96485.33212  # J nm^6/mol -> eV Å^6
    r0 = np.array([R0[z] for z in numbers])
    shifts = [np.zeros(3)]
    if np.any(pbc):
        rng = range(-images, images + 1)
        shifts = [np.array([a, b, c]) @ cell for a in rng for b in rng for c in rng]
    energy = 0.0
    for i in range(len(numbers)):
        for j in range(len(numbers)):
            for shift in shifts:
                r = np.linalg.norm(positions[j] + shift - positions[i])
                if r == 0 or r >= cutoff:
                    continue
                damp = 1 / (1 + math.exp(-d * (r / (r0[i] + r0[j]) - 1)))
                energy -= 0.5 * s6 * math.sqrt(c6[i] * c6[j]) / r**6 * damp
    return energy


def values_of(numbers, positions, cell, pbc, params):
    return d2(numbers, neighbor_list(positions, cell, pbc, params.cutoff), params)


def _structures():
    rng = np.random.default_rng(0)
    molecule = np.array([8, 1, 1, 6, 17, 11]), rng.normal(0, 1.6, (6, 3)), np.zeros((3, 3)), False
    cell = np.array([[5.5, 0.2, 0.0], [0.4, 5.0, 0.3], [0.0, -0.5, 5.8]])
    crystal = np.array([11, 17, 11, 17]), rng.uniform(0, 1, (4, 3)) @ cell, cell, True
    return {"molecule": molecule, "crystal": crystal}


def test_table_entries_match_grimme_2006_table_1():
    """C6 (J nm^6 mol^-1) and R0 (Å) of H, C, O, Na, Cl as printed in Table 1."""
    expected = {1: (0.14, 1.001), 6: (1.75, 1.452), 8: (0.70, 1.342), 11: (5.71, 1.144), 17: (5.07, 1.639),
                29: (10.80, 1.562), 54: (29.99, 1.881)}
    for z, (c6, r0) in expected.items():
        assert (C6[z], R0[z]) == (c6, r0)
    assert len(C6) == len(R0) == 55
    # 1 J/mol = 1.0364e-5 eV and 1 nm^6 = 1e6 Å^6: carbon's C6 is 18.14 eV Å^6
    assert 1.75 * C6_UNIT == pytest.approx(18.137, abs=1e-3)


@pytest.mark.parametrize("name", ["molecule", "crystal"])
def test_energy_matches_the_reference_sum(name):
    numbers, positions, cell, pbc = _structures()[name]
    params = D2Params(s6=0.75, d=20.0, cutoff=9.0)
    values, _ = values_of(numbers, positions, cell, pbc, params)
    expected = reference_energy(numbers, positions, cell, pbc, 0.75, 20.0, 9.0)
    assert values.sum() == pytest.approx(expected, rel=1e-12)
    assert values.sum() < 0


def test_pair_energy_at_the_vdw_radius_sum_is_half_the_undamped_value():
    """f_damp(R_r) = 1/2 (Eq. 12): at r = R0_i + R0_j the pair energy is -s6 C6_ij / (2 r^6)."""
    r = R0[6] + R0[8]
    positions = np.array([[0.0, 0, 0], [r, 0, 0]])
    values, _ = values_of(np.array([6, 8]), positions, np.zeros((3, 3)), False, D2Params(s6=1.0))
    c6 = math.sqrt(C6[6] * C6[8]) * C6_UNIT
    assert values.sum() == pytest.approx(-c6 / (2 * r**6), rel=1e-12)
    np.testing.assert_allclose(values[:, 0], values.sum() / 2)  # split equally


@pytest.mark.parametrize("name", ["molecule", "crystal"])
def test_jacobian_matches_finite_differences(name):
    numbers, positions, cell, pbc = _structures()[name]
    params = D2Params(cutoff=8.0, d=20.0)
    values, jac = values_of(numbers, positions, cell, pbc, params)
    analytic = jacobian_to_dense(jac, len(values), len(numbers))
    h = 1e-5
    for atom in range(len(numbers)):
        for c in range(3):
            plus, minus = positions.copy(), positions.copy()
            plus[atom, c] += h
            minus[atom, c] -= h
            numeric = (values_of(numbers, plus, cell, pbc, params)[0]
                       - values_of(numbers, minus, cell, pbc, params)[0]) / (2 * h)
            np.testing.assert_allclose(analytic[:, 0, atom, c], numeric[:, 0], rtol=1e-6, atol=1e-9)


def test_bad_input_is_named():
    positions = np.array([[0.0, 0, 0], [1.5, 0, 0]])
    with pytest.raises(ValueError, match="H to Xe"):
        values_of(np.array([1, 79]), positions, np.zeros((3, 3)), False, D2Params())
    with pytest.raises(ValueError, match="cutoff must be a finite number > 0"):
        D2Params(cutoff=-1.0)
    with pytest.raises(ValueError, match="integer array"):
        d2(np.array([1.0, 1.0]), neighbor_list(positions, np.zeros((3, 3)), False, 5.0))
