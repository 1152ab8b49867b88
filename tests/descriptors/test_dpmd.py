"""DPMD local-frame descriptor: a plain NumPy oracle for the values, finite differences for
the Jacobian (frame-atom blocks included) and the strain derivative, invariances, the
method's known discontinuities, errors."""

import numpy as np
import pytest
from ase import Atoms
from ase.neighborlist import neighbor_list as ase_neighbor_list
from scipy.spatial.transform import Rotation

from descriptors.dpmd import DpmdParams, dpmd
from descriptors.jacobian import jacobian_to_dense, strain_derivative
from descriptors.neighbors import neighbor_list
from structures import cu32 as _cu32, ethanol as _ethanol, rattled as _rattled


def _params(atoms, cutoff=4.0, n_full=3, n_radial=6):
    return DpmdParams(tuple(sorted(set(atoms.numbers.tolist()))), cutoff, n_full, n_radial)


def _dpmd(atoms, params):
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, params.cutoff)
    return dpmd(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, nb, params)


def _per_atom(atoms, params):
    """[n_atoms, K] dense columns."""
    return _dpmd(atoms, params)[0].reshape(len(atoms), -1)[:, params.dense_columns()]


def _reference(atoms, params):
    """The module docstring, literally, with ASE's neighbour entries."""
    i_all, j_all, vec_all = ase_neighbor_list("ijD", atoms, params.cutoff)
    out = np.zeros((len(atoms), params.n_slots, 4))
    starts = np.concatenate(([0], np.cumsum(np.add(params.n_full, params.n_radial))[:-1]))
    for i in range(len(atoms)):
        vec, j = vec_all[i_all == i], j_all[i_all == i]
        r = np.linalg.norm(vec, axis=1)
        a, b = np.argsort(r, kind="stable")[:2]
        ex = vec[a] / r[a]
        t = vec[b] - (vec[b] @ ex) * ex
        ey = t / np.linalg.norm(t)
        frame = np.array([ex, ey, np.cross(ex, ey)])
        for e, z in enumerate(params.elements):
            mine = np.flatnonzero(atoms.numbers[j] == z)
            mine = mine[np.argsort(r[mine], kind="stable")][: params.n_full[e] + params.n_radial[e]]
            for rank, q in enumerate(mine):
                slot = out[i, starts[e] + rank]
                slot[0] = 1 / r[q]
                if rank < params.n_full[e]:
                    slot[1:] = frame @ vec[q] / r[q] ** 2
    return out.reshape(-1, 4)


@pytest.mark.parametrize("structure", [_ethanol, _cu32])
def test_values_match_a_numpy_reference(structure):
    atoms = structure()
    params = _params(atoms)
    np.testing.assert_allclose(_dpmd(atoms, params)[0], _reference(atoms, params), rtol=1e-12, atol=1e-14)


def _numeric_jacobian(atoms, params, h=1e-5):
    n_rows = len(atoms) * params.n_slots
    out = np.zeros((n_rows, 4, len(atoms), 3))
    for a in range(len(atoms)):
        for c in range(3):
            diff = []
            for sign in (1, -1):
                moved = atoms.copy()
                moved.positions[a, c] += sign * h
                diff.append(_dpmd(moved, params)[0])
            out[:, :, a, c] = (diff[0] - diff[1]) / (2 * h)
    return out


@pytest.mark.parametrize("structure", [_ethanol, _cu32])
def test_jacobian_matches_central_differences_including_frame_atoms(structure):
    atoms = structure()
    params = _params(atoms)
    values, jac = _dpmd(atoms, params)
    dense = jacobian_to_dense(jac, len(values), len(atoms))
    np.testing.assert_allclose(dense, _numeric_jacobian(atoms, params), rtol=1e-6, atol=1e-8)
    # the test must see the frame blocks: rows of full slots depend on atoms that are
    # neither the centre nor the slot's neighbour (the two frame atoms)
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, params.cutoff)
    centre = jac.item // params.n_slots
    third_party = (jac.atom != centre) & (np.abs(jac.value[:, 1:]).max(axis=(1, 2)) > 1e-3)
    blocks_per_row = np.bincount(jac.item, minlength=len(values))
    assert third_party.any() and blocks_per_row.max() == 4 and len(nb.i) > 0


def test_strain_derivative_matches_central_differences():
    atoms = _cu32()
    params = _params(atoms)
    values, jac = _dpmd(atoms, params)
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
                diff.append(_dpmd(moved, params)[0])
            np.testing.assert_allclose(analytic[:, :, a, c], (diff[0] - diff[1]) / (2 * h), atol=1e-6)


@pytest.mark.parametrize("structure", [_ethanol, _cu32])
def test_rotation_and_translation_leave_values_unchanged(structure):
    """The local frame turns with the structure, so every value is invariant."""
    atoms = structure()
    params = _params(atoms)
    q = Rotation.from_euler("xyz", [0.3, -1.1, 2.0]).as_matrix()
    moved = atoms.copy()
    moved.positions = atoms.positions @ q.T + np.array([0.7, -3.1, 12.0])
    moved.set_cell(atoms.cell.array @ q.T)
    np.testing.assert_allclose(_dpmd(moved, params)[0], _dpmd(atoms, params)[0], rtol=1e-10, atol=1e-12)


def test_permutation_of_like_atoms_permutes_the_rows_and_image_shifts_change_nothing():
    atoms = _ethanol()
    params = _params(atoms)
    perm = np.arange(len(atoms))
    hydrogens = np.flatnonzero(atoms.numbers == 1)
    perm[hydrogens] = hydrogens[::-1]
    np.testing.assert_allclose(_per_atom(atoms[perm], params), _per_atom(atoms, params)[perm], rtol=1e-12)
    cu = _cu32()
    shifted = cu.copy()
    shifted.positions[3] += cu.cell.array[0] - 2 * cu.cell.array[2]
    np.testing.assert_allclose(_dpmd(shifted, _params(cu))[0], _dpmd(cu, _params(cu))[0], rtol=1e-10, atol=1e-12)


def _trimer_with_probe(x):
    """A bent C-H-H frame plus an O probe at distance x along a fixed direction from C."""
    direction = np.array([0.2, 0.5, 0.84])
    direction /= np.linalg.norm(direction)
    return Atoms("CHHO", positions=[[0, 0, 0], [1.1, 0, 0], [-0.4, 1.0, 0.1], x * direction])


def test_a_neighbour_crossing_the_cutoff_makes_its_slot_jump():
    """Known drawback (review 3.2): no cutoff function, so 1/R drops from 1/r_c to 0."""
    params = DpmdParams((1, 6, 8), 3.0, 2, 2)
    o_slot = params.n_slots * 0 + sum(params.n_full[:2]) + sum(params.n_radial[:2])  # carbon's first O slot
    inside = _dpmd(_trimer_with_probe(3.0 - 1e-7), params)[0][o_slot]
    outside = _dpmd(_trimer_with_probe(3.0 + 1e-7), params)[0][o_slot]
    assert inside[0] == pytest.approx(1 / 3.0, rel=1e-6)
    assert np.all(outside == 0.0)
    assert np.abs(inside - outside).max() > 0.1  # a jump, for a 2e-7 Å move


def test_two_neighbours_swapping_distance_order_swap_slots():
    """At equal distance the two nearest-first slots exchange their neighbours: 1/R is
    continuous, but the local coordinates jump."""
    def structure(d):  # two O at 2.0 -/+ d from C, in different directions
        return Atoms("CHHOO", positions=[[0, 0, 0], [1.1, 0, 0], [-0.4, 1.0, 0.1],
                                         (2.0 - d) * np.array([0.0, 0.0, 1.0]),
                                         (2.0 + d) * np.array([0.0, -0.6, -0.8])])
    params = DpmdParams((1, 6, 8), 3.5, 2, 2)
    first_o = sum(params.n_full[:2]) + sum(params.n_radial[:2])
    before, after = (_dpmd(structure(d), params)[0][first_o:first_o + 2] for d in (1e-7, -1e-7))
    np.testing.assert_allclose(before[:, 0], after[:, 0], rtol=1e-6)  # 1/R continuous
    assert np.abs(before[:, 1:] - after[:, 1:]).max() > 0.1  # x/R^2 .. z/R^2 jump
    np.testing.assert_allclose(before[0, 1:], after[1, 1:], atol=1e-6)  # they exchanged slots


def test_memory_layout_has_blocks_only_for_filled_slots():
    atoms = _ethanol()
    params = DpmdParams((1, 6, 8), 4.0, 4, 20)
    values, jac = _dpmd(atoms, params)
    filled = np.flatnonzero(values[:, 0] > 0)
    assert len(values) == len(atoms) * params.n_slots
    assert set(np.unique(jac.item)) == set(filled.tolist())
    assert len(filled) < len(values) / 2


def test_dense_columns_and_names_agree():
    params = DpmdParams((1, 8), 5.0, (2, 1), (1, 3))
    assert len(params.dense_columns()) == len(params.feature_names()) == params.n_features == 4 * 3 + 4
    assert DpmdParams.from_dict(params.to_dict()) == params


def test_errors_name_the_problem():
    params = DpmdParams((1, 8), 2.0, 2, 2)
    with pytest.raises(ValueError, match="DPMD local frame needs two"):
        _dpmd(Atoms("OH", positions=[[0, 0, 0], [0.97, 0, 0]]), params)
    with pytest.raises(ValueError, match="collinear"):
        _dpmd(Atoms("HOH", positions=[[-0.97, 0, 0], [0, 0, 0], [0.98, 0, 0]]), params)
    with pytest.raises(ValueError, match=r"element 6 \(C\)"):
        _dpmd(Atoms("HOC", positions=[[-0.97, 0, 0], [0, 0, 0], [0.3, 0.9, 0]]), params)
    with pytest.raises(ValueError, match="n_full must be"):
        DpmdParams((1, 8), 2.0, (1, 2, 3), 2)
    with pytest.raises(ValueError, match="all 0"):
        DpmdParams((1, 8), 2.0, 0, 0)
