"""PIP basis of Morse variables (Jiang & Guo 2013): size by orbit counting, exact invariance
under every permutation of like atoms, values against a whole-group oracle, FD Jacobian."""

import itertools
import math
from collections import Counter

import numpy as np
import pytest
from ase.build import molecule

from descriptors.internal import pair_indices
from descriptors.jacobian import jacobian_to_dense
from descriptors.pip import PipBasis, pair_permutation, pip


def like_atom_permutations(numbers):
    """Every permutation of like atoms (the whole group, enumerated): int [n_atoms] arrays."""
    numbers = np.asarray(numbers)
    groups = [np.flatnonzero(numbers == z) for z in np.unique(numbers)]
    for images in itertools.product(*(itertools.permutations(g) for g in groups)):
        g = np.arange(len(numbers))
        for atoms, image in zip(groups, images):
            g[atoms] = image
        yield g


def fixed_monomials(cycle_lengths, degree):
    """Monomials of total ``degree`` fixed by a pair permutation with these cycle lengths: the
    exponent is constant on each cycle, so count solutions of sum_c length_c e_c = degree."""
    ways = np.zeros(degree + 1, np.int64)
    ways[0] = 1
    for length in cycle_lengths:
        for k in range(length, degree + 1):
            ways[k] += ways[k - length]
    return int(ways[degree])


def cycle_lengths(permutation):
    seen, lengths = set(), []
    for start in range(len(permutation)):
        length, p = 0, start
        while p not in seen:
            seen.add(p)
            p = permutation[p]
            length += 1
        if length:
            lengths.append(length)
    return lengths


def burnside_count(numbers, degree):
    """Orbits of monomials of degree 1..degree under the like-atom group (Burnside's lemma),
    independent of the generator: (1/|G|) sum_g fixed(g)."""
    n = len(numbers)
    perms = [pair_permutation(g, n) for g in like_atom_permutations(numbers)]
    total = 0
    for k in range(1, degree + 1):
        fixed = sum(fixed_monomials(cycle_lengths(p), k) for p in perms)
        assert fixed % len(perms) == 0
        total += fixed // len(perms)
    return total


def test_a2b_basis_size_derived_by_hand():
    # water, pairs (O,H1), (O,H2), (H1,H2); the swap H1<->H2 exchanges the first two:
    # degree 1: y_OH1 + y_OH2, y_HH (2); degree 2: 4 orbits of the 6 monomials; degree 3:
    # (10 monomials + 2 fixed by the swap) / 2 = 6 orbits. Total 12.
    assert PipBasis.generate((8, 1, 1), 3).n_basis == 12
    assert PipBasis.generate((8, 1, 1), 2).n_basis == 6


@pytest.mark.parametrize("numbers, degree", [((7, 1, 1, 1), 3), ((8, 6, 1, 1), 4), ((6, 1, 1, 1, 1), 3),
                                             ((6, 6, 8, 1, 1, 1, 1, 1, 1), 2)])
def test_basis_size_equals_the_orbit_count(numbers, degree):
    basis = PipBasis.generate(numbers, degree)
    assert basis.n_basis == burnside_count(numbers, degree)
    assert len(basis.terms) == sum(len(list(itertools.combinations_with_replacement(range(basis.n_pairs), k)))
                                   for k in range(1, degree + 1))  # every monomial in exactly one orbit


def test_orbits_are_disjoint_and_closed_under_the_whole_group():
    numbers = (6, 1, 1, 1, 1)
    basis = PipBasis.generate(numbers, 3)
    monomials = [tuple(t[t >= 0]) for t in basis.terms]
    assert len(set(monomials)) == len(monomials)  # no duplicates
    perms = [pair_permutation(g, len(numbers)) for g in like_atom_permutations(numbers)]
    for b in range(basis.n_basis):
        orbit = set(monomials[basis.offsets[b]:basis.offsets[b + 1]])
        first = next(iter(orbit))
        assert {tuple(sorted(p[list(first)])) for p in perms} == orbit


def naive_values(positions, basis, a):
    """Orbit sums evaluated from the first monomial of each basis function and the whole
    enumerated group: sum over the distinct images g . m of prod y."""
    i, j = pair_indices(len(positions))
    y = np.exp(-np.linalg.norm(positions[j] - positions[i], axis=1) / a)
    perms = [pair_permutation(g, len(positions)) for g in like_atom_permutations(basis.numbers)]
    out = []
    for b in range(basis.n_basis):
        first = basis.terms[basis.offsets[b]]
        first = first[first >= 0]
        images = {tuple(sorted(p[first])) for p in perms}
        out.append(sum(np.prod(y[list(m)]) for m in images))
    return np.array(out)


def test_values_match_the_whole_group_oracle():
    rng = np.random.default_rng(3)
    atoms = molecule("CH4")
    positions = atoms.positions + rng.normal(0, 0.1, atoms.positions.shape)
    basis = PipBasis.generate(atoms.numbers, 3)
    values, _ = pip(positions, basis, 1.3)
    np.testing.assert_allclose(values[0], naive_values(positions, basis, 1.3), rtol=1e-13)


@pytest.mark.parametrize("name, degree", [("NH3", 3), ("H2CO", 4), ("CH3CH2OH", 2)])
def test_exactly_invariant_under_every_permutation_of_like_atoms(name, degree):
    rng = np.random.default_rng(4)
    atoms = molecule(name)
    positions = atoms.positions + rng.normal(0, 0.1, atoms.positions.shape)
    basis = PipBasis.generate(atoms.numbers, degree)
    values, _ = pip(positions, basis, 1.5)
    n_perms = 0
    for g in like_atom_permutations(atoms.numbers):
        permuted = np.empty_like(positions)
        permuted[g] = positions  # atom a moves to slot g[a]
        np.testing.assert_allclose(pip(permuted, basis, 1.5)[0], values, rtol=1e-13, atol=1e-15)
        n_perms += 1
    assert n_perms == math.prod([math.factorial(c) for c in Counter(atoms.numbers).values()])
    other = positions.copy()
    unlike = int(np.flatnonzero(atoms.numbers != atoms.numbers[0])[0])
    other[[0, unlike]] = other[[unlike, 0]]  # exchanging unlike atoms changes the values
    assert not np.allclose(pip(other, basis, 1.5)[0], values)


def test_basis_is_linearly_independent_on_geometries():
    # NH3 has 6 pairs and 3n - 6 = 6 internal degrees of freedom, so geometries reach
    # independent Morse variables and the orbit sums must give a full-rank design matrix
    rng = np.random.default_rng(5)
    atoms = molecule("NH3")
    basis = PipBasis.generate(atoms.numbers, 3)
    rows = [pip(atoms.positions + rng.normal(0, 0.15, (4, 3)), basis, 1.5)[0][0] for _ in range(3 * basis.n_basis)]
    assert np.linalg.matrix_rank(np.array(rows), tol=1e-10) == basis.n_basis


def test_jacobian_matches_central_finite_differences():
    rng = np.random.default_rng(6)
    atoms = molecule("H2CO")
    positions = atoms.positions + rng.normal(0, 0.1, (4, 3))
    basis = PipBasis.generate(atoms.numbers, 4)
    _, jac = pip(positions, basis, 1.2)
    dense = jacobian_to_dense(jac, 1, 4)
    h = 1e-6
    for a in range(4):
        for c in range(3):
            plus, minus = positions.copy(), positions.copy()
            plus[a, c] += h
            minus[a, c] -= h
            numeric = (pip(plus, basis, 1.2)[0] - pip(minus, basis, 1.2)[0]) / (2 * h)
            np.testing.assert_allclose(dense[0, :, a, c], numeric[0], rtol=1e-6, atol=1e-10)


def test_bad_input_is_rejected():
    basis = PipBasis.generate((8, 1, 1), 2)
    with pytest.raises(ValueError, match="degree must be an integer >= 1"):
        PipBasis.generate((8, 1, 1), 0)
    with pytest.raises(ValueError, match="lower the degree"):
        PipBasis.generate((6,) * 12, 6)
    with pytest.raises(ValueError, match="morse_range must be"):
        pip(np.eye(3), basis, -1.0)
    with pytest.raises(ValueError, match="the basis is for 3 atoms"):
        pip(np.zeros((4, 3)), basis, 1.0)
