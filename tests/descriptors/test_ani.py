"""ANI AEVs: TorchANI and a plain NumPy transcription of the paper's equations as oracles
for values, central finite differences for both Jacobians (AEV and per-pair/per-triplet
terms), the strain derivative, invariances, the terms-sum-to-AEV identity and bad input."""

import math
import os

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.neighborlist import neighbor_list as ase_neighbor_list

from descriptors.ani import AniParams, ani_aev, ani_terms, section_term, zeta_power
from descriptors.jacobian import jacobian_to_dense, strain_derivative
from descriptors.neighbors import Neighbors, neighbor_list

# --- structures and helpers ---------------------------------------------------------------


def _rattled(atoms, stdev, seed):
    atoms = atoms.copy()
    atoms.positions += np.random.default_rng(seed).normal(0.0, stdev, atoms.positions.shape)
    return atoms


def _ethanol(seed=2):
    return _rattled(molecule("CH3CH2OH"), 0.05, seed)


def _glycine_like():
    """A molecule with H, C, N and O (all four ANI-1x elements)."""
    return _rattled(molecule("CH3CONH2"), 0.05, seed=4)


def _small_cu():
    """Cu in a skewed 4-atom cell smaller than both cutoffs (each atom sees many images of
    every atom, itself included)."""
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True)
    atoms.set_cell(atoms.cell.array @ np.array([[1.0, 0.03, 0.0], [0.0, 1.0, -0.02], [0.04, 0.0, 1.0]]),
                   scale_atoms=True)
    return _rattled(atoms, 0.08, seed=5)


def _cuo_cell():
    """A periodic cell with two elements (Cu, O): element-resolved blocks with images."""
    atoms = Atoms("Cu2O", scaled_positions=[[0.0, 0.0, 0.0], [0.5, 0.45, 0.5], [0.25, 0.2, 0.3]],
                  cell=[[3.4, 0.1, 0.0], [0.2, 3.6, 0.1], [-0.1, 0.3, 3.5]], pbc=True)
    return _rattled(atoms, 0.04, seed=6)


def _neighbors(atoms, cutoff):
    """ASE's neighbour list as our record (so values do not rely on our cell list)."""
    i, j, shift, vector, distance = ase_neighbor_list("ijSDd", atoms, cutoff)
    order = np.argsort(i, kind="stable")
    return Neighbors(i[order].astype(np.int64), j[order].astype(np.int64), shift[order].astype(np.int64),
                     vector[order], distance[order])


def _params(atoms):
    return AniParams.like_ani1x(sorted(set(atoms.numbers.tolist())))


def _aev(atoms, params):
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, params.radial_cutoff)
    return ani_aev(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, nb, params)


def _terms(atoms, params):
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, params.radial_cutoff)
    return ani_terms(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, nb, params)


def _full(atoms, params):
    out = _aev(atoms, params)
    return np.concatenate([out.radial, out.angular], axis=1)


# --- oracles ------------------------------------------------------------------------------


def _reference_aev(atoms, params):
    """Smith et al. 2017, Eqs. 2-4, with ANI's conventions (0.25 radial factor, theta' =
    arccos(0.95 cos theta), unordered neighbour pairs), written directly with arccos and
    plain loops over ASE's neighbour list: slow and independent of the Numba code."""
    nb = _neighbors(atoms, params.radial_cutoff)
    elements = list(params.elements)
    n_el = len(elements)
    slot = {}
    for s, (a, b) in enumerate(params.element_pairs()):
        slot[(a, b)] = slot[(b, a)] = s
    rs_r, rs_a, sections = (np.array(x) for x in (params.radial_shifts, params.angular_shifts, params.sections))

    def fc(r, rc):
        return 0.5 * np.cos(np.pi * r / rc) + 0.5 if r < rc else 0.0

    out = np.zeros((len(atoms), params.n_features))
    for i in range(len(atoms)):
        mine = np.flatnonzero(nb.i == i)
        for p in mine:
            r, e = nb.distance[p], elements.index(atoms.numbers[nb.j[p]])
            block = params.radial_scale * np.exp(-params.radial_eta * (r - rs_r) ** 2) * fc(r, params.radial_cutoff)
            out[i, e * len(rs_r):(e + 1) * len(rs_r)] += block
        close = [p for p in mine if nb.distance[p] < params.angular_cutoff]
        for x in range(len(close)):
            for y in range(x + 1, len(close)):
                p, q = close[x], close[y]
                rj, rk = nb.distance[p], nb.distance[q]
                cos = np.dot(nb.vector[p], nb.vector[q]) / (rj * rk)
                theta = np.arccos(params.angle_scale * cos)
                angular = 2.0 ** (1 - params.angular_zeta) * (1 + np.cos(theta - sections)) ** params.angular_zeta
                radial = np.exp(-params.angular_eta * ((rj + rk) / 2 - rs_a) ** 2)
                term = np.outer(radial, angular).ravel() * fc(rj, params.angular_cutoff) * fc(rk, params.angular_cutoff)
                s = slot[(elements.index(atoms.numbers[nb.j[p]]), elements.index(atoms.numbers[nb.j[q]]))]
                start = params.n_radial + s * params.n_angular_terms
                out[i, start:start + params.n_angular_terms] += term
    assert n_el * len(rs_r) == params.n_radial
    return out


def _torchani(atoms, elements):
    """TorchANI's ANI-1x AEVComputer (built from constants in its code, no download) in
    float64: its AEVs and our AniParams with its exact buffers (TorchANI rounds the shifts
    and sections to float32 when it builds them; ANI-1x's published values are 8 digits)."""
    os.environ.setdefault("TORCHANI_NO_WARN_EXTENSIONS", "1")
    torch = pytest.importorskip("torch")
    torchani = pytest.importorskip("torchani")
    computer = torchani.AEVComputer.like_1x(num_species=len(elements)).double()
    species = torch.tensor([[list(elements).index(z) for z in atoms.numbers]])
    coords = torch.tensor(atoms.positions[None])
    if atoms.pbc.any():
        aev = computer(species, coords, torch.tensor(atoms.cell.array), torch.tensor(atoms.pbc))
    else:
        aev = computer(species, coords)
    radial, angular = computer.radial, computer.angular
    params = AniParams(tuple(elements), float(radial.cutoff), float(angular.cutoff), float(radial.eta),
                       tuple(radial.shifts.tolist()), float(angular.eta), float(angular.zeta),
                       tuple(angular.shifts.tolist()), tuple(angular.sections.tolist()))
    return aev[0].numpy(), params


# --- values -------------------------------------------------------------------------------


def test_preset_has_the_ani1x_shape_and_published_grid():
    p = AniParams.like_ani1x()
    assert p.elements == (1, 6, 7, 8) and p.n_radial == 64 and p.n_angular == 320 and p.n_features == 384
    np.testing.assert_allclose(p.radial_shifts, 0.9 + 0.26875 * np.arange(16), atol=1e-12)
    np.testing.assert_allclose(p.angular_shifts, 0.9 + 0.65 * np.arange(4), atol=1e-12)
    np.testing.assert_allclose(p.sections, (2 * np.arange(8) + 1) * np.pi / 16, atol=5e-8)
    assert len(p.feature_names()) == 384 and p.feature_names()[0] == "R[H](rs=0.9)"


@pytest.mark.parametrize("make", [_ethanol, _glycine_like])
def test_molecule_values_match_torchani(make):
    atoms = make()
    expected, exact = _torchani(atoms, (1, 6, 7, 8))
    np.testing.assert_allclose(_full(atoms, exact), expected, rtol=1e-10, atol=1e-13)
    # the preset holds the published values, TorchANI their float32 roundings (relative
    # difference ~1e-7, amplified by eta and zeta to ~1e-5 in a few columns)
    np.testing.assert_allclose(_full(atoms, AniParams.like_ani1x()), expected, rtol=2e-5, atol=1e-6)


def test_periodic_values_match_torchani():
    atoms = _rattled(bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2), 0.05, seed=7)
    expected, exact = _torchani(atoms, (29,))
    np.testing.assert_allclose(_full(atoms, exact), expected, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("make", [_ethanol, _glycine_like, _small_cu, _cuo_cell])
def test_values_match_numpy_reference(make):
    atoms = make()
    params = _params(atoms)
    np.testing.assert_allclose(_full(atoms, params), _reference_aev(atoms, params), rtol=1e-10, atol=1e-13)


def test_non_integer_zeta_and_other_elements_match_reference():
    atoms = _cuo_cell()
    p = _params(atoms)
    params = AniParams(p.elements, 4.6, 3.2, 9.0, (1.0, 2.0, 3.1), 5.0, 3.7, (1.2, 2.4), (0.3, 1.4, 2.9))
    np.testing.assert_allclose(_full(atoms, params), _reference_aev(atoms, params), rtol=1e-10, atol=1e-13)


def test_scalar_pieces():
    for x in (0.0, 0.3, 0.999, 1.0):
        for zeta in (1.0, 2.0, 31.0, 32.0, 63.0, 64.0, 5.5):
            assert zeta_power(x, zeta) == pytest.approx(x**zeta, rel=1e-13, abs=1e-300)
    h = 1e-6
    for cos_theta in (-0.99, -0.2, 0.4, 0.99):
        for theta_s in (0.2, 1.4, 2.9):
            def f(c):
                ct = 0.95 * c
                st = math.sqrt(1 - ct * ct)
                return section_term(ct, st, ct / st, math.cos(theta_s), math.sin(theta_s), 32.0, 0.95)

            value, slope = f(cos_theta)
            assert value == pytest.approx(2.0 * ((1 + math.cos(math.acos(0.95 * cos_theta) - theta_s)) / 2) ** 32)
            assert slope == pytest.approx((f(cos_theta + h)[0] - f(cos_theta - h)[0]) / (2 * h), rel=1e-6, abs=1e-9)


# --- Jacobians ----------------------------------------------------------------------------


def _finite_difference(function, atoms, h=1e-5):
    """d function(positions) / d positions by central differences: [*shape, n_atoms, 3]."""
    base = function(atoms)
    out = np.zeros((*base.shape, len(atoms), 3))
    for a in range(len(atoms)):
        for c in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[a, c] += h
            minus.positions[a, c] -= h
            out[..., a, c] = (function(plus) - function(minus)) / (2 * h)
    return out


@pytest.mark.parametrize("make", [_ethanol, _small_cu, _cuo_cell])
def test_aev_jacobians_match_finite_differences(make):
    atoms = make()
    params = _params(atoms)
    out = _aev(atoms, params)
    n = len(atoms)
    for values, jac, part in ((out.radial, out.radial_jac, "radial"), (out.angular, out.angular_jac, "angular")):
        dense = jacobian_to_dense(jac, n, n)
        numeric = _finite_difference(lambda a: getattr(_aev(a, params), part), atoms)
        scale = np.abs(numeric).max()
        np.testing.assert_allclose(dense, numeric, atol=1e-7 * scale, err_msg=part)
        np.testing.assert_array_equal(np.bincount(jac.item, minlength=n)[:n] > 0, True)


@pytest.mark.parametrize("make", [_ethanol, _cuo_cell])
def test_term_jacobians_match_finite_differences(make):
    atoms = make()
    params = _params(atoms)
    terms = _terms(atoms, params)
    n = len(atoms)
    for name, jac in (("pair", terms.pair_jac), ("triplet", terms.triplet_jac)):
        values = getattr(terms, name)
        dense = jacobian_to_dense(jac, len(values), n)
        numeric = _finite_difference(lambda a: getattr(_terms(a, params), name), atoms)
        np.testing.assert_allclose(dense, numeric, atol=1e-7 * np.abs(numeric).max(), err_msg=name)


@pytest.mark.parametrize("make", [_small_cu, _cuo_cell])
def test_strain_derivative_matches_strained_cells(make):
    atoms = make()
    params = _params(atoms)
    out = _aev(atoms, params)
    n = len(atoms)
    h = 1e-5
    for part, jac in (("radial", out.radial_jac), ("angular", out.angular_jac)):
        analytic = strain_derivative(jac, n)
        for a in range(3):
            for c in range(3):
                strained = []
                for sign in (1, -1):
                    eps = np.eye(3)
                    eps[a, c] += sign * h  # x -> x (1 + eps): row vectors times (1 + eps)
                    s = atoms.copy()
                    s.set_cell(atoms.cell.array @ eps, scale_atoms=True)
                    strained.append(getattr(_aev(s, params), part))
                numeric = (strained[0] - strained[1]) / (2 * h)
                np.testing.assert_allclose(analytic[:, :, a, c], numeric, atol=1e-6 * max(np.abs(numeric).max(), 1))


def test_terms_sum_to_the_aev():
    atoms = _cuo_cell()
    params = _params(atoms)
    out, terms = _aev(atoms, params), _terms(atoms, params)
    element = np.searchsorted(params.elements, atoms.numbers)
    n_el, n_r, n_az = len(params.elements), len(params.radial_shifts), params.n_angular_terms
    radial = np.zeros((len(atoms), n_el, n_r))
    np.add.at(radial, (terms.pair_centre, element[terms.pair_neighbor]), terms.pair)
    np.testing.assert_allclose(radial.reshape(len(atoms), -1), out.radial, rtol=1e-12, atol=1e-15)
    slot = np.zeros((n_el, n_el), int)
    for s, (a, b) in enumerate(params.element_pairs()):
        slot[a, b] = slot[b, a] = s
    angular = np.zeros((len(atoms), n_el * (n_el + 1) // 2, n_az))
    np.add.at(angular, (terms.triplet_centre, slot[element[terms.triplet_j], element[terms.triplet_k]]),
              terms.triplet)
    np.testing.assert_allclose(angular.reshape(len(atoms), -1), out.angular, rtol=1e-12, atol=1e-15)
    # the triplet rows' Jacobian blocks are (centre, j, k), pair blocks (centre, neighbour)
    np.testing.assert_array_equal(terms.triplet_jac.atom.reshape(-1, 3),
                                  np.stack([terms.triplet_centre, terms.triplet_j, terms.triplet_k], 1))
    np.testing.assert_array_equal(terms.pair_jac.atom.reshape(-1, 2), np.stack([terms.pair_centre,
                                                                                 terms.pair_neighbor], 1))


# --- invariances --------------------------------------------------------------------------


def _rotation(seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))


def test_rotation_translation_and_permutation_invariance():
    atoms = _glycine_like()
    params = _params(atoms)
    base = _full(atoms, params)
    moved = atoms.copy()
    moved.positions = atoms.positions @ _rotation(0).T + np.array([1.5, -3.0, 0.7])
    np.testing.assert_allclose(_full(moved, params), base, rtol=1e-10, atol=1e-12)
    perm = np.random.default_rng(1).permutation(len(atoms))
    np.testing.assert_allclose(_full(atoms[perm], params), base[perm], rtol=1e-10, atol=1e-12)


def test_periodic_rotation_image_shift_and_permutation_invariance():
    atoms = _cuo_cell()
    params = _params(atoms)
    base = _full(atoms, params)
    rotated = atoms.copy()
    rotation = _rotation(2)
    rotated.set_cell(atoms.cell.array @ rotation.T)
    rotated.positions = atoms.positions @ rotation.T
    np.testing.assert_allclose(_full(rotated, params), base, rtol=1e-10, atol=1e-12)
    shifted = atoms.copy()
    shifted.positions[1] += atoms.cell.array[0] - 2 * atoms.cell.array[2]
    np.testing.assert_allclose(_full(shifted, params), base, rtol=1e-10, atol=1e-12)
    perm = np.array([1, 0, 2])  # swap the two Cu atoms
    np.testing.assert_allclose(_full(atoms[perm], params), base[perm], rtol=1e-10, atol=1e-12)


# --- bad input ----------------------------------------------------------------------------


def test_bad_input_is_named():
    atoms = _ethanol()
    with pytest.raises(ValueError, match="element 8 .O. is not in the AEV's elements"):
        _aev(atoms, AniParams.like_ani1x([1, 6]))
    with pytest.raises(ValueError, match="angle_scale must be in"):
        AniParams(**{**AniParams.like_ani1x().to_dict(), "angle_scale": 1.0})
    with pytest.raises(ValueError, match="angular_cutoff"):
        AniParams(**{**AniParams.like_ani1x().to_dict(), "angular_cutoff": 6.0})
    with pytest.raises(ValueError, match="device must be"):
        nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, 5.2)
        ani_aev(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, nb, AniParams.like_ani1x(), device="tpu")
    twin = atoms.copy()
    twin.positions[1] = twin.positions[0]
    nb = neighbor_list(twin.positions, twin.cell.array, twin.pbc, 5.2)
    with pytest.raises(ValueError, match="distance"):
        ani_aev(twin.positions, twin.numbers, twin.cell.array, twin.pbc, nb, AniParams.like_ani1x())
    assert AniParams.from_dict(AniParams.like_ani1x().to_dict()) == AniParams.like_ani1x()
