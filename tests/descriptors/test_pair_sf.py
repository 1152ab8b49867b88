"""Pair symmetry functions: a plain NumPy double loop as the oracle for the values, central
finite differences for the Jacobian and the strain derivative, symmetry under exchanging the
two atoms of a pair, invariances, the block layout, and bad-input errors.

Rows are matched by their key (i, j, shift) rather than by position, so that a test does not
depend on the order in which the kernel emits them.
"""

import json

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.neighborlist import neighbor_list as ase_neighbor_list

from descriptors.jacobian import jacobian_to_dense, strain_derivative
from descriptors.neighbors import neighbor_list
from descriptors.pair_sf import PairSfParams, pair_rows, pair_sf
from structures import ethanol as _ethanol, rattled as _rattled, small_cell as _small_cell

CUTOFF_KINDS = ("cos", "tanh", "poly")

# --- structures and helpers ---------------------------------------------------------------


def _cu():
    """Periodic fcc Cu, one conventional cell (4 atoms), rattled: every atom pairs with
    images of the others."""
    return _rattled(bulk("Cu", "fcc", a=3.61, cubic=True), 0.08, seed=1)


STRUCTURES = {"cu": _cu, "small_cell": _small_cell, "ethanol": _ethanol}


def _params(atoms, kind="cos", pair_cutoff=3.5, cutoff=4.0):
    """The automatic grid plus a non-integer zeta and a zeta of 16 (pow and integer paths)."""
    p = PairSfParams.auto(sorted(set(atoms.numbers.tolist())), pair_cutoff, cutoff, n_pair=4, n_radial=4,
                          cutoff_function=kind)
    extra = ((0.1, 2.5, 1.0), (0.05, 16.0, -1.0))
    return PairSfParams(p.elements, p.pair_cutoff, p.cutoff, p.pair_radial, p.radial, p.angular + extra, kind)


def _pair_sf(atoms, params):
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, max(params.pair_cutoff, params.cutoff))
    return pair_sf(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, nb, params)


def _keys(pairs):
    return [(int(i), int(j), tuple(int(s) for s in shift)) for i, j, shift in zip(pairs.i, pairs.j, pairs.shift)]


def _by_key(atoms, params):
    """{(i, j, shift): values row} and {(i, j, shift): dense Jacobian row [K, n_atoms, 3]}."""
    values, jac, pairs = _pair_sf(atoms, params)
    dense = jacobian_to_dense(jac, len(values), len(atoms))
    keys = _keys(pairs)
    assert len(set(keys)) == len(keys), "a pair appears twice"
    return dict(zip(keys, values)), dict(zip(keys, dense))


def _canonical(i, j, shift):
    """The key of the unordered pair (i, j, shift) as the kernel stores it (i < j, or i == j
    with a lexicographically positive shift)."""
    shift = tuple(int(s) for s in shift)
    if i < j or (i == j and shift > (0, 0, 0)):
        return i, j, shift
    return j, i, tuple(-s for s in shift)


def _cutoff_numpy(kind, r, rc):
    x = r / rc
    f = {"cos": 0.5 * (np.cos(np.pi * x) + 1), "tanh": np.tanh(1 - x) ** 3,
         "poly": 1 - 10 * x**3 + 15 * x**4 - 6 * x**5}[kind]
    return np.where(r < rc, f, 0.0)


def _reference(atoms, params):
    """The module docstring's definitions, literally, with ASE's neighbour list: for every
    unordered pair closer than r_p, a loop over all third-atom images k within r_c of both."""
    i_all, j_all, s_all, d_all = ase_neighbor_list("ijSD", atoms, max(params.pair_cutoff, params.cutoff))
    fc = lambda r, rc: float(_cutoff_numpy(params.cutoff_function, np.array(r), rc))  # noqa: E731
    elements = list(params.elements)
    n_rad, n_ang = len(params.radial), len(params.angular)
    out = {}
    for p in range(len(i_all)):
        i, j, shift, u = int(i_all[p]), int(j_all[p]), s_all[p], d_all[p]
        ru = np.linalg.norm(u)
        key = _canonical(i, j, shift)
        if ru >= params.pair_cutoff or key != (i, j, tuple(int(s) for s in shift)):
            continue
        row = np.zeros(params.n_features)
        row[0] = fc(ru, params.pair_cutoff)
        for m, (eta, rs) in enumerate(params.pair_radial):
            row[1 + m] = np.exp(-eta * (ru - rs) ** 2) * fc(ru, params.pair_cutoff)
        for q in np.flatnonzero(i_all == i):
            if q == p:
                continue
            v = d_all[q]
            w = v - u
            rv, rw = np.linalg.norm(v), np.linalg.norm(w)
            if rv >= params.cutoff or rw >= params.cutoff:
                continue
            col0 = 1 + len(params.pair_radial) + elements.index(atoms.numbers[j_all[q]]) * (n_rad + n_ang)
            f = fc(rv, params.cutoff) * fc(rw, params.cutoff)
            for m, (eta, rs) in enumerate(params.radial):
                row[col0 + m] += np.exp(-eta * ((rv - rs) ** 2 + (rw - rs) ** 2)) * f
            cos_i = u @ v / (ru * rv)
            cos_j = (-u) @ w / (ru * rw)
            for m, (eta, zeta, lam) in enumerate(params.angular):
                ang = max(1 + lam * cos_i, 0.0) ** zeta + max(1 + lam * cos_j, 0.0) ** zeta
                row[col0 + n_rad + m] += 2.0 ** (1 - zeta) * ang * np.exp(-eta * (rv**2 + rw**2)) * f
        out[key] = row
    return out


def _numeric_jacobian(atoms, params, h=1e-5):
    """{key: [K, n_atoms, 3]} by central differences of every position component."""
    keys = list(_by_key(atoms, params)[0])
    out = {key: np.zeros((params.n_features, len(atoms), 3)) for key in keys}
    for a in range(len(atoms)):
        for c in range(3):
            shifted = []
            for sign in (1, -1):
                moved = atoms.copy()
                moved.positions[a, c] += sign * h
                values = _by_key(moved, params)[0]
                assert list(values) == keys, "a pair crossed a cutoff under the finite difference"
                shifted.append(values)
            for key in keys:
                out[key][:, a, c] = (shifted[0][key] - shifted[1][key]) / (2 * h)
    return out


# --- values -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CUTOFF_KINDS)
@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_values_match_a_plain_double_loop(name, kind):
    atoms = STRUCTURES[name]()
    params = _params(atoms, kind)
    values = _by_key(atoms, params)[0]
    reference = _reference(atoms, params)
    assert sorted(values) == sorted(reference) and len(values) > 3
    for key, row in reference.items():
        np.testing.assert_allclose(values[key], row, rtol=1e-10, atol=1e-12, err_msg=str(key))
    env = np.array(list(values.values()))[:, 1 + len(params.pair_radial):]
    assert np.abs(env).max() > 1e-3  # the environment columns are not trivially zero


def test_self_image_rows_exist_in_small_cells():
    atoms = _small_cell()
    keys = list(_by_key(atoms, _params(atoms))[0])
    self_rows = [k for k in keys if k[0] == k[1]]
    assert self_rows and all(k[2] > (0, 0, 0) for k in self_rows)


def test_pair_cutoff_beyond_the_environment_cutoff():
    """r_p > r_c: rows out to r_p, third atoms only within r_c of both atoms."""
    atoms = _cu()
    params = _params(atoms, pair_cutoff=4.6, cutoff=3.2)
    values = _by_key(atoms, params)[0]
    reference = _reference(atoms, params)
    assert sorted(values) == sorted(reference)
    for key, row in reference.items():
        np.testing.assert_allclose(values[key], row, rtol=1e-10, atol=1e-12)


def test_envelope_column_is_the_pair_cutoff_function():
    atoms = _ethanol()
    params = _params(atoms, "poly")
    values, _, pairs = _pair_sf(atoms, params)
    np.testing.assert_allclose(values[:, 0], _cutoff_numpy("poly", pairs.distance, params.pair_cutoff),
                               rtol=1e-12, atol=1e-14)
    assert pairs.distance.max() < params.pair_cutoff
    np.testing.assert_allclose(np.linalg.norm(pairs.vector, axis=1), pairs.distance, rtol=1e-13)


# --- derivatives --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CUTOFF_KINDS)
@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_jacobian_matches_central_differences(name, kind):
    atoms = STRUCTURES[name]()
    params = _params(atoms, kind)
    analytic = _by_key(atoms, params)[1]
    numeric = _numeric_jacobian(atoms, params)
    scale = max(np.abs(d).max() for d in analytic.values())
    assert scale > 1e-2
    for key in analytic:
        np.testing.assert_allclose(analytic[key], numeric[key], rtol=0, atol=2e-7 * scale, err_msg=str(key))


def test_strain_derivative_from_displacements_matches_strained_cells():
    atoms = _small_cell()
    params = _params(atoms)
    values, jac, pairs = _pair_sf(atoms, params)
    analytic = strain_derivative(jac, len(values))
    keys = _keys(pairs)
    h = 1e-6
    for a in range(3):
        for c in range(3):
            shifted = []
            for sign in (1, -1):
                strain = np.eye(3)
                strain[a, c] += sign * h
                moved = atoms.copy()
                moved.set_cell(atoms.cell.array @ strain.T, scale_atoms=True)
                by_key = _by_key(moved, params)[0]
                shifted.append(np.array([by_key[k] for k in keys]))
            numeric = (shifted[0] - shifted[1]) / (2 * h)
            np.testing.assert_allclose(analytic[:, :, a, c], numeric, rtol=0, atol=1e-6 * np.abs(values).max())
    assert np.abs(analytic).max() > 0.1


def test_blocks_of_a_row_are_i_j_then_third_atoms_and_sum_to_zero():
    atoms = _ethanol()
    params = _params(atoms)
    values, jac, pairs = _pair_sf(atoms, params)
    starts = np.flatnonzero(np.r_[True, np.diff(jac.item) != 0])
    np.testing.assert_array_equal(jac.item[starts], np.arange(len(values)))
    np.testing.assert_array_equal(jac.atom[starts], pairs.i)
    np.testing.assert_array_equal(jac.atom[starts + 1], pairs.j)
    np.testing.assert_array_equal(jac.displacement[starts], 0.0)
    np.testing.assert_allclose(jac.displacement[starts + 1], pairs.vector, rtol=1e-14)
    np.testing.assert_allclose(np.add.reduceat(jac.value, starts, axis=0), 0.0, atol=1e-11)
    # every row has its i and j blocks; some rows have third atoms
    counts = np.diff(np.r_[starts, len(jac.item)])
    assert counts.min() >= 2 and counts.max() > 2


# --- symmetry and invariances -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_exchanging_i_and_j_changes_no_column(name):
    """Reversing the atom order makes the kernel compute every i != j row from the other
    atom of the pair (the centre of a row is its lower index): all columns must agree."""
    atoms = STRUCTURES[name]()
    params = _params(atoms)
    n = len(atoms)
    values, dense = _by_key(atoms, params)
    reversed_values, reversed_dense = _by_key(atoms[::-1], params)
    checked = 0
    for (i, j, shift), row in reversed_values.items():
        key = _canonical(n - 1 - i, n - 1 - j, shift)
        if i != j:
            assert key[0] == n - 1 - j  # the original row had the other atom as its centre
            checked += 1
        np.testing.assert_allclose(row, values[key], rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(reversed_dense[(i, j, shift)], dense[key][:, ::-1], rtol=1e-9, atol=1e-10)
    assert checked > 3 and len(reversed_values) == len(values)


def test_exchanging_an_atom_and_its_own_image_changes_no_column():
    """Rows (i, i, S): inverting the structure through the origin maps the row onto the
    same pair seen from the image's end; the functions are invariant under inversion, so
    equal rows mean the i <-> j symmetry also holds for self-image rows."""
    atoms = _small_cell()
    params = _params(atoms)
    values = _by_key(atoms, params)[0]
    inverted = atoms.copy()
    inverted.positions = -atoms.positions
    inverted_values = _by_key(inverted, params)[0]
    self_rows = [k for k in values if k[0] == k[1]]
    assert self_rows
    assert len(inverted_values) == len(values)
    for (i, j, shift), row in inverted_values.items():
        # inversion sends the image at S to -S: (i, j, S) was (i, j, -S), and a self-image
        # row (i, i, S) was (i, i, -S), i.e. the same row computed from its other end
        np.testing.assert_allclose(row, values[_canonical(i, j, -np.array(shift))], rtol=1e-11, atol=1e-12)


def test_translation_changes_nothing():
    for make in STRUCTURES.values():
        atoms = make()
        params = _params(atoms)
        values, dense = _by_key(atoms, params)
        moved = atoms.copy()
        moved.positions += [0.37, -1.21, 2.05]
        moved_values, moved_dense = _by_key(moved, params)
        assert list(moved_values) == list(values)
        for key in values:
            np.testing.assert_allclose(moved_values[key], values[key], rtol=1e-11, atol=1e-12)
            np.testing.assert_allclose(moved_dense[key], dense[key], rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", ["ethanol", "small_cell"])
def test_rotation_keeps_values_and_rotates_the_jacobian(name):
    atoms = STRUCTURES[name]()
    params = _params(atoms)
    values, dense = _by_key(atoms, params)
    q, _ = np.linalg.qr(np.random.default_rng(9).normal(size=(3, 3)))
    rotation = q * np.sign(np.linalg.det(q))
    rotated = atoms.copy()
    rotated.set_cell(atoms.cell.array @ rotation.T, scale_atoms=False)
    rotated.positions = atoms.positions @ rotation.T
    rotated_values, rotated_dense = _by_key(rotated, params)
    assert sorted(rotated_values) == sorted(values)
    for key in values:
        np.testing.assert_allclose(rotated_values[key], values[key], rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(rotated_dense[key], dense[key] @ rotation.T, rtol=1e-9, atol=1e-10)


def test_permuting_like_atoms_permutes_rows():
    """Ethanol with its six H atoms (and its two C atoms) in a random order."""
    atoms = _ethanol()
    params = _params(atoms)
    rng = np.random.default_rng(4)
    order = np.arange(len(atoms))
    for z in (1, 6):
        like = np.flatnonzero(atoms.numbers == z)
        order[like] = rng.permutation(like)
    values, dense = _by_key(atoms, params)
    permuted_values, permuted_dense = _by_key(atoms[order], params)
    assert len(permuted_values) == len(values)
    for (i, j, shift), row in permuted_values.items():
        key = _canonical(int(order[i]), int(order[j]), shift)
        np.testing.assert_allclose(row, values[key], rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(permuted_dense[(i, j, shift)], dense[key][:, order], rtol=1e-9, atol=1e-10)


def test_moving_an_atom_by_a_lattice_vector_changes_nothing():
    atoms = _small_cell()
    params = _params(atoms)
    values, dense = _by_key(atoms, params)
    n_shift = np.array([1, -2, 1])
    moved = atoms.copy()
    moved.positions[1] += n_shift @ atoms.cell.array
    moved_values, moved_dense = _by_key(moved, params)
    assert len(moved_values) == len(values)
    for (i, j, shift), row in moved_values.items():
        # atom 1 moved by n cells: its image at shift S is the old image at S + n as the
        # neighbour of a row, and a row centred on it sees the old images at S - n
        old = np.array(shift) + n_shift * (j == 1) - n_shift * (i == 1)
        key = _canonical(i, j, old)
        np.testing.assert_allclose(row, values[key], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(moved_dense[(i, j, shift)], dense[key], rtol=1e-8, atol=1e-10)


def test_pair_rows_pick_one_entry_per_unordered_pair():
    atoms = _small_cell()
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, 3.5)
    rows = pair_rows(nb, 3.5)
    assert 2 * len(rows) == len(nb.i)  # the full list holds each unordered pair twice
    chosen = {(int(nb.i[p]), int(nb.j[p]), tuple(nb.shift[p])) for p in rows}
    assert all(_canonical(*key) == key for key in chosen)


def test_pair_types_follow_the_acsf_pair_order():
    params = PairSfParams.auto([1, 6, 8])
    e1, e2 = np.meshgrid(np.arange(3), np.arange(3), indexing="ij")
    types = params.pair_type(e1, e2)
    np.testing.assert_array_equal(types, types.T)
    assert sorted(types[np.triu_indices(3)].tolist()) == list(range(params.n_pair_types))
    assert params.pair_type(0, 0) == 0 and params.pair_type(0, 2) == 2 and params.pair_type(2, 2) == 5


# --- parameters and errors ----------------------------------------------------------------


def test_params_round_trip_through_json_and_names_follow_columns():
    params = _params(_ethanol(), "tanh")
    assert PairSfParams.from_dict(json.loads(json.dumps(params.to_dict()))) == params
    names = params.feature_names()
    assert len(names) == params.n_features == 1 + 4 + 3 * (4 + 10)
    assert names[0] == "fp(rij)" and names[1].startswith("Gpair(") and names[5].startswith("Grad[H]")
    assert names[-1].startswith("Gang[O]")


@pytest.mark.parametrize("change, message", [
    (dict(pair_cutoff=0.0), r"pair_cutoff must be a finite number > 0 Å, received 0.0"),
    (dict(cutoff=float("nan")), r"cutoff must be a finite number > 0 Å"),
    (dict(radial=((-0.1, 0.0),)), r"radial eta must be >= 0"),
    (dict(pair_radial=((0.1,),)), r"pair_radial entries must be 2 finite numbers"),
    (dict(angular=((0.1, 0.5, 1.0),)), r"angular needs zeta >= 1 and lambda = -1 or \+1"),
    (dict(angular=((0.1, 1.0, 0.5),)), r"angular needs zeta >= 1 and lambda = -1 or \+1"),
    (dict(cutoff_function="step"), r"cutoff_function must be one of"),
    (dict(elements=(6, 1)), r"elements must be a non-empty ascending tuple"),
])
def test_invalid_params_are_rejected(change, message):
    fields = dict(elements=(1, 6), pair_cutoff=3.0, cutoff=4.0, radial=((0.5, 1.0),), angular=((0.1, 1.0, 1.0),))
    with pytest.raises(ValueError, match=message):
        PairSfParams(**{**fields, **change})


def test_bad_inputs_are_named():
    atoms = _ethanol()
    with pytest.raises(ValueError, match=r"element 8 \(O\) is not in the descriptor's elements \(1, 6\).*PairSfParams"):
        _pair_sf(atoms, PairSfParams.auto([1, 6]))
    params = _params(atoms)
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, 4.0)
    with pytest.raises(ValueError, match=r"numbers must be integers of shape \[9\]"):
        pair_sf(atoms.positions, atoms.numbers[:5], None, None, nb, params)
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda', received 'gpu'"):
        pair_sf(atoms.positions, atoms.numbers, None, None, nb, params, device="gpu")
    doubled = atoms.copy()
    doubled.positions[1] = doubled.positions[0]
    nb = neighbor_list(doubled.positions, doubled.cell.array, doubled.pbc, 4.0)
    with pytest.raises(ValueError, match=r"atoms 0 and 1 are at distance 0.0 Å"):
        pair_sf(doubled.positions, doubled.numbers, None, None, nb, params)


def test_no_pairs_gives_empty_rows():
    atoms = Atoms("CuCu", positions=[[0, 0, 0], [5.0, 0, 0]])
    params = PairSfParams.auto([29])
    values, jac, pairs = _pair_sf(atoms, params)
    assert values.shape == (0, params.n_features) and jac.value.shape == (0, params.n_features, 3)
    assert len(pairs.i) == 0 and jac.item.shape == (0,)
