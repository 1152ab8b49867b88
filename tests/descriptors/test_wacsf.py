"""wACSF: a plain NumPy double sum and the element-resolved ACSF kernel as oracles for the
values, finite differences for the Jacobian and the strain derivative, invariances, errors."""

import json

import numpy as np
import pytest
from ase.neighborlist import neighbor_list as ase_neighbor_list

from descriptors.acsf import AcsfParams, acsf
from descriptors.jacobian import jacobian_to_dense, strain_derivative
from descriptors.neighbors import neighbor_list
from descriptors.wacsf import WacsfParams, wacsf
from structures import ethanol as _ethanol, rattled as _rattled, small_cell as _small_cell

CUTOFF_KINDS = ("cos", "tanh", "poly")


def _params(elements, cutoff, kind="cos", weights=None):
    """auto grid plus a non-integer zeta and a zeta of 16 (pow and integer-power paths)."""
    p = WacsfParams.auto(elements, cutoff, n_radial=5, n_angular=2, weights=weights, cutoff_function=kind)
    extra = ((0.3, 1.0, 2.5, 1.0), (0.05, 0.0, 16.0, -1.0))
    return WacsfParams(p.elements, p.cutoff, p.radial, p.angular + extra, p.weights, kind)


def _wacsf(atoms, params):
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, params.cutoff)
    return wacsf(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, nb, params)


def _dense(atoms, params):
    values, jac = _wacsf(atoms, params)
    return values, jacobian_to_dense(jac, len(atoms), len(atoms))


def _cutoff_numpy(kind, r, rc):
    x = r / rc
    f = {"cos": 0.5 * (np.cos(np.pi * x) + 1), "tanh": np.tanh(1 - x) ** 3,
         "poly": 1 - 10 * x**3 + 15 * x**4 - 6 * x**5}[kind]
    return np.where(r < rc, f, 0.0)


def _reference(atoms, params):
    """The module docstring's sums, literally, over ASE's neighbour entries (ordered pairs)."""
    i_all, j_all, vec_all = ase_neighbor_list("ijD", atoms, params.cutoff)
    weight = dict(zip(params.elements, params.weights))
    out = np.zeros((len(atoms), params.n_features))
    for i in range(len(atoms)):
        mine = i_all == i
        vec = vec_all[mine]
        r = np.linalg.norm(vec, axis=1)
        w = np.array([weight[z] for z in atoms.numbers[j_all[mine]]])
        fc = _cutoff_numpy(params.cutoff_function, r, params.cutoff)
        for m, (eta, mu) in enumerate(params.radial):
            out[i, m] = np.sum(w * np.exp(-eta * (r - mu) ** 2) * fc)
        cos = (vec @ vec.T) / np.outer(r, r)
        rjk = np.linalg.norm(vec[:, None] - vec[None], axis=-1)
        fjk = _cutoff_numpy(params.cutoff_function, rjk, params.cutoff)
        off = ~np.eye(len(r), dtype=bool)
        for m, (eta, mu, zeta, lam) in enumerate(params.angular):
            gauss = np.exp(-eta * ((r[:, None] - mu) ** 2 + (r[None] - mu) ** 2 + (rjk - mu) ** 2))
            term = (2.0 ** (1 - zeta) * np.maximum(1 + lam * cos, 0.0) ** zeta * gauss
                    * np.outer(fc, fc) * fjk * np.outer(w, w))
            out[i, len(params.radial) + m] = term[off].sum()
    return out


# --- values -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CUTOFF_KINDS)
def test_values_match_a_plain_double_sum(kind):
    for atoms, elements in ((_small_cell(), [29, 79]), (_ethanol(), [1, 6, 8])):
        params = _params(elements, 4.5, kind)
        np.testing.assert_allclose(_wacsf(atoms, params)[0], _reference(atoms, params), rtol=1e-10, atol=1e-12)


def test_weighted_sums_of_element_resolved_acsf_blocks():
    """With mu = 0, wACSF = sum over ACSF's element blocks weighted by w(e) (radial) and
    w(e1) w(e2) (angular, G4): an oracle that was itself checked against dscribe."""
    atoms = _ethanol()
    ap = AcsfParams.auto([1, 6, 8], 4.5, n_radial=4, angular=("g4",), radial_mode="center")
    table = {1: 0.7, 6: 2.0, 8: -1.5}
    wp = WacsfParams(ap.elements, ap.cutoff, ap.radial, tuple((eta, 0.0, z, lam) for eta, z, lam in ap.g4),
                     weights=tuple(table[z] for z in ap.elements))
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, 4.5)
    ref = acsf(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, nb, ap)[0]
    values = _wacsf(atoms, wp)[0]
    w = np.array(wp.weights)
    n_rad, n_ang = len(ap.radial), len(ap.g4)
    radial = sum(w[e] * ref[:, e * n_rad:(e + 1) * n_rad] for e in range(3))
    angular = sum(w[a] * w[b] * ref[:, 3 * n_rad + s * n_ang:][:, :n_ang]
                  for s, (a, b) in enumerate(ap.element_pairs()))
    np.testing.assert_allclose(values, np.hstack([radial, angular]), rtol=1e-10, atol=1e-12)


def test_size_does_not_grow_with_the_number_of_elements():
    one, four = WacsfParams.auto(["Cu"], 6.0), WacsfParams.auto(["Cu", "Ag", "Au", "Ni"], 6.0)
    assert one.n_features == four.n_features == 40
    assert AcsfParams.auto(["Cu", "Ag", "Au", "Ni"], 6.0).n_features == 4 * 8 + 10 * 16


def test_default_weights_are_atomic_numbers_and_a_table_can_replace_them():
    assert WacsfParams.auto(["O", "H"], 4.0).weights == (1.0, 8.0)
    assert WacsfParams.auto(["O", "H"], 4.0, weights={"H": 0.5, "O": 2.0}).weights == (0.5, 2.0)
    atoms = _ethanol()
    plain, doubled = _params([1, 6, 8], 4.0), _params([1, 6, 8], 4.0, weights=(2.0, 12.0, 16.0))
    v1, v2 = _wacsf(atoms, plain)[0], _wacsf(atoms, doubled)[0]
    n_rad = len(plain.radial)
    np.testing.assert_allclose(v2[:, :n_rad], 2 * v1[:, :n_rad], rtol=1e-12)
    np.testing.assert_allclose(v2[:, n_rad:], 4 * v1[:, n_rad:], rtol=1e-12)


# --- derivatives --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CUTOFF_KINDS)
@pytest.mark.parametrize("structure", [_small_cell, _ethanol])
def test_jacobian_matches_central_differences(kind, structure):
    atoms = structure()
    params = _params(sorted(set(atoms.numbers.tolist())), 4.5, kind)
    _, dense = _dense(atoms, params)
    h = 1e-5
    numeric = np.zeros_like(dense)
    for a in range(len(atoms)):
        for c in range(3):
            shifted = []
            for sign in (1, -1):
                moved = atoms.copy()
                moved.positions[a, c] += sign * h
                shifted.append(_wacsf(moved, params)[0])
            numeric[:, :, a, c] = (shifted[0] - shifted[1]) / (2 * h)
    assert np.abs(dense).max() > 0.1
    np.testing.assert_allclose(dense, numeric, rtol=0, atol=1e-7 * np.abs(dense).max())


def test_strain_derivative_from_displacements_matches_strained_cells():
    atoms, params = _small_cell(), _params([29, 79], 4.5)
    values, jac = _wacsf(atoms, params)
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
                shifted.append(_wacsf(moved, params)[0])
            numeric = (shifted[0] - shifted[1]) / (2 * h)
            np.testing.assert_allclose(analytic[:, :, a, c], numeric, rtol=0, atol=1e-6 * np.abs(values).max())
    assert np.abs(analytic).max() > 1.0


def test_centre_blocks_are_minus_the_neighbour_blocks():
    atoms, params = _ethanol(), _params([1, 6, 8], 4.0)
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, params.cutoff)
    _, jac = _wacsf(atoms, params)
    counts = np.bincount(nb.i, minlength=len(atoms))
    first = np.concatenate(([0], np.cumsum(counts + 1)[:-1]))
    np.testing.assert_array_equal(jac.item, np.repeat(np.arange(len(atoms)), counts + 1))
    np.testing.assert_array_equal(jac.atom[first], np.arange(len(atoms)))
    np.testing.assert_array_equal(np.delete(jac.atom, first), nb.j)
    np.testing.assert_allclose(np.add.reduceat(jac.value, first, axis=0), 0.0, atol=1e-11)


# --- invariances --------------------------------------------------------------------------


def test_translation_and_lattice_shifts_change_nothing():
    for atoms, elements in ((_ethanol(), [1, 6, 8]), (_small_cell(), [29, 79])):
        params = _params(elements, 4.5)
        values, dense = _dense(atoms, params)
        moved = atoms.copy()
        moved.positions += [0.37, -1.21, 2.05]
        if atoms.pbc.all():
            moved.positions[1] += atoms.cell.array.T @ [1, -2, 1]
        moved_values, moved_dense = _dense(moved, params)
        np.testing.assert_allclose(moved_values, values, rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(moved_dense, dense, rtol=1e-9, atol=1e-10)


def test_rotation_keeps_values_and_rotates_the_jacobian():
    atoms, params = _ethanol(), _params([1, 6, 8], 4.5)
    values, dense = _dense(atoms, params)
    q, _ = np.linalg.qr(np.random.default_rng(9).normal(size=(3, 3)))
    rotation = q * np.sign(np.linalg.det(q))
    rotated = atoms.copy()
    rotated.positions = atoms.positions @ rotation.T
    rotated_values, rotated_dense = _dense(rotated, params)
    np.testing.assert_allclose(rotated_values, values, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(rotated_dense, dense @ rotation.T, rtol=1e-9, atol=1e-10)


def test_permuting_atoms_permutes_rows():
    atoms, params = _ethanol(), _params([1, 6, 8], 4.5)
    order = np.random.default_rng(4).permutation(len(atoms))
    values, dense = _dense(atoms, params)
    permuted_values, permuted_dense = _dense(atoms[order], params)
    np.testing.assert_allclose(permuted_values, values[order], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(permuted_dense, dense[order][:, :, order], rtol=1e-9, atol=1e-10)


# --- parameters and errors ----------------------------------------------------------------


def test_params_round_trip_through_json_and_names_follow_columns():
    params = _params([1, 6, 8], 5.0, "poly", weights=(1.0, 2.0, 3.0))
    assert WacsfParams.from_dict(json.loads(json.dumps(params.to_dict()))) == params
    names = params.feature_names()
    assert len(names) == params.n_features and names[0].startswith("Wrad(") and names[-1].startswith("Wang(")


@pytest.mark.parametrize("change, message", [
    (dict(cutoff=-1.0), r"cutoff must be a finite number > 0 Å"),
    (dict(weights=(1.0,)), r"weights must be 2 finite numbers"),
    (dict(radial=((-0.1, 0.0),)), r"radial eta must be >= 0"),
    (dict(angular=((0.1, 0.0, 0.5, 1.0),)), r"angular zeta must be >= 1"),
    (dict(angular=((0.1, 0.0, 1.0, 2.0),)), r"angular lambda must be -1 or \+1"),
    (dict(cutoff_function="step"), r"cutoff_function must be one of"),
])
def test_invalid_params_are_rejected(change, message):
    fields = dict(elements=(1, 6), cutoff=4.0, radial=((0.5, 1.0),), angular=((0.1, 0.0, 1.0, 1.0),))
    with pytest.raises(ValueError, match=message):
        WacsfParams(**{**fields, **change})


def test_unknown_element_and_missing_weight_are_named():
    with pytest.raises(ValueError, match=r"element 8 \(O\) is not in the descriptor's elements \(1, 6\).*WacsfParams"):
        _wacsf(_ethanol(), WacsfParams.auto([1, 6], 4.0))
    with pytest.raises(ValueError, match=r"weights has no entry for \['O'\]"):
        WacsfParams.auto([1, 8], 4.0, weights={"H": 1.0})
