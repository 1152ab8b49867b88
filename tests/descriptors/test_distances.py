"""Pair distances and their unit-vector Jacobian: ASE as the oracle, finite differences."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.neighborlist import neighbor_list as ase_neighbor_list

from descriptors.distances import all_pairs, pair_distances
from descriptors.jacobian import jacobian_to_dense, strain_derivative
from descriptors.neighbors import neighbor_list


def _rattled(atoms, stdev, seed):
    atoms = atoms.copy()
    atoms.positions += np.random.default_rng(seed).normal(0.0, stdev, atoms.positions.shape)
    return atoms


def _triclinic_small_cell():
    cell = [[3.1, 0.0, 0.0], [1.2, 2.9, 0.0], [-0.8, 0.7, 3.3]]
    return Atoms("Cu3", scaled_positions=np.random.default_rng(5).uniform(0, 1, (3, 3)), cell=cell, pbc=True)


CASES = {
    "molecule": (_rattled(molecule("CH3CH2OH"), 0.05, seed=1), 3.0),
    "fcc_cu_32": (_rattled(bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2), 0.08, seed=2), 5.0),
    "triclinic_cell_smaller_than_cutoff": (_triclinic_small_cell(), 5.5),
}


def _distances(atoms, cutoff, positions=None, cell=None):
    positions = atoms.positions if positions is None else positions
    cell = atoms.cell.array if cell is None else cell
    nb = neighbor_list(positions, cell, atoms.pbc, cutoff)
    return pair_distances(nb, len(atoms), cutoff)


@pytest.mark.parametrize("case", sorted(CASES))
def test_distances_equal_ase_pair_for_pair(case):
    atoms, cutoff = CASES[case]
    values, jac, centre, neighbor = _distances(atoms, cutoff)
    i, j, shift, d = ase_neighbor_list("ijSd", atoms, cutoff)
    ours = sorted(zip(centre, neighbor, np.round(values[:, 0], 10)))
    theirs = sorted(zip(i, j, np.round(d, 10)))
    assert len(ours) == len(theirs) > 0
    for (a, b, x), (c, e, y) in zip(ours, theirs):
        assert (a, b) == (c, e)
        assert x == pytest.approx(y, abs=1e-9)
    assert values.shape == (len(i), 1) and jac.value.shape == (len(i), 1, 3)


@pytest.mark.parametrize("case", sorted(CASES))
def test_jacobian_equals_central_differences(case):
    atoms, cutoff = CASES[case]
    values, jac, _, _ = _distances(atoms, cutoff)
    n = len(atoms)
    dense = jacobian_to_dense(jac, len(values), n)
    h = 1e-6
    rng = np.random.default_rng(0)
    for a in rng.choice(n, size=min(n, 4), replace=False):
        for c in range(3):
            plus, minus = atoms.positions.copy(), atoms.positions.copy()
            plus[a, c] += h
            minus[a, c] -= h
            v_plus, *_ = _distances(atoms, cutoff, positions=plus)
            v_minus, *_ = _distances(atoms, cutoff, positions=minus)
            assert v_plus.shape == values.shape  # no pair crossed the cutoff
            np.testing.assert_allclose(dense[:, :, a, c], (v_plus - v_minus) / (2 * h), atol=1e-8)


def test_unit_vector_pair_blocks_and_displacements():
    atoms, cutoff = CASES["fcc_cu_32"]
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, cutoff)
    values, jac, centre, neighbor = pair_distances(nb, len(atoms), cutoff)
    np.testing.assert_allclose(np.linalg.norm(jac.value[:, 0], axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(jac.value[:, 0] * values, nb.vector, rtol=1e-12)
    np.testing.assert_array_equal(jac.atom, neighbor)
    np.testing.assert_array_equal(jac.partner, centre)
    np.testing.assert_array_equal(jac.displacement, nb.vector)


def test_strain_derivative_from_displacements_equals_central_differences():
    atoms, cutoff = CASES["triclinic_cell_smaller_than_cutoff"]
    values, jac, _, _ = _distances(atoms, cutoff)
    analytic = strain_derivative(jac, len(values))
    h = 1e-6
    for a, c in [(0, 0), (1, 2), (2, 1)]:
        e = np.zeros((3, 3))
        e[a, c] = h
        plus = _distances(atoms, cutoff, atoms.positions @ (np.eye(3) + e).T, atoms.cell.array @ (np.eye(3) + e).T)
        minus = _distances(atoms, cutoff, atoms.positions @ (np.eye(3) - e).T, atoms.cell.array @ (np.eye(3) - e).T)
        np.testing.assert_allclose(analytic[:, :, a, c], (plus[0] - minus[0]) / (2 * h), atol=1e-7)


def test_all_pairs_of_a_molecule_equal_ase_with_a_large_cutoff():
    atoms = CASES["molecule"][0]
    nb = all_pairs(atoms.positions)
    values, _, centre, neighbor = pair_distances(nb, len(atoms))
    i, j, d = ase_neighbor_list("ijd", atoms, 100.0)
    assert len(values) == len(atoms) * (len(atoms) - 1) == len(i)
    order = np.lexsort((j, i))
    np.testing.assert_array_equal(centre, i[order])
    np.testing.assert_array_equal(neighbor, j[order])
    np.testing.assert_allclose(values[:, 0], d[order], rtol=1e-12)


def test_cutoff_drops_far_entries():
    atoms, _ = CASES["fcc_cu_32"]
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, 5.0)
    values, jac, centre, _ = pair_distances(nb, len(atoms), 3.0)
    assert 0 < len(values) < len(nb.i) and values.max() < 3.0
    assert len(jac.item) == len(values) and len(centre) == len(values)


def test_bad_inputs_name_the_problem():
    atoms, _ = CASES["molecule"]
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, 3.0)
    with pytest.raises(ValueError, match="cutoff must be"):
        pair_distances(nb, len(atoms), -1.0)
    with pytest.raises(ValueError, match="must index atoms"):
        pair_distances(nb, 3, 3.0)
    with pytest.raises(ValueError, match="distinct, finite positions"):
        pair_distances(all_pairs(np.zeros((2, 3))), 2)
    with pytest.raises(ValueError, match="device must be"):
        pair_distances(nb, len(atoms), 3.0, device="tpu")
