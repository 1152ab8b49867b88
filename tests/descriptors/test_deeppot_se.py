"""DeepPot-SE environment matrix: a NumPy oracle for the rows, finite differences for the
Jacobian and the strain derivative, the paper's switch (smooth at r_cs and r_c),
slot order and truncation, invariances, errors."""

import numpy as np
import pytest
from ase.neighborlist import neighbor_list as ase_neighbor_list
from scipy.spatial.transform import Rotation

from descriptors.deeppot_se import DeepPotSeParams, deeppot_se, smooth_inverse
from descriptors.jacobian import jacobian_to_dense, strain_derivative
from descriptors.neighbors import neighbor_list
from structures import cu32 as _cu32, ethanol as _ethanol, rattled as _rattled, small_cell as _small_cell


STRUCTURES = [_ethanol, _cu32, _small_cell]


def _params(atoms, cutoff=4.0, cutoff_smooth=2.5, sel=200):
    return DeepPotSeParams(tuple(sorted(set(atoms.numbers.tolist()))), cutoff, cutoff_smooth, sel)


def _env(atoms, params):
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, params.cutoff)
    return deeppot_se(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, nb, params)


def _switched_inverse(r, rcs, rc):
    u = np.clip((r - rcs) / (rc - rcs), 0.0, 1.0)
    return np.where(r < rc, (0.5 * np.cos(np.pi * u) + 0.5) / r, 0.0)


def _reference(atoms, params):
    """Rows of the padded matrix (centre, slot) -> row, from ASE's neighbour entries."""
    i_all, j_all, vec_all = ase_neighbor_list("ijD", atoms, params.cutoff)
    rows = {}
    for i in range(len(atoms)):
        vec, j = vec_all[i_all == i], j_all[i_all == i]
        r = np.linalg.norm(vec, axis=1)
        for e, (z, start) in enumerate(zip(params.elements, params.slot_starts())):
            mine = np.flatnonzero(atoms.numbers[j] == z)
            mine = mine[np.argsort(r[mine], kind="stable")][: params.sel[e]]
            for rank, q in enumerate(mine):
                s = _switched_inverse(r[q], params.cutoff_smooth, params.cutoff)
                rows[i, start + rank] = np.array([s, *(s * vec[q] / r[q])])
    return rows


@pytest.mark.parametrize("structure", [_ethanol, _cu32])
def test_rows_match_a_numpy_reference(structure):
    atoms = structure()
    params = _params(atoms, sel=7)  # truncates: the farthest neighbours of an element are dropped
    values, _, rows = _env(atoms, params)
    ref = _reference(atoms, params)
    assert len(values) == len(ref)
    for v, i, slot in zip(values, rows.centre, rows.slot):
        np.testing.assert_allclose(v, ref[i, slot], rtol=1e-12, atol=1e-15)


def test_rows_of_a_cell_smaller_than_the_cutoff_match_the_reference_as_sets():
    """Images of one atom at +-L tie in distance (their order is rounding), so compare the
    rows of each centre as sorted sets."""
    atoms = _small_cell()
    params = _params(atoms)
    values, _, rows = _env(atoms, params)
    ref = _reference(atoms, params)
    for i in range(len(atoms)):
        ours = values[rows.centre == i]
        theirs = np.array([row for (c, _), row in ref.items() if c == i])
        key = lambda a: a[np.lexsort(np.round(a, 9).T[::-1])]  # noqa: E731
        np.testing.assert_allclose(key(ours), key(theirs), rtol=1e-12, atol=1e-14)


def test_rows_are_contiguous_per_centre_in_slot_order():
    atoms = _ethanol()
    params = _params(atoms, sel=(3, 2, 1))
    values, jac, rows = _env(atoms, params)
    assert np.all(np.diff(rows.centre) >= 0)
    for i in range(len(atoms)):
        slots = rows.slot[rows.centre == i]
        assert np.all(np.diff(slots) > 0)
        starts = params.slot_starts()
        np.testing.assert_array_equal(rows.neighbor_element[rows.centre == i],
                                      np.searchsorted(starts, slots, side="right") - 1)
    np.testing.assert_array_equal(jac.item, np.arange(len(values)))  # one pair block per row
    np.testing.assert_array_equal(jac.partner, rows.centre)


def test_memory_scales_with_actual_neighbours_not_with_sel():
    atoms = _cu32()
    small, large = _params(atoms, sel=100), _params(atoms, sel=1000)
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, 4.0)
    for params in (small, large):
        values, jac, _ = _env(atoms, params)
        assert len(values) == len(nb.i) and len(jac.item) == len(nb.i)


def _numeric_jacobian(atoms, params, h=1e-5):
    n_rows = len(_env(atoms, params)[0])
    out = np.zeros((n_rows, 4, len(atoms), 3))
    for a in range(len(atoms)):
        for c in range(3):
            diff = []
            for sign in (1, -1):
                moved = atoms.copy()
                moved.positions[a, c] += sign * h
                diff.append(_env(moved, params)[0])
            out[:, :, a, c] = (diff[0] - diff[1]) / (2 * h)
    return out


@pytest.mark.parametrize("structure", STRUCTURES)
def test_jacobian_matches_central_differences(structure):
    atoms = structure()
    params = _params(atoms)
    values, jac, _ = _env(atoms, params)
    dense = jacobian_to_dense(jac, len(values), len(atoms))
    np.testing.assert_allclose(dense, _numeric_jacobian(atoms, params), rtol=1e-6, atol=1e-9)


def test_strain_derivative_matches_central_differences():
    atoms = _cu32()  # no distance ties (in a cell smaller than r_c, rows of tied images may swap)
    params = _params(atoms)
    values, jac, _ = _env(atoms, params)
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
                diff.append(_env(moved, params)[0])
            np.testing.assert_allclose(analytic[:, :, a, c], (diff[0] - diff[1]) / (2 * h), atol=1e-7)


def test_switch_is_smooth_at_both_ends():
    """s and ds/dr are continuous at r_cs and r_c (the paper's point against DPMD)."""
    rcs, rc, eps = 2.0, 4.0, 1e-9
    for r0 in (rcs, rc):
        lo, hi = smooth_inverse(r0 - eps, rcs, rc), smooth_inverse(r0 + eps, rcs, rc)
        assert lo[0] == pytest.approx(hi[0], abs=1e-8) and lo[1] == pytest.approx(hi[1], abs=1e-7)
    assert smooth_inverse(rc, rcs, rc) == (0.0, 0.0)
    assert smooth_inverse(1.5, rcs, rc) == pytest.approx((1 / 1.5, -1 / 1.5**2))
    r = np.linspace(0.5, 4.5, 41)
    np.testing.assert_allclose([smooth_inverse(x, rcs, rc)[0] for x in r], _switched_inverse(r, rcs, rc),
                               rtol=1e-13, atol=1e-15)
    h = 1e-6
    for x in np.linspace(0.6, 3.9, 12):
        numeric = (smooth_inverse(x + h, rcs, rc)[0] - smooth_inverse(x - h, rcs, rc)[0]) / (2 * h)
        assert smooth_inverse(x, rcs, rc)[1] == pytest.approx(numeric, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("structure", [_ethanol, _cu32])
def test_rotation_turns_the_vector_columns_and_translation_changes_nothing(structure):
    atoms = structure()
    params = _params(atoms)
    q = Rotation.from_euler("xyz", [0.4, 1.3, -0.6]).as_matrix()
    moved = atoms.copy()
    moved.positions = atoms.positions @ q.T + np.array([5.0, -2.0, 0.3])
    moved.set_cell(atoms.cell.array @ q.T)
    before, after = _env(atoms, params)[0], _env(moved, params)[0]
    np.testing.assert_allclose(after[:, 0], before[:, 0], rtol=1e-10)
    np.testing.assert_allclose(after[:, 1:], before[:, 1:] @ q.T, rtol=1e-9, atol=1e-12)
    # the Gram matrix R̃ R̃^T of each centre (what D is built from) is unchanged
    _, _, rows = _env(atoms, params)
    for i in range(len(atoms)):
        a, b = before[rows.centre == i], after[rows.centre == i]
        np.testing.assert_allclose(b @ b.T, a @ a.T, rtol=1e-9, atol=1e-12)


def test_permutation_of_like_atoms_and_image_shifts():
    atoms = _ethanol()
    params = _params(atoms)
    perm = np.arange(len(atoms))
    hydrogens = np.flatnonzero(atoms.numbers == 1)
    perm[hydrogens] = np.roll(hydrogens, 1)
    v0, _, r0 = _env(atoms, params)
    v1, _, r1 = _env(atoms[perm], params)
    for new, old in enumerate(perm):  # rows of a centre in slot order: equal, up to ties
        np.testing.assert_allclose(v1[r1.centre == new], v0[r0.centre == old], rtol=1e-12)
    cu = _cu32()
    shifted = cu.copy()
    shifted.positions[5] += 2 * cu.cell.array[1] - cu.cell.array[0]
    np.testing.assert_allclose(_env(shifted, _params(cu))[0], _env(cu, _params(cu))[0], rtol=1e-10, atol=1e-13)


def test_auto_and_round_trip():
    params = DeepPotSeParams.auto(["Cu"], 6.0)
    assert params.cutoff_smooth == 0.5 and params.sel == (91,)
    assert DeepPotSeParams.auto(["Cu"], 0.8).cutoff_smooth == 0.4  # below the cutoff
    assert DeepPotSeParams.from_dict(params.to_dict()) == params
    assert DeepPotSeParams((1, 8), 5.0, 1.0, (10, 4)).n_slots == 14


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="cutoff_smooth < cutoff"):
        DeepPotSeParams((29,), 4.0, 4.0, 10)
    with pytest.raises(ValueError, match="sel must be"):
        DeepPotSeParams((1, 8), 4.0, 1.0, (1, 2, 3))
    with pytest.raises(ValueError, match="all 0"):
        DeepPotSeParams((1, 8), 4.0, 1.0, 0)
    params = DeepPotSeParams((1, 8), 4.0, 1.0, 10)
    atoms = _ethanol()
    with pytest.raises(ValueError, match=r"element 6 \(C\)"):
        _env(atoms, params)
