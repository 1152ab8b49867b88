"""Coulomb matrix of molecules (descriptors.coulomb): the energy 1/2 qᵀAq against direct
double sums of the three interaction kinds, forces against finite differences of the
energy, Gaussian charges against the erf formula and its limits, and the public facade
``descriptors.electrostatics``. (Jacobian finite differences of every entry, for every
damping kind, molecules and periodic cells, are in test_ewald.py.)"""

import math

import numpy as np
import pytest
from scipy.special import erf

from descriptors import electrostatics
from descriptors.coulomb import K_E, CoulombParams, coulomb_matrix, triangle_indices
from descriptors.jacobian import jacobian_to_dense

MOLECULE = np.zeros((3, 3)), False


def half_qaq(values, charges):
    i, j = triangle_indices(len(charges))
    return float(np.sum(np.where(i == j, 0.5, 1.0) * charges[i] * charges[j] * values[:, 0]))


def pair_kernel(r, kind, sigma_i=0.0, sigma_j=0.0, r_cut=6.0):
    """The pair interaction in 1/Å written from the papers, independently of the kernels."""
    if kind == "none":
        return 1 / r
    if kind == "gaussian":  # Gaussian charges of standard deviations sigma_i, sigma_j
        return erf(r / math.sqrt(2 * (sigma_i**2 + sigma_j**2))) / r
    x = min(2 * r / r_cut, 1.0)  # PhysNet Eq. 13 with its cutoff phi(2r)
    phi = 1 - 6 * x**5 + 15 * x**4 - 10 * x**3
    return phi / math.sqrt(r * r + 1) + (1 - phi) / r


def direct_energy(positions, charges, kind, widths=None, r_cut=6.0):
    """sum_{i<j} k_e q_i q_j kernel(r_ij)."""
    widths = np.zeros(len(charges)) if widths is None else widths
    total = 0.0
    for i in range(len(charges)):
        for j in range(i + 1, len(charges)):
            r = np.linalg.norm(positions[j] - positions[i])
            total += K_E * charges[i] * charges[j] * pair_kernel(r, kind, widths[i], widths[j], r_cut)
    return total


def _case(kind):
    rng = np.random.default_rng(11)
    positions = rng.normal(0, 1.4, (7, 3))
    charges = rng.normal(0, 0.5, 7)
    widths = np.linspace(0.3, 1.0, 7) if kind == "gaussian" else None
    params = CoulombParams(kind, damping_cutoff=6.0)
    return positions, charges, widths, params


@pytest.mark.parametrize("kind", ["none", "gaussian", "physnet"])
def test_energy_equals_the_direct_double_sum(kind):
    positions, charges, widths, params = _case(kind)
    values, _ = coulomb_matrix(positions, *MOLECULE, params, widths)
    assert half_qaq(values, charges) == pytest.approx(direct_energy(positions, charges, kind, widths), rel=1e-12)


@pytest.mark.parametrize("kind", ["none", "gaussian", "physnet"])
def test_forces_are_minus_the_energy_gradient(kind):
    positions, charges, widths, params = _case(kind)
    values, jac = coulomb_matrix(positions, *MOLECULE, params, widths)
    i, j = triangle_indices(len(charges))
    grad = np.where(i == j, 0.5, 1.0) * charges[i] * charges[j]
    forces = -np.einsum("e,eac->ac", grad, jacobian_to_dense(jac, len(values), len(charges))[:, 0])
    np.testing.assert_allclose(forces.sum(axis=0), 0.0, atol=1e-10)  # no net force on a molecule
    h = 1e-5
    for atom in range(len(charges)):
        for c in range(3):
            plus, minus = positions.copy(), positions.copy()
            plus[atom, c] += h
            minus[atom, c] -= h
            numeric = -(direct_energy(plus, charges, kind, widths) - direct_energy(minus, charges, kind, widths)) / (2 * h)
            assert forces[atom, c] == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_gaussian_charges_reduce_to_point_charges_far_apart_and_for_zero_width():
    positions = np.array([[0.0, 0, 0], [0.8, 0, 0], [9.0, 0, 0]])
    widths = np.array([0.5, 0.0, 0.5])
    gauss = coulomb_matrix(positions, *MOLECULE, CoulombParams("gaussian"), widths)[0][:, 0]
    point = coulomb_matrix(positions, *MOLECULE)[0][:, 0]
    i, j = triangle_indices(3)
    entry = {(a, b): e for e, (a, b) in enumerate(zip(i, j))}
    assert gauss[entry[0, 2]] == pytest.approx(point[entry[0, 2]], rel=1e-12)  # 9 Å: erf = 1
    assert gauss[entry[0, 1]] < point[entry[0, 1]]  # overlapping at 0.8 Å: screened
    assert gauss[entry[0, 1]] == pytest.approx(K_E * erf(0.8 / math.sqrt(2 * 0.25)) / 0.8, rel=1e-13)
    # two Gaussians at zero distance interact with the finite k_e sqrt(2/pi) / sigma_ij
    close = coulomb_matrix(np.array([[0.0, 0, 0], [1e-2, 0, 0]]), *MOLECULE, CoulombParams("gaussian"),
                           np.array([0.6, 0.8]))[0][1, 0]
    assert close == pytest.approx(K_E * math.sqrt(2 / math.pi) / 1.0, rel=1e-4)


def test_physnet_shielding_is_finite_at_short_range_and_exact_beyond_half_the_cutoff():
    params = CoulombParams("physnet", damping_cutoff=6.0)
    for r, expected in ((0.05, K_E / math.sqrt(0.05**2 + 1)), (3.0, K_E / 3.0), (4.5, K_E / 4.5)):
        value = coulomb_matrix(np.array([[0.0, 0, 0], [r, 0, 0]]), *MOLECULE, params)[0][1, 0]
        assert value == pytest.approx(expected, rel=1e-3 if r < 1 else 1e-13)


def test_facade_exposes_the_single_implementations():
    from descriptors import coulomb, d2, ewald

    assert electrostatics.coulomb_matrix is coulomb.coulomb_matrix
    assert electrostatics.ewald_matrix is ewald.ewald_matrix
    assert electrostatics.d2 is d2.d2
    assert electrostatics.K_E == pytest.approx(14.399645)
