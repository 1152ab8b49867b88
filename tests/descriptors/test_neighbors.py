"""The Numba cell list against ASE's neighbour list (the oracle), plus bad-input errors."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, fcc111, molecule
from ase.neighborlist import neighbor_list as ase_neighbor_list

from descriptors.neighbors import Neighbors, centre_offsets, neighbor_list


def _rattled(atoms, stdev, seed):
    atoms = atoms.copy()
    atoms.positions += np.random.default_rng(seed).normal(0.0, stdev, atoms.positions.shape)
    return atoms


def _outside_the_cell():
    atoms = _rattled(bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2), 0.1, seed=3)
    rng = np.random.default_rng(4)
    atoms.positions += 2 * atoms.cell[0] - 3 * atoms.cell[2]  # whole structure a few cells away
    atoms.positions += rng.integers(-2, 3, (len(atoms), 3)) @ atoms.cell.array  # per-atom jumps
    return atoms


def _skewed_triclinic():
    cell = [[4.1, 0.0, 0.0], [2.9, 3.3, 0.0], [-1.7, 1.4, 3.6]]
    rng = np.random.default_rng(5)
    return Atoms("Cu5", scaled_positions=rng.uniform(0, 1, (5, 3)), cell=cell, pbc=True)


def _orthorhombic():
    atoms = bulk("Cu", "fcc", a=3.61, orthorhombic=True).repeat((1, 3, 2))  # 2.55 x 7.66 x 7.22 Å
    return _rattled(atoms, 0.05, seed=7)


def _one_atom_tiny_cell():
    return Atoms("Cu", positions=[[0.3, -0.2, 0.1]], cell=np.diag([1.5, 1.7, 2.1]), pbc=True)


def _wire():
    atoms = _rattled(bulk("Cu", "fcc", a=3.61, cubic=True).repeat((1, 1, 3)), 0.05, seed=6)
    atoms.pbc = [False, False, True]
    return atoms


CASES = {
    "molecule": (molecule("CH3CH2OH"), 3.0),
    "fcc_cu_108": (bulk("Cu", "fcc", a=3.61, cubic=True).repeat(3), 6.0),
    "fcc_primitive_triclinic_rattled": (_rattled(bulk("Cu", "fcc", a=3.6), 0.1, seed=1), 6.0),
    "skewed_triclinic_many_images": (_skewed_triclinic(), 7.0),
    "slab_with_vacuum": (_rattled(fcc111("Cu", size=(3, 3, 4), vacuum=6.0), 0.05, seed=2), 5.0),
    "slab_zero_c_vector": (fcc111("Cu", size=(2, 2, 3)), 6.0),
    "wire": (_wire(), 5.0),
    "atoms_outside_the_cell": (_outside_the_cell(), 5.5),
    "orthorhombic_non_cubic": (_orthorhombic(), 6.0),
    "one_atom_tiny_cell": (_one_atom_tiny_cell(), 4.0),
}


def _neighbors(atoms, cutoff):
    return neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, cutoff)


@pytest.mark.parametrize("name", CASES)
def test_same_pairs_as_ase_sorted_by_i_j_shift(name):
    atoms, cutoff = CASES[name]
    nl = _neighbors(atoms, cutoff)
    i, j, shift, vector, distance = ase_neighbor_list("ijSDd", atoms, cutoff)
    order = np.lexsort((shift[:, 2], shift[:, 1], shift[:, 0], j, i))
    assert len(nl.i) > 0
    np.testing.assert_array_equal(nl.i, i[order])
    np.testing.assert_array_equal(nl.j, j[order])
    np.testing.assert_array_equal(nl.shift, shift[order])
    np.testing.assert_allclose(nl.vector, vector[order], rtol=0, atol=1e-10)
    np.testing.assert_allclose(nl.distance, distance[order], rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", CASES)
def test_record_dtypes_and_geometry(name):
    atoms, cutoff = CASES[name]
    nl = _neighbors(atoms, cutoff)
    assert isinstance(nl, Neighbors)
    assert [a.dtype for a in nl] == [np.int64, np.int64, np.int64, np.float64, np.float64]
    expected = atoms.positions[nl.j] + nl.shift @ atoms.cell.array - atoms.positions[nl.i]
    np.testing.assert_allclose(nl.vector, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(nl.distance, np.sqrt((nl.vector**2).sum(axis=1)))
    assert np.all((nl.distance > 0) & (nl.distance < cutoff))
    assert not np.any((nl.i == nl.j) & (nl.shift == 0).all(axis=1))
    assert np.all(nl.shift[:, ~atoms.pbc] == 0)


def test_far_apart_atoms_match_brute_force():
    """A sparse molecule (coarsened bins) against all pairs."""
    rng = np.random.default_rng(8)
    positions = np.concatenate([rng.uniform(0, 4, (20, 3)), rng.uniform(-1e4, 1e4, (10, 3))])
    nl = neighbor_list(positions, np.zeros((3, 3)), False, 2.5)
    d = np.linalg.norm(positions[None, :] - positions[:, None], axis=-1)
    i, j = np.nonzero((d < 2.5) & ~np.eye(len(positions), dtype=bool))
    np.testing.assert_array_equal(nl.i, i)
    np.testing.assert_array_equal(nl.j, j)


def test_scalar_pbc_equals_three_flags():
    atoms, cutoff = CASES["fcc_primitive_triclinic_rattled"]
    one = neighbor_list(atoms.positions, atoms.cell.array, True, cutoff)
    three = neighbor_list(atoms.positions, atoms.cell.array, [True, True, True], cutoff)
    for a, b in zip(one, three):
        np.testing.assert_array_equal(a, b)


def test_no_atoms_gives_empty_record():
    nl = neighbor_list(np.zeros((0, 3)), np.eye(3) * 5, True, 3.0)
    assert [a.shape for a in nl] == [(0,), (0,), (0, 3), (0, 3), (0,)]
    np.testing.assert_array_equal(centre_offsets(nl.i, 0), [0])


def test_centre_offsets_index_each_centres_pairs():
    atoms, cutoff = CASES["molecule"]
    nl = _neighbors(atoms, cutoff)
    offsets = centre_offsets(nl.i, len(atoms))
    assert offsets.dtype == np.int64 and offsets.shape == (len(atoms) + 1,)
    assert offsets[0] == 0 and offsets[-1] == len(nl.i)
    for a in range(len(atoms)):
        np.testing.assert_array_equal(nl.i[offsets[a] : offsets[a + 1]], a)


def test_centre_offsets_of_atoms_without_neighbours():
    atoms, _ = CASES["molecule"]
    nl = _neighbors(atoms, 0.5)
    np.testing.assert_array_equal(centre_offsets(nl.i, len(atoms)), np.zeros(len(atoms) + 1))


@pytest.mark.parametrize(
    ("i", "n_atoms", "match"),
    [([0, 2, 1], 3, "sorted"), ([0, 3], 3, r"in \[0, 3\)"), ([[0, 1]], 2, "1-d")],
)
def test_centre_offsets_rejects_bad_centres(i, n_atoms, match):
    with pytest.raises(ValueError, match=match):
        centre_offsets(np.array(i), n_atoms)


CELL = np.eye(3) * 5.0
POSITIONS = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
WITH_NAN = np.array([[0.0, 0.0, 0.0], [np.nan, 1.0, 1.0]])


@pytest.mark.parametrize(
    ("positions", "cell", "pbc", "cutoff", "match"),
    [
        (np.zeros((4, 2)), CELL, True, 3.0, r"positions must have shape \[n_atoms, 3\], "
         r"received shape \(4, 2\)"),
        (np.zeros(3), CELL, True, 3.0, "positions must have shape"),
        (WITH_NAN, CELL, True, 3.0, r"finite, received NaN or inf at atoms \[1\]"),
        (np.array([[np.inf, 0.0, 0.0]]), CELL, False, 3.0, "finite"),
        (POSITIONS, np.eye(2), True, 3.0, r"cell must have shape \[3, 3\]"),
        (POSITIONS, np.full((3, 3), np.nan), True, 3.0, "cell must be finite"),
        (POSITIONS, CELL, [True, False], 3.0, "pbc must be a bool or 3 bools"),
        (POSITIONS, CELL, True, 0.0, r"cutoff must be a finite number > 0 Å, received 0.0"),
        (POSITIONS, CELL, True, -1.0, "cutoff must be"),
        (POSITIONS, CELL, True, np.nan, "cutoff must be"),
        (POSITIONS, CELL, True, [3.0], "cutoff must be"),
        (POSITIONS, np.zeros((3, 3)), True, 3.0, r"cell has zero volume .* but pbc=\[True, True, True\]; give"),
        (POSITIONS, [[5, 0, 0], [0, 5, 0], [5, 5, 0]], True, 3.0, "zero volume"),
        (POSITIONS, [[5, 0, 0], [10, 0, 0], [0, 0, 0]], [True, True, False], 3.0, "span zero area"),
        (POSITIONS, np.zeros((3, 3)), [False, False, True], 3.0, "span zero length"),
    ],
)
def test_bad_input_raises_a_clear_error(positions, cell, pbc, cutoff, match):
    with pytest.raises(ValueError, match=match):
        neighbor_list(positions, cell, pbc, cutoff)
