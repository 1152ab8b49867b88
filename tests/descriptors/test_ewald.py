"""Coulomb matrix and Ewald summation: the NaCl Madelung constant, independence of the
splitting parameter, direct lattice sums and isolated-cluster limits as oracles, finite
differences for the Jacobian, charged cells, damping kinds, layout and bad input."""

import math

import numpy as np
import pytest
from ase.build import bulk

from descriptors.coulomb import K_E, CoulombParams, coulomb_matrix, n_entries, triangle_indices
from descriptors.ewald import default_alpha, ewald_setup
from descriptors.jacobian import jacobian_to_dense, strain_derivative

#: NaCl (rock salt) Madelung constant referred to the nearest-neighbour distance
#: (e.g. C. Kittel, Introduction to Solid State Physics, Ch. 3)
MADELUNG_NACL = 1.747565


def energy(values, charges):
    """E = 1/2 q^T A q from the upper-triangle rows."""
    i, j = triangle_indices(len(charges))
    weight = np.where(i == j, 0.5, 1.0)
    return float(np.sum(weight * charges[i] * charges[j] * values[:, 0]))


def dense(values, n):
    """Symmetric [n, n] A from its upper triangle."""
    i, j = triangle_indices(n)
    a = np.zeros((n, n))
    a[i, j] = values[:, 0]
    a[j, i] = values[:, 0]
    return a


def coulomb_energy(positions, cell, pbc, charges, **params):
    values, _ = coulomb_matrix(positions, cell, pbc, CoulombParams(**params))
    return energy(values, charges)


def nacl_cluster(rng, box=None):
    """A neutral, inversion-symmetric (zero dipole) 8-ion cluster about the box centre."""
    half = rng.normal(0.0, 1.2, (4, 3)) + np.array([[1.5, 0, 0], [0, 1.5, 0], [0, 0, 1.5], [1.0, 1.0, 1.0]])
    positions = np.concatenate([half, -half])
    charges = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    if box is not None:
        positions = positions + 0.5 * box
    return positions, charges


def dipolar_cluster(rng, centre):
    """A neutral 6-ion cluster with a dipole of a few e·Å."""
    positions = centre + rng.normal(0.0, 1.5, (6, 3)) + np.array([[1.0, 0.5, 0.0]] * 3 + [[-1.0, -0.5, 0.0]] * 3)
    return positions, np.array([1.0, 0.5, 0.5, -1.0, -0.5, -0.5])


# --- physics checks ------------------------------------------------------------------------


def test_nacl_madelung_constant():
    a = 5.64
    crystal = bulk("NaCl", "rocksalt", a=a, cubic=True)  # 4 formula units
    charges = np.where(crystal.numbers == 11, 1.0, -1.0)
    e = coulomb_energy(crystal.positions, crystal.cell.array, True, charges, accuracy=1e-12)
    assert -e / 4 * (a / 2) / K_E == pytest.approx(MADELUNG_NACL, abs=1e-6)


def test_madelung_constant_of_a_skewed_primitive_cell():
    """The 2-atom primitive (triclinic-looking fcc) cell gives the same lattice energy."""
    a = 5.64
    crystal = bulk("NaCl", "rocksalt", a=a)  # primitive fcc cell, 1 formula unit
    charges = np.where(crystal.numbers == 11, 1.0, -1.0)
    e = coulomb_energy(crystal.positions, crystal.cell.array, True, charges, accuracy=1e-12)
    assert -e * (a / 2) / K_E == pytest.approx(MADELUNG_NACL, abs=1e-6)


@pytest.mark.parametrize("charged", [False, True])
def test_energy_does_not_depend_on_the_splitting_parameter(charged):
    rng = np.random.default_rng(0)
    cell = np.array([[7.0, 0.4, 0.0], [1.0, 6.5, 0.3], [-0.5, 0.8, 8.0]])
    positions = rng.uniform(0, 1, (7, 3)) @ cell
    charges = rng.normal(0, 0.7, 7)
    if not charged:
        charges -= charges.mean()
    energies = [coulomb_energy(positions, cell, True, charges, accuracy=1e-12, alpha=alpha)
                for alpha in (0.2, 0.35, 0.5, 0.8)]
    np.testing.assert_allclose(energies, energies[0], rtol=1e-9, atol=1e-9)
    if charged:  # without the background term, the energy would move with alpha
        volume = abs(np.linalg.det(cell))
        drift = K_E * math.pi * charges.sum() ** 2 / (2 * volume) * (1 / 0.2**2 - 1 / 0.8**2)
        assert abs(drift) > 1e-2


def test_single_charge_in_a_neutralising_background_has_the_wigner_lattice_energy():
    """One point charge per simple cubic cell of edge L in a uniform neutralising
    background: E = -zeta q^2 k_e / (2 L) with zeta = 2.837297 (the constant of the
    Makov-Payne finite-size correction, G. Makov, M. C. Payne, Phys. Rev. B 51, 4014
    (1995))."""
    for length, q in ((5.0, 1.0), (8.0, -2.0)):
        e = coulomb_energy(np.array([[0.3, 0.1, 0.2]]), length * np.eye(3), True, np.array([q]), accuracy=1e-12)
        assert -e * 2 * length / (q * q * K_E) == pytest.approx(2.837297, abs=1e-6)


def test_ewald_equals_direct_lattice_sum_of_a_neutral_quadrupolar_cell():
    """A neutral cell without a dipole: the lattice sum over cells n converges absolutely
    (cell-cell interactions fall off as quadrupole-quadrupole, 1/|n|^5), so a direct sum
    over a large sphere of cells is an oracle for Ewald."""
    rng = np.random.default_rng(2)
    box = 9.0
    cell = box * np.eye(3)
    positions, charges = nacl_cluster(rng, np.full(3, box))
    ewald = coulomb_energy(positions, cell, True, charges, accuracy=1e-12)
    m = 12
    shifts = np.stack(np.meshgrid(*[np.arange(-m, m + 1)] * 3, indexing="ij"), -1).reshape(-1, 3)
    shifts = shifts[np.linalg.norm(shifts, axis=1) <= m] * box
    direct = 0.0
    qq = charges[:, None] * charges[None, :]
    for shift in shifts:
        d = np.linalg.norm(positions[None, :, :] + shift - positions[:, None, :], axis=-1)
        if not shift.any():
            np.fill_diagonal(d, np.inf)
        direct += 0.5 * K_E * np.sum(qq / d)
    assert direct == pytest.approx(ewald, abs=2e-5)


def test_ewald_of_a_cluster_in_a_large_box_approaches_the_isolated_cluster():
    """Tin-foil Ewald of a neutral cluster with a dipole M in a cubic box of volume V:
    E = E_isolated - (2 pi / 3 V) k_e |M|^2 + O(1 / V^(5/3)) (the spherical vacuum sum and
    the tin-foil sum differ by the surface term of S. W. de Leeuw, J. W. Perram,
    E. R. Smith, Proc. R. Soc. A 373, 27 (1980); cubic symmetry cancels the 1/V image
    dipole term)."""
    rng = np.random.default_rng(3)
    positions, charges = dipolar_cluster(rng, np.zeros(3))
    isolated = coulomb_energy(positions, np.zeros((3, 3)), False, charges)
    dipole = charges @ positions
    assert np.linalg.norm(dipole) > 1.0
    errors = []
    for box in (30.0, 60.0):
        periodic = coulomb_energy(positions + box / 2, box * np.eye(3), True, charges, accuracy=1e-10)
        surface = 2 * math.pi / (3 * box**3) * K_E * dipole @ dipole
        errors.append(abs(periodic + surface - isolated))
        assert abs(periodic - isolated) > 2 * errors[-1]  # the surface term matters
    assert errors[1] < 1e-4 and errors[1] < errors[0] / 10  # faster than 1/V


def test_molecule_matrix_is_k_e_over_r():
    rng = np.random.default_rng(4)
    positions = rng.normal(0, 2, (5, 3))
    values, jac = coulomb_matrix(positions, np.zeros((3, 3)), False)
    a = dense(values, 5)
    r = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    np.fill_diagonal(r, np.inf)
    np.testing.assert_allclose(a, K_E / r, rtol=1e-14)
    assert len(values) == n_entries(5) == 15 and len(jac.item) == 20


# --- derivatives ---------------------------------------------------------------------------


def _structures():
    rng = np.random.default_rng(5)
    molecule = rng.normal(0, 1.5, (6, 3)), np.zeros((3, 3)), False
    cell = np.array([[5.0, 0.3, 0.0], [0.8, 4.6, 0.2], [-0.4, 0.6, 5.4]])
    crystal = rng.uniform(0, 1, (5, 3)) @ cell, cell, True
    small = np.array([[2.2, 0.0, 0.0], [0.5, 2.4, 0.0], [0.1, 0.3, 2.6]])  # smaller than the real cutoff
    tiny = rng.uniform(0, 1, (3, 3)) @ small, small, True
    return {"molecule": molecule, "triclinic": crystal, "small_cell": tiny}


DAMPING_CASES = [dict(), dict(damping="physnet", damping_cutoff=6.0), dict(damping="gaussian")]


@pytest.mark.parametrize("name", ["molecule", "triclinic", "small_cell"])
@pytest.mark.parametrize("params", DAMPING_CASES, ids=["point", "physnet", "gaussian"])
def test_jacobian_matches_finite_differences(name, params):
    positions, cell, pbc = _structures()[name]
    n = len(positions)
    widths = np.linspace(0.4, 0.9, n) if params.get("damping") == "gaussian" else None
    p = CoulombParams(accuracy=1e-10, **params)
    values, jac = coulomb_matrix(positions, cell, pbc, p, widths)
    analytic = jacobian_to_dense(jac, len(values), n)
    h = 1e-5
    for atom in range(n):
        for c in range(3):
            plus, minus = positions.copy(), positions.copy()
            plus[atom, c] += h
            minus[atom, c] -= h
            numeric = (coulomb_matrix(plus, cell, pbc, p, widths)[0] - coulomb_matrix(minus, cell, pbc, p, widths)[0]) / (2 * h)
            np.testing.assert_allclose(analytic[:, 0, atom, c], numeric[:, 0], rtol=1e-6, atol=1e-7)


def test_forces_of_the_energy_match_finite_differences_in_a_charged_cell():
    positions, cell, _ = _structures()["triclinic"]
    charges = np.array([0.8, -0.3, 0.5, 0.2, -0.6])  # net +0.6 e
    p = CoulombParams(accuracy=1e-10)
    values, jac = coulomb_matrix(positions, cell, True, p)
    i, j = triangle_indices(len(positions))
    grad_values = np.where(i == j, 0.5, 1.0) * charges[i] * charges[j]
    forces = -np.einsum("e,eac->ac", grad_values, jacobian_to_dense(jac, len(values), len(positions))[:, 0])
    h = 1e-5
    for atom in range(len(positions)):
        for c in range(3):
            plus, minus = positions.copy(), positions.copy()
            plus[atom, c] += h
            minus[atom, c] -= h
            numeric = -(energy(coulomb_matrix(plus, cell, True, p)[0], charges)
                        - energy(coulomb_matrix(minus, cell, True, p)[0], charges)) / (2 * h)
            assert forces[atom, c] == pytest.approx(numeric, rel=1e-6, abs=1e-7)


def test_molecular_virial_from_block_displacements():
    """d E / d strain from the blocks' displacements equals finite differences of the
    energy of a homogeneously strained molecule."""
    positions, cell, pbc = _structures()["molecule"]
    charges = np.array([0.5, -0.5, 0.3, -0.2, 0.1, -0.2])
    values, jac = coulomb_matrix(positions, cell, pbc)
    i, j = triangle_indices(len(positions))
    grad_values = np.where(i == j, 0.5, 1.0) * charges[i] * charges[j]
    virial = np.einsum("e,eac->ac", grad_values, strain_derivative(jac, len(values))[:, 0])
    h = 1e-6
    for a in range(3):
        for c in range(3):
            strain = np.eye(3)
            strain[a, c] += h
            e_plus = energy(coulomb_matrix(positions @ strain.T, cell, pbc)[0], charges)
            strain[a, c] -= 2 * h
            e_minus = energy(coulomb_matrix(positions @ strain.T, cell, pbc)[0], charges)
            assert virial[a, c] == pytest.approx((e_plus - e_minus) / (2 * h), rel=1e-6, abs=1e-7)


# --- damping kinds -------------------------------------------------------------------------


def test_physnet_shielding_values():
    r_cut = 6.0
    for r in (0.5, 1.5, 2.9, 3.0, 5.0):
        positions = np.array([[0.0, 0, 0], [r, 0, 0]])
        a01 = coulomb_matrix(positions, np.zeros((3, 3)), False, CoulombParams("physnet", r_cut))[0][1, 0]
        x = min(2 * r / r_cut, 1.0)
        phi = 1 - 6 * x**5 + 15 * x**4 - 10 * x**3
        assert a01 == pytest.approx(K_E * (phi / math.sqrt(r * r + 1) + (1 - phi) / r), rel=1e-13)


def test_gaussian_charges_interact_through_erf():
    from scipy.special import erf

    positions = np.array([[0.0, 0, 0], [1.3, 0, 0], [0.2, 2.0, 0.4]])
    widths = np.array([0.5, 0.0, 1.1])
    values = coulomb_matrix(positions, np.zeros((3, 3)), False, CoulombParams("gaussian"), widths)[0]
    a = dense(values, 3)
    for i, j in ((0, 1), (0, 2), (1, 2)):
        r = np.linalg.norm(positions[i] - positions[j])
        gamma = math.sqrt(2 * (widths[i] ** 2 + widths[j] ** 2))
        assert a[i, j] == pytest.approx(K_E * erf(r / gamma) / r, rel=1e-13)


def test_periodic_damping_matches_the_molecular_limit():
    """A neutral zero-dipole cluster in a big box: with the same damping, Ewald minus the
    undamped Ewald equals the molecular damped minus undamped energy (the damping is short
    ranged, so image contributions vanish)."""
    rng = np.random.default_rng(6)
    box = 40.0
    positions, charges = nacl_cluster(rng, np.full(3, box))
    for params, widths in ((dict(damping="physnet", damping_cutoff=5.0), None),
                           (dict(damping="gaussian"), np.full(8, 0.7))):
        damped = coulomb_matrix(positions, box * np.eye(3), True, CoulombParams(accuracy=1e-10, **params), widths)[0]
        plain = coulomb_matrix(positions, box * np.eye(3), True, CoulombParams(accuracy=1e-10))[0]
        mol_damped = coulomb_matrix(positions, np.zeros((3, 3)), False, CoulombParams(**params), widths)[0]
        mol_plain = coulomb_matrix(positions, np.zeros((3, 3)), False)[0]
        i, j = triangle_indices(8)
        off = i != j
        np.testing.assert_allclose((damped - plain)[off], (mol_damped - mol_plain)[off], atol=1e-9)


# --- invariances ---------------------------------------------------------------------------


def test_periodic_matrix_is_invariant_under_image_shifts_and_translation():
    positions, cell, _ = _structures()["triclinic"]
    values = coulomb_matrix(positions, cell, True)[0]
    moved = positions + np.array([[1, 0, -2], [0, 0, 0], [0, 3, 0], [-1, -1, 1], [0, 0, 0]]) @ cell + [0.3, -0.7, 1.1]
    np.testing.assert_allclose(coulomb_matrix(moved, cell, True)[0], values, rtol=1e-10, atol=1e-10)


def test_rotation_invariance_of_a_periodic_cell():
    positions, cell, _ = _structures()["triclinic"]
    angle = 0.7
    rot = np.array([[math.cos(angle), -math.sin(angle), 0], [math.sin(angle), math.cos(angle), 0], [0, 0, 1]])
    values = coulomb_matrix(positions, cell, True)[0]
    np.testing.assert_allclose(coulomb_matrix(positions @ rot.T, cell @ rot.T, True)[0], values, rtol=1e-9, atol=1e-9)


def test_default_alpha_and_cutoffs():
    cell = np.diag([5.0, 6.0, 7.0])
    setup = ewald_setup(cell, 1e-8)
    assert setup.alpha == pytest.approx(default_alpha(cell)) == pytest.approx(math.sqrt(math.pi) / 210 ** (1 / 3))
    assert math.erfc(setup.alpha * setup.real_cutoff) < 1e-8
    assert np.all(np.linalg.norm(setup.kvectors, axis=1) <= 2 * setup.alpha * math.sqrt(-math.log(1e-8)) + 1e-12)


# --- bad input -----------------------------------------------------------------------------


def test_bad_input_is_named():
    positions = np.zeros((2, 3))
    positions[1, 0] = 1.0
    with pytest.raises(ValueError, match="slab Ewald sums are not implemented"):
        coulomb_matrix(positions, np.eye(3) * 5, [True, True, False])
    with pytest.raises(ValueError, match="zero volume"):
        coulomb_matrix(positions, np.zeros((3, 3)), True)
    with pytest.raises(ValueError, match="coincide"):
        coulomb_matrix(np.zeros((2, 3)), np.zeros((3, 3)), False)
    with pytest.raises(ValueError, match="needs widths"):
        coulomb_matrix(positions, np.zeros((3, 3)), False, CoulombParams("gaussian"))
    with pytest.raises(ValueError, match="damping must be one of"):
        CoulombParams("yukawa")
    with pytest.raises(ValueError, match="finite"):
        coulomb_matrix(np.full((2, 3), np.nan), np.zeros((3, 3)), False)
