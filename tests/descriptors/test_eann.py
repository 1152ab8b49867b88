"""EANN Gaussian-type orbitals: a NumPy oracle for the orbitals formed from the factor rows,
finite differences for the Jacobian and the strain derivative, invariances of the embedded
densities, errors."""

import math

import numpy as np
import pytest
from ase import Atoms
from ase.neighborlist import neighbor_list as ase_neighbor_list
from scipy.spatial.transform import Rotation

from descriptors.eann import EannParams, eann, orbitals
from descriptors.jacobian import jacobian_to_dense, strain_derivative
from descriptors.neighbors import neighbor_list
from structures import cu32 as _cu32, ethanol as _ethanol, rattled as _rattled, small_cell as _small_cell


STRUCTURES = [_ethanol, _cu32, _small_cell]


def _params(atoms, cutoff=4.0, n_radial=4, l_max=2):
    return EannParams.auto(sorted(set(atoms.numbers.tolist())), cutoff, n_radial, l_max)


def _eann(atoms, params):
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, params.cutoff)
    return eann(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, nb, params)


def _densities(atoms, params, coefficients):
    """rho [n_atoms, L_max + 1, R] of the module docstring from the kernel's rows."""
    values, _, centre, neighbor_element = _eann(atoms, params)
    phi = orbitals(values, params)
    orbital = np.zeros((len(atoms), params.n_angular, len(params.radial)))
    np.add.at(orbital, centre, phi * coefficients[neighbor_element][:, None, :])
    rho = np.zeros((len(atoms), params.l_max + 1, len(params.radial)))
    for a, (w, L) in enumerate(zip(params.multinomial_weights(), params.angular_order())):
        rho[:, L] += w * orbital[:, a] ** 2
    return rho


@pytest.mark.parametrize("structure", STRUCTURES)
def test_orbitals_match_a_numpy_reference(structure):
    """Rows follow our neighbour list (sorted by i, j, shift); ASE's pairs sorted the same way."""
    atoms = structure()
    params = _params(atoms)
    values, _, centre, neighbor_element = _eann(atoms, params)
    i, j, shift, vec = ase_neighbor_list("ijSD", atoms, params.cutoff)
    order = np.lexsort((shift[:, 2], shift[:, 1], shift[:, 0], j, i))
    i, j, vec = i[order], j[order], vec[order]
    r = np.linalg.norm(vec, axis=1)
    fc = (0.5 * np.cos(np.pi * r / params.cutoff) + 0.5) ** 2
    expected = np.zeros((len(r), params.n_angular, len(params.radial)))
    for a, (lx, ly, lz) in enumerate(params.angular_components()):
        for m, (alpha, rs) in enumerate(params.radial):
            monomial = vec[:, 0] ** lx * vec[:, 1] ** ly * vec[:, 2] ** lz
            expected[:, a, m] = monomial * np.exp(-alpha * (r - rs) ** 2) * fc
    assert values.shape == (len(r), params.n_features) and params.n_features == params.n_angular + len(params.radial)
    np.testing.assert_allclose(orbitals(values, params), expected, rtol=1e-11, atol=1e-15)
    np.testing.assert_array_equal(centre, i)
    np.testing.assert_array_equal(np.array(params.elements)[neighbor_element], atoms.numbers[j])


def test_angular_components_and_weights():
    params = EannParams((1,), 3.0, ((1.0, 0.0),), l_max=2)
    assert params.angular_components() == [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (2, 0, 0), (1, 1, 0),
                                           (1, 0, 1), (0, 2, 0), (0, 1, 1), (0, 0, 2)]
    np.testing.assert_array_equal(params.multinomial_weights(), [1, 1, 1, 1, 1, 2, 2, 1, 2, 1])
    for l_max in range(5):
        p = EannParams((1,), 3.0, ((1.0, 0.0),), l_max=l_max)
        assert len(p.angular_components()) == p.n_angular == math.comb(l_max + 3, 3)


def test_densities_are_sums_of_squared_radial_orbitals_times_powers_of_distance():
    """sum_{lx+ly+lz=L} L!/(lx!ly!lz!) (x^lx y^ly z^lz)^2 = r^(2L): with one neighbour, rho[L]
    = r^(2L) (c g(r))^2 — the multinomial weights make the densities rotation invariant."""
    atoms = Atoms("HO", positions=[[0, 0, 0], [0.5, -0.7, 0.6]])
    params = EannParams((1, 8), 3.0, ((0.8, 0.5), (2.0, 1.0)), l_max=3)
    c = np.array([[1.3, -0.4], [0.7, 2.0]])
    rho = _densities(atoms, params, c)
    r = np.linalg.norm(atoms.positions[1])
    g = np.exp(-np.array([0.8, 2.0]) * (r - np.array([0.5, 1.0])) ** 2) * (0.5 * np.cos(np.pi * r / 3) + 0.5) ** 2
    for L in range(4):
        np.testing.assert_allclose(rho[0, L], r ** (2 * L) * (c[1] * g) ** 2, rtol=1e-12)


def _numeric_jacobian(atoms, params, h=1e-5):
    n_rows = len(_eann(atoms, params)[0])
    out = np.zeros((n_rows, params.n_features, len(atoms), 3))
    for a in range(len(atoms)):
        for c in range(3):
            diff = []
            for sign in (1, -1):
                moved = atoms.copy()
                moved.positions[a, c] += sign * h
                diff.append(_eann(moved, params)[0])
            out[:, :, a, c] = (diff[0] - diff[1]) / (2 * h)
    return out


@pytest.mark.parametrize("structure", STRUCTURES)
def test_jacobian_matches_central_differences(structure):
    atoms = structure()
    params = _params(atoms, n_radial=3)
    values, jac, _, _ = _eann(atoms, params)
    dense = jacobian_to_dense(jac, len(values), len(atoms))
    np.testing.assert_allclose(dense, _numeric_jacobian(atoms, params), rtol=1e-6, atol=1e-9)


def test_strain_derivative_matches_central_differences():
    atoms = _small_cell()
    params = _params(atoms, n_radial=3)
    values, jac, _, _ = _eann(atoms, params)
    analytic = strain_derivative(jac, len(values))
    h = 1e-6
    for a in range(3):
        for c in range(3):
            diff = []
            for sign in (1, -1):
                eps = np.eye(3)
                eps[a, c] += sign * h
                moved = atoms.copy()
                moved.set_cell(atoms.cell.array @ eps.T, scale_atoms=True)
                diff.append(_eann(moved, params)[0])
            np.testing.assert_allclose(analytic[:, :, a, c], (diff[0] - diff[1]) / (2 * h), atol=1e-7)


@pytest.mark.parametrize("structure", [_ethanol, _small_cell])
def test_densities_are_invariant_under_rotation_translation_and_image_shifts(structure):
    atoms = structure()
    params = _params(atoms)
    c = np.random.default_rng(0).normal(size=(len(params.elements), len(params.radial)))
    rho = _densities(atoms, params, c)
    q = Rotation.from_euler("xyz", [-0.7, 0.4, 2.2]).as_matrix()
    moved = atoms.copy()
    moved.positions = atoms.positions @ q.T + np.array([1.0, 7.0, -3.0])
    moved.set_cell(atoms.cell.array @ q.T)
    np.testing.assert_allclose(_densities(moved, params, c), rho, rtol=1e-9, atol=1e-12)
    if atoms.pbc.all():
        shifted = atoms.copy()
        shifted.positions[1] += atoms.cell.array[2] - atoms.cell.array[0]
        np.testing.assert_allclose(_densities(shifted, params, c), rho, rtol=1e-9, atol=1e-12)
    # the orbitals themselves are not invariant (L >= 1 columns turn with the structure)
    assert not np.allclose(_eann(moved, params)[0], _eann(atoms, params)[0])


def test_permutation_of_like_atoms_permutes_the_densities():
    atoms = _ethanol()
    params = _params(atoms)
    c = np.random.default_rng(1).normal(size=(len(params.elements), len(params.radial)))
    perm = np.arange(len(atoms))
    hydrogens = np.flatnonzero(atoms.numbers == 1)
    perm[hydrogens] = np.roll(hydrogens, 2)
    np.testing.assert_allclose(_densities(atoms[perm], params, c), _densities(atoms, params, c)[perm], rtol=1e-12)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="l_max must be"):
        EannParams((1,), 3.0, ((1.0, 0.0),), l_max=7)
    with pytest.raises(ValueError, match="radial must hold"):
        EannParams((1,), 3.0, ((-1.0, 0.0),))
    with pytest.raises(ValueError, match="cutoff must be"):
        EannParams((1,), -3.0, ((1.0, 0.0),))
    with pytest.raises(ValueError, match="n_radial must be"):
        EannParams.auto([1], 3.0, n_radial=0)
    atoms = _ethanol()
    with pytest.raises(ValueError, match=r"element 6 \(C\)"):
        _eann(atoms, EannParams.auto([1, 8], 3.0))
    assert EannParams.from_dict(_params(atoms).to_dict()) == _params(atoms)
