"""ACSF: dscribe and a plain NumPy double sum as oracles for values, finite differences for
the Jacobian, invariances, the cutoff functions, and bad-input errors."""

import json
import math

import numba
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.neighborlist import neighbor_list as ase_neighbor_list

from descriptors import acsf as acsf_module
from descriptors import cutoffs
from descriptors.acsf import MAX_MOMENT_DEGREE, AcsfParams, _kernel_tables, acsf, exp_nonpositive
from descriptors.jacobian import jacobian_to_dense, strain_derivative
from descriptors.neighbors import Neighbors, neighbor_list

CUTOFF_KINDS = ("cos", "tanh", "poly")

# --- structures and helpers ---------------------------------------------------------------


def _rattled(atoms, stdev, seed):
    atoms = atoms.copy()
    atoms.positions += np.random.default_rng(seed).normal(0.0, stdev, atoms.positions.shape)
    return atoms


def _cu108():
    """Periodic fcc Cu, 3x3x3 conventional cells (108 atoms), rattled."""
    return _rattled(bulk("Cu", "fcc", a=3.61, cubic=True).repeat(3), 0.05, seed=1)


def _ethanol():
    return _rattled(molecule("CH3CH2OH"), 0.05, seed=2)


def _small_cell():
    """Two Cu and one Au in a skewed cell much smaller than the cutoffs used with it, so
    every atom sees several images of every atom (itself included)."""
    cell = [[2.7, 0.2, 0.0], [0.3, 2.9, 0.1], [-0.2, 0.4, 2.6]]
    atoms = Atoms("Cu2Au", scaled_positions=[[0.0, 0.0, 0.0], [0.45, 0.55, 0.5], [0.8, 0.2, 0.35]],
                  cell=cell, pbc=True)
    return _rattled(atoms, 0.03, seed=3)


def _ase_neighbors(atoms, cutoff):
    """The neighbour record built by ASE (so these tests do not rely on our neighbour list)."""
    i, j, shift, vector, distance = ase_neighbor_list("ijSDd", atoms, cutoff)
    order = np.argsort(i, kind="stable")
    return Neighbors(i[order].astype(np.int64), j[order].astype(np.int64),
                     shift[order].astype(np.int64), vector[order], distance[order])


def _acsf(atoms, params, neighbors=None):
    if neighbors is None:
        neighbors = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, params.cutoff)
    return acsf(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, neighbors, params)


def _dense(atoms, params):
    values, jac = _acsf(atoms, params)
    return values, jacobian_to_dense(jac, len(atoms), len(atoms))


def _params(elements, cutoff, cutoff_function="cos"):
    """auto grid plus a non-integer zeta and a zeta of 16 (pow and integer paths)."""
    p = AcsfParams.auto(elements, cutoff, n_radial=6, cutoff_function=cutoff_function)
    extra = ((0.05, 2.5, 1.0), (0.02, 16.0, -1.0))
    return AcsfParams(p.elements, p.cutoff, p.radial, p.g4 + extra, p.g5 + extra, cutoff_function)


# --- oracles ------------------------------------------------------------------------------


def _dscribe_layout(params):
    """For each of our columns: its dscribe column and the factor ours / dscribe.

    dscribe: per element e, [G1, G2 x R]; then per element pair (a <= b) at block
    b (b + 1) / 2 + a, [G4 x n4, G5 x n5]. Ours: module docstring of descriptors.acsf.
    """
    n_el, n_rad, n_ang = len(params.elements), len(params.radial), len(params.g4) + len(params.g5)
    columns, factors = [], []
    for e in range(n_el):
        columns += [e * (1 + n_rad) + 1 + m for m in range(n_rad)]
        factors += [1.0] * n_rad
    for a, b in params.element_pairs():
        block = n_el * (1 + n_rad) + (b * (b + 1) // 2 + a) * n_ang
        columns += [block + m for m in range(n_ang)]
        factors += [2.0] * n_ang  # ordered pairs (ours) vs unordered (dscribe)
    return np.array(columns), np.array(factors)


def _dscribe_acsf(atoms, params):
    from dscribe.descriptors import ACSF

    assert params.cutoff_function == "cos"  # the only cutoff dscribe has
    descriptor = ACSF(r_cut=params.cutoff, g2_params=params.radial, g4_params=params.g4,
                      g5_params=params.g5, species=list(params.elements), periodic=bool(atoms.pbc.any()))
    return descriptor.create(atoms)


def _cutoff_numpy(kind, r, rc):
    x = r / rc
    f = {"cos": 0.5 * (np.cos(np.pi * x) + 1), "tanh": np.tanh(1 - x) ** 3,
         "poly": 1 - 10 * x**3 + 15 * x**4 - 6 * x**5}[kind]
    return np.where(r < rc, f, 0.0)


def _reference_acsf(atoms, params):
    """G2, G4, G5 as literal double sums over ordered pairs of neighbour entries (NumPy)."""
    nb = _ase_neighbors(atoms, params.cutoff)
    index = {z: e for e, z in enumerate(params.elements)}
    pairs = params.element_pairs()
    out = np.zeros((len(atoms), params.n_features))
    n_rad, n_ang = len(params.radial), len(params.g4) + len(params.g5)
    for i in range(len(atoms)):
        mine = nb.i == i
        vec, r = nb.vector[mine], nb.distance[mine]
        el = np.array([index[z] for z in atoms.numbers[nb.j[mine]]], dtype=int)
        fc = _cutoff_numpy(params.cutoff_function, r, params.cutoff)
        for m, (eta, rs) in enumerate(params.radial):
            terms = np.exp(-eta * (r - rs) ** 2) * fc
            for e in range(len(params.elements)):
                out[i, e * n_rad + m] = terms[el == e].sum()
        cos = (vec @ vec.T) / np.outer(r, r)
        rjk = np.linalg.norm(vec[:, None] - vec[None], axis=-1)
        fjk = _cutoff_numpy(params.cutoff_function, rjk, params.cutoff)
        slot = np.array([[pairs.index((min(a, b), max(a, b))) for b in el] for a in el])
        slot = slot.reshape(len(r), len(r))
        off_diagonal = ~np.eye(len(r), dtype=bool)
        sets = [(s, True) for s in params.g4] + [(s, False) for s in params.g5]
        for m, ((eta, zeta, lam), is_g4) in enumerate(sets):
            base = np.maximum(1 + lam * cos, 0.0)  # |cos| may exceed 1 by rounding (collinear images)
            term = (2.0 ** (1 - zeta) * base**zeta
                    * np.exp(-eta * (r[:, None] ** 2 + r[None] ** 2)) * np.outer(fc, fc))
            if is_g4:
                term = term * np.exp(-eta * rjk**2) * fjk
            for s in range(len(pairs)):
                out[i, len(params.elements) * n_rad + s * n_ang + m] = term[off_diagonal & (slot == s)].sum()
    return out


# --- values -------------------------------------------------------------------------------


def test_values_match_dscribe_on_periodic_cu_with_ase_neighbors():
    atoms, params = _cu108(), AcsfParams.auto([29], 6.0)
    assert params.n_features == 24
    values, _ = _acsf(atoms, params, _ase_neighbors(atoms, params.cutoff))
    columns, factors = _dscribe_layout(params)
    expected = _dscribe_acsf(atoms, params)[:, columns] * factors
    np.testing.assert_allclose(values, expected, rtol=1e-8, atol=0)


def test_values_match_dscribe_on_ethanol_with_three_elements():
    atoms, params = _ethanol(), _params(["H", "C", "O"], 4.5)
    values, _ = _acsf(atoms, params)
    columns, factors = _dscribe_layout(params)
    expected = _dscribe_acsf(atoms, params)[:, columns] * factors
    n_ang = len(params.g4) + len(params.g5)
    mixed = [s for s, (a, b) in enumerate(params.element_pairs()) if a != b]  # one O only: no O-O
    for s in mixed:  # the element-pair blocks that dscribe orders differently are populated
        block = expected[:, 3 * len(params.radial) + s * n_ang:][:, :n_ang]
        assert np.all(block.max(axis=0) > 1e-4)
    np.testing.assert_allclose(values, expected, rtol=1e-8, atol=1e-14)


def test_angular_sums_are_twice_dscribes_unordered_sums():
    atoms, params = _ethanol(), _params([1, 6, 8], 4.5)
    values, _ = _acsf(atoms, params)
    columns, factors = _dscribe_layout(params)
    unordered = _dscribe_acsf(atoms, params)[:, columns]
    angular = factors == 2.0
    np.testing.assert_allclose(values[:, angular], 2.0 * unordered[:, angular], rtol=1e-8)
    np.testing.assert_allclose(values[:, ~angular], unordered[:, ~angular], rtol=1e-8)
    assert not np.allclose(values[:, angular], unordered[:, angular], rtol=0.1)


@pytest.mark.parametrize("kind", CUTOFF_KINDS)
def test_values_match_a_plain_double_sum_over_ordered_pairs(kind):
    atoms, params = _small_cell(), _params([29, 79], 5.0, kind)
    expected = _reference_acsf(atoms, params)
    np.testing.assert_allclose(_acsf(atoms, params)[0], expected, rtol=1e-10, atol=1e-13)


def test_pairs_beyond_the_cutoff_are_skipped():
    atoms, params = _small_cell(), _params([29, 79], 4.0)
    wide = _ase_neighbors(atoms, 5.5)
    exact_values, exact_jac = _acsf(atoms, params, _ase_neighbors(atoms, 4.0))
    values, jac = _acsf(atoms, params, wide)
    assert len(jac.item) == len(atoms) + np.count_nonzero(wide.distance < 4.0)
    np.testing.assert_allclose(values, exact_values, rtol=1e-13, atol=1e-15)  # other summation order
    np.testing.assert_allclose(jacobian_to_dense(jac, len(atoms), len(atoms)),
                               jacobian_to_dense(exact_jac, len(atoms), len(atoms)), rtol=1e-12, atol=1e-13)


def test_jacobian_blocks_are_laid_out_per_centre():
    atoms, params = _ethanol(), _params([1, 6, 8], 4.0)
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, params.cutoff)
    _, jac = _acsf(atoms, params, nb)
    counts = np.bincount(nb.i, minlength=len(atoms))
    first = np.concatenate(([0], np.cumsum(counts + 1)[:-1]))
    assert jac.value.shape == (len(atoms) + len(nb.i), params.n_features, 3)
    np.testing.assert_array_equal(jac.item, np.repeat(np.arange(len(atoms)), counts + 1))
    np.testing.assert_array_equal(jac.atom[first], np.arange(len(atoms)))
    np.testing.assert_array_equal(np.delete(jac.atom, first), nb.j)
    per_centre = np.add.reduceat(jac.value, first, axis=0)
    np.testing.assert_allclose(per_centre, 0.0, atol=1e-12)  # translation invariance


def test_one_and_two_threads_give_identical_results():
    atoms, params = _cu108(), AcsfParams.auto([29], 6.0)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = _acsf(atoms, params)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = _acsf(atoms, params)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1].value, two[1].value)


# --- Jacobian against finite differences ---------------------------------------------------


def _finite_differences(atoms, params, h=1e-5):
    out = np.zeros((len(atoms), params.n_features, len(atoms), 3))
    for a in range(len(atoms)):
        for c in range(3):
            shifted = []
            for sign in (1, -1):
                moved = atoms.copy()
                moved.positions[a, c] += sign * h
                shifted.append(_acsf(moved, params)[0])
            out[:, :, a, c] = (shifted[0] - shifted[1]) / (2 * h)
    return out


@pytest.mark.parametrize("kind", CUTOFF_KINDS)
@pytest.mark.parametrize("structure", [_small_cell, _ethanol])
def test_jacobian_matches_central_differences(kind, structure):
    atoms = structure()
    params = _params(sorted(set(atoms.numbers.tolist())), 5.0, kind)
    _, dense = _dense(atoms, params)
    numeric = _finite_differences(atoms, params)
    assert np.abs(dense).max() > 0.1
    np.testing.assert_allclose(dense, numeric, rtol=0, atol=1e-7 * np.abs(dense).max())


# --- G5 by moments (integer zeta up to MAX_MOMENT_DEGREE) against G5 by pairs ---------------


def _moment_params(elements, cutoff):
    """G5 only, integer zetas up to MAX_MOMENT_DEGREE with both lambdas and two etas (the
    moment path), plus G2 and G4 so that the G5 columns sit after other columns."""
    p = AcsfParams.auto(elements, cutoff, n_radial=4, zetas=(1.0,))
    g5 = tuple((eta, float(zeta), lam) for eta in (0.02, 0.1) for zeta in (1, 2, 3, MAX_MOMENT_DEGREE)
               for lam in (-1.0, 1.0))
    return AcsfParams(p.elements, p.cutoff, p.radial, p.g4, g5)


def _with_a_pair_path_set(params):
    """``params`` plus one G5 set of non-integer zeta, which sends all G5 sets down the pair loops."""
    return AcsfParams(params.elements, params.cutoff, params.radial, params.g4, params.g5 + ((0.05, 2.5, 1.0),))


def _columns_of(params, wider):
    """Indices in ``wider``'s columns of the columns of ``params`` (same names)."""
    names = wider.feature_names()
    return [names.index(name) for name in params.feature_names()]


@pytest.fixture()
def moments_everywhere(monkeypatch):
    """Every centre takes the moment path, however few neighbours it has (the tables that
    hold the threshold are cached, so the cache is cleared on the way in and out)."""
    monkeypatch.setattr(acsf_module, "MOMENT_NEIGHBOURS_PER_MONOMIAL", 0.0)
    _kernel_tables.cache_clear()
    yield
    _kernel_tables.cache_clear()


@pytest.mark.parametrize("structure", [_small_cell, _ethanol])
def test_g5_by_moments_equals_g5_by_pairs(structure, moments_everywhere):
    atoms = structure()
    params = _moment_params(sorted(set(atoms.numbers.tolist())), 5.0)
    assert _kernel_tables(params)[5].shape[0] > 0 and _kernel_tables(_with_a_pair_path_set(params))[5].shape[0] == 0
    assert _kernel_tables(params)[-1] == 0
    wider = _with_a_pair_path_set(params)
    columns = _columns_of(params, wider)
    values, dense = _dense(atoms, params)
    pair_values, pair_dense = _dense(atoms, wider)
    g5 = [c for c, name in enumerate(params.feature_names()) if name.startswith("G5")]
    assert np.abs(values[:, g5]).max() > 1.0
    np.testing.assert_allclose(values, pair_values[:, columns], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dense, pair_dense[:, columns], rtol=0, atol=1e-12 * np.abs(dense).max())


def test_g5_by_moments_matches_the_double_sum_and_central_differences(moments_everywhere):
    atoms = _small_cell()
    params = _moment_params([29, 79], 5.0)
    values, dense = _dense(atoms, params)
    np.testing.assert_allclose(values, _reference_acsf(atoms, params), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(dense, _finite_differences(atoms, params), rtol=0, atol=1e-7 * np.abs(dense).max())


def test_strain_derivative_from_displacements_matches_strained_cells():
    """The virial route: d values / d strain from the block displacements equals central
    differences over homogeneously strained cells (positions strained with the cell)."""
    atoms = _small_cell()
    params = _params([29, 79], 5.0)
    values, jac = _acsf(atoms, params)
    analytic = strain_derivative(jac, len(atoms))
    h = 1e-6
    for a in range(3):
        for c in range(3):
            shifted = []
            for sign in (1, -1):
                strain = np.eye(3)
                strain[a, c] += sign * h
                moved = atoms.copy()
                moved.set_cell(atoms.cell.array @ strain.T, scale_atoms=True)
                shifted.append(_acsf(moved, params)[0])
            numeric = (shifted[0] - shifted[1]) / (2 * h)
            np.testing.assert_allclose(analytic[:, :, a, c], numeric, rtol=0, atol=1e-6 * np.abs(values).max())
    assert np.abs(analytic).max() > 0.1


# --- invariances --------------------------------------------------------------------------


def test_translation_changes_nothing():
    for atoms, params in ((_ethanol(), _params([1, 6, 8], 4.5)), (_small_cell(), _params([29, 79], 5.0))):
        values, dense = _dense(atoms, params)
        moved = atoms.copy()
        moved.positions += [0.37, -1.21, 2.05]
        moved_values, moved_dense = _dense(moved, params)
        np.testing.assert_allclose(moved_values, values, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(moved_dense, dense, rtol=1e-9, atol=1e-12)


def test_rotation_changes_values_not_and_rotates_the_jacobian():
    atoms, params = _ethanol(), _params([1, 6, 8], 4.5)
    values, dense = _dense(atoms, params)
    q, _ = np.linalg.qr(np.random.default_rng(9).normal(size=(3, 3)))
    rotation = q * np.sign(np.linalg.det(q))
    rotated = atoms.copy()
    rotated.positions = atoms.positions @ rotation.T
    rotated_values, rotated_dense = _dense(rotated, params)
    np.testing.assert_allclose(rotated_values, values, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(rotated_dense, dense @ rotation.T, rtol=1e-9, atol=1e-11)


def test_permuting_like_atoms_permutes_rows_and_columns():
    atoms, params = _ethanol(), _params([1, 6, 8], 4.5)
    hydrogens = np.flatnonzero(atoms.numbers == 1)
    order = np.arange(len(atoms))
    order[hydrogens] = hydrogens[np.random.default_rng(4).permutation(len(hydrogens))]
    assert not np.array_equal(order, np.arange(len(atoms)))
    values, dense = _dense(atoms, params)
    permuted_values, permuted_dense = _dense(atoms[order], params)
    np.testing.assert_allclose(permuted_values, values[order], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(permuted_dense, dense[order][:, :, order], rtol=1e-9, atol=1e-12)


def test_moving_an_atom_by_a_lattice_vector_changes_nothing():
    atoms, params = _small_cell(), _params([29, 79], 5.0)
    values, dense = _dense(atoms, params)
    moved = atoms.copy()
    moved.positions[1] += atoms.cell.array.T @ [1, -2, 1]
    moved_values, moved_dense = _dense(moved, params)
    np.testing.assert_allclose(moved_values, values, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(moved_dense, dense, rtol=1e-9, atol=1e-12)


# --- scalar math --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CUTOFF_KINDS)
def test_cutoff_functions_and_their_derivatives(kind):
    function = getattr(cutoffs, f"{kind}_cutoff")
    rc, h = 5.0, 1e-6
    for r in np.linspace(0.05, 4.95, 50):
        f, df = function(r, rc)
        assert f == pytest.approx(_cutoff_numpy(kind, np.array(r), rc), rel=1e-13, abs=1e-15)
        assert df == pytest.approx((function(r + h, rc)[0] - function(r - h, rc)[0]) / (2 * h), abs=1e-8)
    assert function(rc, rc) == (0.0, 0.0) and function(7.0, rc) == (0.0, 0.0)
    assert abs(function(rc - 1e-4, rc)[1]) < 1e-3  # zero slope at the cutoff


def test_scalar_helpers_are_accurate():
    for u in np.linspace(-math.pi / 2, math.pi / 2, 101):
        s, c = cutoffs.sin_cos_half_pi(u)
        assert s == pytest.approx(math.sin(u), abs=3e-16) and c == pytest.approx(math.cos(u), abs=3e-16)
    # every residue of n mod 16 and every n div 16 up to the largest that can occur
    for x in np.concatenate([np.linspace(-30, 0, 301), np.linspace(-599.99, -30, 1777), [-100.5, -500.25]]):
        assert exp_nonpositive(x) == pytest.approx(math.exp(x), rel=4e-16, abs=0.0)
    # zero, not subnormal-prone tiny values, below -600 (and no shift out of range)
    assert [exp_nonpositive(x) for x in (-600.0, -600.5, -707.9, -745.0, -1e5)] == [0.0] * 5


# --- parameters ---------------------------------------------------------------------------


def test_params_round_trip_through_json():
    params = _params([1, 6, 8], 5.0, "poly")
    restored = AcsfParams.from_dict(json.loads(json.dumps(params.to_dict())))
    assert restored == params


def test_feature_names_follow_the_column_order():
    params = AcsfParams.auto([8, 1], 5.0, n_radial=2, n_angular_eta=1, zetas=(1,), angular=("g4",))
    names = params.feature_names()
    assert len(names) == params.n_features == 2 * 2 + 3 * 2
    assert names[0].startswith("G2[H](eta=") and names[2].startswith("G2[O](")
    assert names[4] == "G4[H,H](eta=0.04,zeta=1,lambda=-1)"
    assert [n.split("(")[0] for n in names[4::2]] == ["G4[H,H]", "G4[H,O]", "G4[O,O]"]


def test_auto_grid_is_an_imbalzano_shifted_grid():
    params = AcsfParams.auto(["Cu"], 6.0)
    rs = np.array([s[1] for s in params.radial])
    eta = np.array([s[0] for s in params.radial])
    assert params.elements == (29,) and len(params.radial) == len(params.g4) == len(params.g5) == 8
    assert np.all(np.diff(rs) > 0) and rs[-1] == pytest.approx(6.0 / 8 ** (1 / 8))
    np.testing.assert_allclose(1 / np.sqrt(eta[:-1]), np.diff(rs))  # width = spacing to the next
    assert {s[2] for s in params.g4} == {-1.0, 1.0} and len({s[0] for s in params.g4}) == 2
    centred = AcsfParams.auto([29], 6.0, radial_mode="center")
    assert {s[1] for s in centred.radial} == {0.0}


# --- bad input ----------------------------------------------------------------------------


def test_unknown_element_is_named():
    atoms, params = _ethanol(), AcsfParams.auto([1, 6], 4.0)
    with pytest.raises(ValueError, match=r"element 8 \(O\) is not in the descriptor's elements \(1, 6\)"):
        _acsf(atoms, params)


@pytest.mark.parametrize("change, message", [
    (dict(cutoff=0.0), r"cutoff must be a finite number > 0 Å, received 0.0"),
    (dict(elements=(6, 1)), r"ascending tuple of unique atomic numbers.*received \(6, 1\)"),
    (dict(elements=(1, 1)), r"unique atomic numbers"),
    (dict(radial=((-1.0, 0.0),)), r"radial eta must be >= 0 1/Å\^2, received eta=-1.0"),
    (dict(g4=((0.1, 0.5, 1.0),)), r"g4 zeta must be >= 1, received zeta=0.5"),
    (dict(g5=((0.1, 1.0, 0.5),)), r"g5 lambda must be -1 or \+1, received lambda=0.5"),
    (dict(g5=((0.1, 1.0),)), r"g5 entries must be finite \(eta, zeta, lambda\), received \(0.1, 1.0\)"),
    (dict(cutoff_function="gauss"),
     r"cutoff_function must be one of \['cos', 'poly', 'tanh'\], received 'gauss'"),
])
def test_invalid_params_are_rejected(change, message):
    fields = dict(elements=(1, 6), cutoff=4.0, radial=((0.5, 1.0),), g4=((0.1, 1.0, 1.0),), g5=())
    with pytest.raises(ValueError, match=message):
        AcsfParams(**{**fields, **change})


def test_bad_neighbors_and_devices_are_rejected():
    atoms, params = _ethanol(), AcsfParams.auto([1, 6, 8], 4.0)
    nb = _ase_neighbors(atoms, params.cutoff)
    with pytest.raises(ValueError, match=r"neighbors.j must index atoms in \[0, 9\)"):
        _acsf(atoms, params, nb._replace(j=nb.j + 1))
    with pytest.raises(ValueError, match=r"atoms 0 and \d+ are at distance 0.0 Å"):
        _acsf(atoms, params, nb._replace(distance=np.where(np.arange(len(nb.i)) == 0, 0.0, nb.distance)))
