"""Permutation invariant polynomials (PIPs) of Morse variables, the inputs of PIP-NN.

B. Jiang, H. Guo, J. Chem. Phys. 139, 054112 (2013) (review Kocer, Ko, Behler 2022,
section 2): a 1G network becomes invariant under the exchange of like atoms when its inputs
are polynomials of the Morse variables

    y_ij = exp(-r_ij / a),   i < j,                                  (Jiang & Guo, Eq. 2)

that are symmetrised over the permutation group G of like atoms (Eq. 3–4):

    p(y) = sum over the orbit {g . m : g in G} of a monomial m = prod_p y_p^(e_p).

Generation (:meth:`PipBasis.generate`, numpy and itertools): every monomial of total degree
1 .. ``degree`` in the n_pairs Morse variables is visited in lexicographic order; the orbit
of the first unvisited one is closed under the generators of G (for each element with atoms
a_0 .. a_(m-1), the transposition (a_0 a_1) and the cycle (a_0 .. a_(m-1)), which generate
its symmetric group), acting on pairs through (i, j) -> (g i, g j). The orbit sum is one
basis function and its monomials are marked visited, so no orbit is produced twice
(duplicates removed). Orbit sums of distinct orbits have disjoint monomial supports, hence
they are linearly independent and span every G-invariant polynomial of degree <= ``degree``
(no linearly dependent ones to remove).

Deviation from the paper: Jiang & Guo select a small set of low-order PIPs (for A2B and
A3 the primary invariants, for larger molecules a hand-picked set up to some degree). Here
the basis is *every* orbit sum up to ``degree``: a superset, generated automatically for any
molecule, at the price of more inputs (algebraically, not linearly, dependent ones).

Evaluation (:func:`pip`, Numba): the loop kernel runs over basis functions; each owns its
column of the Jacobian (a ``prange`` would write without races, but one molecule is too
little work for threads, see ``_pip_cpu``). Derivatives go through the
Morse variables: d p / d r_a = sum_pairs (d p / d y_ij) (d y_ij / d r_ij) (d r_ij / d r_a),
with d y / d r = -y / a. Layout as :mod:`descriptors.internal`: one row per molecule
(values [1, n_basis]) and one Jacobian block per atom.

Layers: :func:`morse_variable` (scalar math) and :func:`basis_function` (the work of one
basis function: its orbit sum, its d p / d y in a scratch row and its Jacobian column) are
plain functions compiled by :func:`descriptors.cutoffs.compile_scalar` for both targets;
``_pip_cpu`` loops over basis functions serially, ``device="cuda"`` runs one thread per
pair (``_morse_cuda``) and then one per basis function (``_pip_cuda``, scratch rows in a
device array), :mod:`descriptors.cuda_target`.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers as _numbers

import numba
import numpy as np

from descriptors import cuda_target, cutoffs
from descriptors.cuda_target import thread_index
from descriptors.internal import molecule_blocks, pair_geometry, pair_indices
from descriptors.jacobian import Jacobian

#: the generator refuses to visit more monomials than this (lower the degree)
MAX_MONOMIALS = 2_000_000


# --- scalar math ------------------------------------------------------------------------------
def morse_variable(r, a):
    """Morse variable y = exp(-r / a) (Jiang & Guo 2013, Eq. 2) and dy/dr = -y / a (1/Å)."""
    y = math.exp(-r / a)
    return y, -y / a


def monomial(factors, y, dp):
    """prod_f y[factors[f]] (factors: pair indices padded with -1); adds its gradient with
    respect to y to ``dp`` [n_pairs] (a repeated factor counts once per occurrence)."""
    product = 1.0
    for f in range(len(factors)):
        if factors[f] >= 0:
            product *= y[factors[f]]
    for f in range(len(factors)):
        if factors[f] < 0:
            break
        others = 1.0  # product of the other factors
        for h in range(len(factors)):
            if h != f and factors[h] >= 0:
                others *= y[factors[h]]
        dp[factors[f]] += others
    return product


def basis_function(b, i, j, unit, y, dy, terms, offsets, dp, values, value):
    """Basis function b (Jiang & Guo 2013, Eq. 3-4): ``values[b]`` and column b of ``value``.

    Args:
        b: basis function index; i, j: int [n_pairs] atoms of each pair; unit: float
            [n_pairs, 3] (r_j - r_i) / r_ij; y, dy: float [n_pairs] Morse variables and
            dy/dr; terms, offsets: :class:`PipBasis` arrays.
        dp: float [n_pairs] scratch, zero on entry (d p_b / d y accumulates there).
        values: float [n_basis]; value: float [n_atoms, n_basis, 3], zero in column b on
            entry (only column b is written, so basis functions never race).
    """
    total = 0.0
    for t in range(offsets[b], offsets[b + 1]):
        total += monomial(terms[t], y, dp)
    values[b] = total
    for p in range(len(dp)):
        if dp[p] != 0.0:
            g = dp[p] * dy[p]
            for c in range(3):
                value[j[p], b, c] += g * unit[p, c]
                value[i[p], b, c] -= g * unit[p, c]


_SCALAR_FUNCTIONS = (morse_variable, monomial, basis_function)
_cpu = cutoffs.compile_scalar(_SCALAR_FUNCTIONS, numba.njit(error_model="numpy"))
_morse_variable = _cpu["morse_variable"]
_basis_function = _cpu["basis_function"]


# --- the invariant basis ------------------------------------------------------------------------
def like_atom_generators(numbers) -> list[np.ndarray]:
    """Atom permutations generating the group of permutations of like atoms.

    Args:
        numbers: int [n_atoms], atomic numbers in the molecule's atom order.

    Returns:
        int64 [n_atoms] arrays g (atom a goes to g[a]): per element with m >= 2 atoms the
        transposition of its first two atoms and, for m >= 3, the cycle of all of them.
    """
    numbers = np.asarray(numbers)
    generators = []
    for z in np.unique(numbers):
        atoms = np.flatnonzero(numbers == z)
        if len(atoms) < 2:
            continue
        swap = np.arange(len(numbers))
        swap[atoms[0]], swap[atoms[1]] = atoms[1], atoms[0]
        generators.append(swap)
        if len(atoms) >= 3:
            cycle = np.arange(len(numbers))
            cycle[atoms] = np.roll(atoms, -1)
            generators.append(cycle)
    return generators


def pair_permutation(atom_permutation, n_atoms: int) -> np.ndarray:
    """int64 [n_pairs]: the pair p = (i, j) goes to the pair (g i, g j) (as i < j)."""
    i, j = pair_indices(n_atoms)
    index = np.zeros((n_atoms, n_atoms), np.int64)
    index[i, j] = index[j, i] = np.arange(len(i))
    g = np.asarray(atom_permutation)
    return index[g[i], g[j]]


def _orbit(monomial: tuple, generators: list[list[int]]) -> list[tuple]:
    """Closure of a monomial (sorted tuple of pair indices) under the pair permutations."""
    orbit, frontier = {monomial}, [monomial]
    while frontier:
        m = frontier.pop()
        for g in generators:
            image = tuple(sorted(g[p] for p in m))
            if image not in orbit:
                orbit.add(image)
                frontier.append(image)
    return sorted(orbit)


@dataclasses.dataclass(frozen=True)
class PipBasis:
    """The orbit-sum basis of one molecule's like-atom permutation group.

    Attributes:
        numbers: atomic numbers in the molecule's atom order.
        degree: largest total degree of the monomials.
        terms: int64 [n_terms, degree], pair indices of each monomial (the factors, sorted),
            padded with -1 beyond its degree; monomials of one basis function are contiguous.
        offsets: int64 [n_basis + 1], the terms of basis function b are
            ``terms[offsets[b]:offsets[b + 1]]``.
        degrees: int64 [n_basis], total degree of each basis function.
    """

    numbers: tuple[int, ...]
    degree: int
    terms: np.ndarray
    offsets: np.ndarray
    degrees: np.ndarray

    @property
    def n_basis(self) -> int:
        return len(self.degrees)

    @property
    def n_pairs(self) -> int:
        n = len(self.numbers)
        return n * (n - 1) // 2

    @classmethod
    def generate(cls, numbers, degree: int) -> PipBasis:
        """Every orbit sum of monomials of degree 1 .. ``degree`` (module docstring).

        Basis functions are ordered by degree, then by their lexicographically first
        monomial, so the basis of a molecule is reproducible.

        Args:
            numbers: int [n_atoms], atomic numbers in atom order, n_atoms >= 2.
            degree: int >= 1.

        Raises:
            ValueError: fewer than 2 atoms, a degree below 1, or more than
                :data:`MAX_MONOMIALS` monomials to visit.
        """
        numbers = tuple(int(z) for z in np.asarray(numbers).reshape(-1))
        if not isinstance(degree, _numbers.Integral) or degree < 1:
            raise ValueError(f"degree must be an integer >= 1, received {degree!r}")
        degree = int(degree)
        n_pairs = len(pair_indices(len(numbers))[0])
        n_monomials = math.comb(n_pairs + degree, degree) - 1
        if n_monomials > MAX_MONOMIALS:
            raise ValueError(f"{n_monomials} monomials of degree <= {degree} in {n_pairs} Morse variables exceed "
                             f"{MAX_MONOMIALS}; lower the degree")
        generators = [pair_permutation(g, len(numbers)).tolist() for g in like_atom_generators(numbers)]
        terms, offsets, degrees = [], [0], []
        for k in range(1, degree + 1):
            seen = set()
            for monomial in itertools.combinations_with_replacement(range(n_pairs), k):
                if monomial in seen:
                    continue
                orbit = _orbit(monomial, generators)
                seen.update(orbit)
                terms += [m + (-1,) * (degree - k) for m in orbit]
                offsets.append(len(terms))
                degrees.append(k)
        return cls(numbers, degree, np.array(terms, np.int64).reshape(-1, degree), np.array(offsets, np.int64),
                   np.array(degrees, np.int64))


# --- evaluation -----------------------------------------------------------------------------------
def pip(positions, basis: PipBasis, morse_range: float, device: str = "cpu") -> tuple[np.ndarray, Jacobian]:
    """PIP values of one molecule and their Jacobian with respect to positions.

    Args:
        positions: float [n_atoms, 3], Å, atoms in ``basis.numbers`` order.
        basis: the invariant basis of the molecule (:meth:`PipBasis.generate`).
        morse_range: a in y = exp(-r / a), Å, > 0.
        device: "cpu" or "cuda" (:mod:`descriptors.cuda_target`).

    Returns:
        values: float64 [1, n_basis] (dimensionless);
        jac: :class:`Jacobian` with one block per atom, value float64 [n_atoms, n_basis, 3]
            in 1/Å.

    Raises:
        ValueError: positions that do not match the basis' atom count, non-finite or
            coincident atoms, or a morse_range that is not a positive number.
        CudaUnavailableError: ``device="cuda"`` without a GPU or the simulator.
    """
    on_gpu = cuda_target.use_cuda(device, "pip")
    if not isinstance(morse_range, _numbers.Real) or not math.isfinite(morse_range) or morse_range <= 0:
        raise ValueError(f"morse_range must be a finite number > 0 Å, received {morse_range!r}")
    positions = np.asarray(positions, dtype=np.float64)
    if positions.shape != (len(basis.numbers), 3):
        raise ValueError(f"the basis is for {len(basis.numbers)} atoms, received positions of shape {positions.shape}")
    i, j, vector, distance = pair_geometry(positions)
    inputs = (distance, vector / distance[:, None], i, j, float(morse_range), basis.terms, basis.offsets)
    if on_gpu:
        values, value = _pip_on_gpu(*inputs, len(positions))
    else:
        values = np.zeros(basis.n_basis)
        value = np.zeros((len(positions), basis.n_basis, 3))
        _pip_cpu(*inputs, values, value)
    return values[None, :], molecule_blocks(positions, value)


@numba.njit(cache=True, error_model="numpy")
def _pip_cpu(distance, unit, i, j, a, terms, offsets, values, value):
    """Fill ``values`` [n_basis] and ``value`` [n_atoms, n_basis, 3], basis function by basis
    function (each owns its Jacobian column, so the loop could be a ``prange``; it is not: one
    ethanol basis of degree 3 takes 0.3 ms on one thread and 6 ms with two threads on a busy
    2-core machine, thread start-up dominating such small work)."""
    n_pairs = len(distance)
    y = np.empty(n_pairs)
    dy = np.empty(n_pairs)
    for p in range(n_pairs):
        y[p], dy[p] = _morse_variable(distance[p], a)
    for b in range(len(offsets) - 1):
        _basis_function(b, i, j, unit, y, dy, terms, offsets, np.zeros(n_pairs), values, value)


def _pip_on_gpu(distance, unit, i, j, a, terms, offsets, n_atoms):
    """:func:`_pip_cpu` on the device: Morse variables per pair, then one thread per basis
    function with its scratch row ``dp[b]``."""
    n_pairs, n_basis = len(distance), len(offsets) - 1
    distance_d, unit_d, i_d, j_d, terms_d, offsets_d = cuda_target.to_device(distance, unit, i, j, terms, offsets)
    y, dy = cuda_target.empty(n_pairs), cuda_target.empty(n_pairs)
    dp = cuda_target.zeros((n_basis, n_pairs))
    values, value = cuda_target.empty(n_basis), cuda_target.zeros((n_atoms, n_basis, 3))
    kernels = cuda_target.compile_kernels((_morse_cuda, _pip_cuda), _SCALAR_FUNCTIONS)
    cuda_target.launch(kernels._morse_cuda, n_pairs, distance_d, a, y, dy)
    cuda_target.launch(kernels._pip_cuda, n_basis, i_d, j_d, unit_d, y, dy, terms_d, offsets_d, dp, values, value)
    return cuda_target.to_host(values, value)


def _morse_cuda(distance, a, y, dy):
    """CUDA loop kernel: the Morse variable of pair p."""
    p = thread_index()
    if p < distance.shape[0]:
        y[p], dy[p] = morse_variable(distance[p], a)


def _pip_cuda(i, j, unit, y, dy, terms, offsets, dp, values, value):
    """CUDA loop kernel: basis function b, with scratch row ``dp[b]`` (zeroed by the host)."""
    b = thread_index()
    if b < values.shape[0]:
        basis_function(b, i, j, unit, y, dy, terms, offsets, dp[b], values, value)
