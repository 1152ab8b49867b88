"""Ewald summation of the Coulomb matrix A(R) of a 3-d periodic (triclinic) cell.

The periodic energy E = 1/2 sum_{i,j} sum_n' q_i q_j k_e / |r_j - r_i + n| (n over lattice
vectors, the prime dropping i = j at n = 0) converges only conditionally; Ewald's
splitting with a parameter alpha (P. P. Ewald, Ann. Phys. 369, 253 (1921); as written in
e.g. D. Frenkel, B. Smit, Understanding Molecular Simulation, 2nd ed., Sec. 12.1) gives
the tin-foil (conducting-boundary) value as E = 1/2 q^T A q with, in eV/e^2,

    A_ij / k_e = sum_n  erfc(alpha |d + n|) / |d + n|                      real space
               + (4 pi / V) sum_{k != 0} exp(-k^2 / (4 alpha^2)) / k^2 cos(k . d)    reciprocal
               - pi / (V alpha^2)                                           background
               - [i = j] 2 alpha / sqrt(pi)                                 self term

with d = r_j - r_i (reduced to the minimum image: A depends on d modulo the lattice), n over
lattice vectors (n = 0 skipped for i = j) and k = 2 pi (m_1 b_1 + m_2 b_2 + m_3 b_3) over the
reciprocal lattice (b_i . a_j = delta_ij). Summed with the charges, the self term is
-k_e alpha / sqrt(pi) sum_i q_i^2 and the background term -k_e pi Q^2 / (2 V alpha^2).

Charged cells (Q = sum q_i != 0): the lattice sum diverges; the background term is the
energy of a uniform neutralising background charge -Q / V spread over the cell (the usual
convention of plane-wave codes and of MD packages' Ewald/PME; see J. S. Hub,
B. L. de Groot, D. van der Spoel, J. Chem. Theory Comput. 10, 381 (2014)). With it the
energy does not depend on alpha, which the tests check. It is a physical choice, not a
small correction: energies of cells with different Q (or volume) are on different
footings, and comparing charged periodic cells needs the corrections discussed there.

Short-range modifications (Gaussian charges, PhysNet shielding, :mod:`descriptors.coulomb`)
are added as sum_n delta(|d + n|) over the images within their range.

Parameters: with p = sqrt(-ln accuracy), the real-space sum keeps |d + n| < r_c = p / alpha
and the reciprocal sum |k| < k_c = 2 alpha p, so that the dropped terms carry Gaussian
factors exp(-alpha^2 r_c^2) and exp(-k_c^2 / (4 alpha^2)) below ``accuracy`` (the
error estimates of J. Kolafa, J. W. Perram, Mol. Simul. 9, 351 (1992), up to prefactors).
For a dense matrix the work per pair is the number of images (~ (4 pi / 3) r_c^3 / V) plus
the number of k vectors (~ k_c^3 V / (6 pi^2)); their sum is smallest at
alpha = sqrt(pi) / V^(1/3), the default. Cost and memory: see :mod:`descriptors.coulomb`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from descriptors import coulomb, cuda_target, cutoffs
from descriptors.coulomb import (DAMPINGS, K_E, CoulombParams, damping_parameter, damping_term, offdiag_start,
                                 row_start, store_pair)
from descriptors.cuda_target import thread_index
from descriptors.jacobian import Jacobian

# --- scalar math ---------------------------------------------------------------------------

_TWO_OVER_SQRT_PI = 1.1283791670955126


def real_space_term(r, alpha):
    """erfc(alpha r) / r and its r-derivative (the screened point-charge interaction)."""
    inv = 1.0 / r
    tail = math.erfc(alpha * r) * inv
    return tail, -(tail + _TWO_OVER_SQRT_PI * alpha * math.exp(-alpha * alpha * r * r)) * inv


def minimum_image(p0, p1, p2, cell, inverse):
    """The lattice-equivalent of p = r_j - r_i with fractional components in [-1/2, 1/2] (Å)."""
    f0 = p0 * inverse[0, 0] + p1 * inverse[1, 0] + p2 * inverse[2, 0]
    f1 = p0 * inverse[0, 1] + p1 * inverse[1, 1] + p2 * inverse[2, 1]
    f2 = p0 * inverse[0, 2] + p1 * inverse[1, 2] + p2 * inverse[2, 2]
    f0 -= math.floor(f0 + 0.5)
    f1 -= math.floor(f1 + 0.5)
    f2 -= math.floor(f2 + 0.5)
    return (f0 * cell[0, 0] + f1 * cell[1, 0] + f2 * cell[2, 0],
            f0 * cell[0, 1] + f1 * cell[1, 1] + f2 * cell[2, 1],
            f0 * cell[0, 2] + f1 * cell[1, 2] + f2 * cell[2, 2])


def real_space_sum(d0, d1, d2, same, translations, real_cutoff, alpha, kind, a):
    """sum_n [erfc(alpha |d + n|) / |d + n| + delta(|d + n|)] over the images within
    ``real_cutoff`` (n = 0 skipped when ``same``, i = j), and its gradient with respect to d.

    Returns:
        (sum in 1/Å, three gradient components in 1/Å^2).
    """
    rc2 = real_cutoff * real_cutoff
    real = 0.0
    g0 = g1 = g2 = 0.0
    for t in range(translations.shape[0]):
        x0 = d0 + translations[t, 0]
        x1 = d1 + translations[t, 1]
        x2 = d2 + translations[t, 2]
        r2 = x0 * x0 + x1 * x1 + x2 * x2
        if r2 > rc2 or (same and r2 == 0.0):
            continue
        r = math.sqrt(r2)
        v, dv = real_space_term(r, alpha)
        w, dw = damping_term(r, kind, a)
        real += v + w
        s = (dv + dw) / r
        g0 += s * x0
        g1 += s * x1
        g2 += s * x2
    return real, g0, g1, g2


def reciprocal_sum(i, j, kvectors, weights, cos_kr, sin_kr):
    """sum_k w_k cos(k . (r_j - r_i)) from the phases of each atom, and its gradient with
    respect to r_j (eV/e^2 and eV/(e^2 Å); the weights include k_e)."""
    recip = 0.0
    h0 = h1 = h2 = 0.0
    for m in range(kvectors.shape[0]):
        recip += weights[m] * (cos_kr[i, m] * cos_kr[j, m] + sin_kr[i, m] * sin_kr[j, m])
        s = weights[m] * (sin_kr[i, m] * cos_kr[j, m] - cos_kr[i, m] * sin_kr[j, m])
        h0 += s * kvectors[m, 0]
        h1 += s * kvectors[m, 1]
        h2 += s * kvectors[m, 2]
    return recip, h0, h1, h2


def ewald_entry(i, j, positions, cell, inverse, widths, kind, damping_cutoff, alpha, real_cutoff, translations,
                kvectors, weights, cos_kr, sin_kr, background, self_term, k_e, values, item, atom, jac,
                displacement):
    """Entry (i, j), i <= j, of A for a periodic cell, with its two blocks (none on the diagonal)."""
    n = positions.shape[0]
    d0, d1, d2 = minimum_image(positions[j, 0] - positions[i, 0], positions[j, 1] - positions[i, 1],
                               positions[j, 2] - positions[i, 2], cell, inverse)
    a = damping_parameter(kind, widths[i], widths[j], damping_cutoff)
    real, g0, g1, g2 = real_space_sum(d0, d1, d2, i == j, translations, real_cutoff, alpha, kind, a)
    recip, h0, h1, h2 = reciprocal_sum(i, j, kvectors, weights, cos_kr, sin_kr)
    e = row_start(i, n) + j - i
    values[e, 0] = k_e * real + recip + background
    if i == j:
        values[e, 0] += self_term
    else:
        store_pair(e, offdiag_start(i, n) + j - i - 1, i, j, k_e * g0 + h0, k_e * g1 + h1, k_e * g2 + h2,
                   d0, d1, d2, item, atom, jac, displacement)


_SCALAR_FUNCTIONS = coulomb.DAMPING_FUNCTIONS + coulomb.LAYOUT_FUNCTIONS + (
    real_space_term, minimum_image, real_space_sum, reciprocal_sum, ewald_entry)
# inlined into the prange loop, where Numba marks arrays noalias: as fast as the former
# loop-body code (a called body reloads its inputs after every store, up to 2x slower)
_cpu = cutoffs.compile_scalar(_SCALAR_FUNCTIONS, numba.njit(error_model="numpy", inline="always"))
_ewald_entry = _cpu["ewald_entry"]


# --- parameters ----------------------------------------------------------------------------


class EwaldSetup(NamedTuple):
    """What one cell's sum needs.

    Attributes:
        alpha: splitting parameter, 1/Å.
        real_cutoff: Å, largest image distance kept (r_c, or the damping range if longer).
        translations: float [T, 3], Å, lattice vectors that can bring a minimum-image
            pair within ``real_cutoff``.
        kvectors: float [M, 3], 1/Å, half of the reciprocal vectors with |k| < k_c
            (k and -k contribute alike).
        weights: float [M], eV/e^2, k_e 2 (4 pi / V) exp(-k^2 / (4 alpha^2)) / k^2.
        background: eV/e^2, -k_e pi / (V alpha^2), added to every entry.
        self_term: eV/e^2, -k_e 2 alpha / sqrt(pi), added to the diagonal.
    """

    alpha: float
    real_cutoff: float
    translations: np.ndarray
    kvectors: np.ndarray
    weights: np.ndarray
    background: float
    self_term: float


def default_alpha(cell) -> float:
    """sqrt(pi) / V^(1/3) (1/Å): equal work in real and reciprocal space per pair."""
    return math.sqrt(math.pi) / abs(np.linalg.det(cell)) ** (1.0 / 3.0)


def ewald_setup(cell, accuracy=1e-8, alpha=None, damping_range=0.0) -> EwaldSetup:
    """Splitting parameter, cut-offs, translations and k vectors of a cell.

    Args:
        cell: float [3, 3], Å, lattice vectors as rows (non-zero volume).
        accuracy: truncation target (module docstring).
        alpha: 1/Å; None: :func:`default_alpha`.
        damping_range: Å, range of a short-range modification summed over images.
    """
    cell = np.asarray(cell, dtype=np.float64)
    volume = abs(np.linalg.det(cell))
    alpha = default_alpha(cell) if alpha is None else float(alpha)
    p = math.sqrt(-math.log(accuracy))
    real_cutoff = max(p / alpha, damping_range)
    # minimum-image differences lie within half the sum of the lattice vector lengths
    reach = real_cutoff + 0.5 * np.linalg.norm(cell, axis=1).sum()
    inverse = np.linalg.inv(cell)
    m_max = np.ceil(reach * np.linalg.norm(inverse, axis=0)).astype(np.int64)
    grid = _integer_grid(m_max)
    translations = grid @ cell
    translations = translations[np.linalg.norm(translations, axis=1) <= reach]
    k_cut = 2.0 * alpha * p
    reciprocal = 2.0 * math.pi * inverse.T  # rows b_k with a_i . b_k = 2 pi delta_ik
    m_max = np.floor(k_cut * np.linalg.norm(cell, axis=1) / (2.0 * math.pi)).astype(np.int64)
    grid = _integer_grid(m_max)
    first = np.argmax(grid != 0, axis=1)  # half space: first non-zero component positive
    half = grid[np.any(grid != 0, axis=1) & (grid[np.arange(len(grid)), first] > 0)]
    kvectors = half @ reciprocal
    k2 = np.einsum("kc,kc->k", kvectors, kvectors)
    keep = k2 <= k_cut * k_cut
    kvectors, k2 = kvectors[keep], k2[keep]
    weights = K_E * 8.0 * math.pi / volume * np.exp(-k2 / (4.0 * alpha * alpha)) / k2
    return EwaldSetup(alpha, real_cutoff, np.ascontiguousarray(translations), np.ascontiguousarray(kvectors),
                      weights, -K_E * math.pi / (volume * alpha * alpha), -K_E * _TWO_OVER_SQRT_PI * alpha)


def _integer_grid(m_max) -> np.ndarray:
    """int64 [(2 m0 + 1)(2 m1 + 1)(2 m2 + 1), 3], every m with |m_k| <= m_max[k]."""
    axes = [np.arange(-m, m + 1) for m in m_max]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


# --- loop kernel ---------------------------------------------------------------------------


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _ewald_cpu(positions, cell, inverse, widths, kind, damping_cutoff, alpha, real_cutoff, translations,
               kvectors, weights, cos_kr, sin_kr, background, self_term, k_e, values, item, atom, jac,
               displacement):
    """A of a periodic cell: rows i in parallel (each writes its own entries and blocks)."""
    n = positions.shape[0]
    for i in numba.prange(n):
        for j in range(i, n):
            _ewald_entry(i, j, positions, cell, inverse, widths, kind, damping_cutoff, alpha, real_cutoff,
                         translations, kvectors, weights, cos_kr, sin_kr, background, self_term, k_e, values,
                         item, atom, jac, displacement)


def _ewald_cuda(positions, cell, inverse, widths, kind, damping_cutoff, alpha, real_cutoff, translations,
                kvectors, weights, cos_kr, sin_kr, background, self_term, k_e, values, item, atom, jac,
                displacement):
    """CUDA loop kernel: thread k is the pair (i, j) = divmod(k, n); those with i <= j work."""
    k = thread_index()
    n = positions.shape[0]
    if k < n * n and k % n >= k // n:
        ewald_entry(k // n, k % n, positions, cell, inverse, widths, kind, damping_cutoff, alpha, real_cutoff,
                    translations, kvectors, weights, cos_kr, sin_kr, background, self_term, k_e, values, item,
                    atom, jac, displacement)


# --- dispatcher ----------------------------------------------------------------------------


def ewald_matrix(positions, cell, params: CoulombParams = CoulombParams(), widths=None,
                 device: str = "cpu") -> tuple[np.ndarray, Jacobian]:
    """A(R) of a periodic cell in the layout of :func:`descriptors.coulomb.coulomb_matrix`.

    Prefer :func:`descriptors.coulomb.coulomb_matrix` (it validates the input and
    dispatches here for ``pbc`` all True).

    Args:
        positions: float64 [n, 3], Å; cell: float64 [3, 3], Å (non-zero volume).
        params: damping and Ewald settings.
        widths: float64 [n], Å, Gaussian widths (zeros unless ``damping="gaussian"``).
        device: "cpu" or "cuda": the entries on the GPU, one thread per (i, j); the setup
            (translations, k vectors, weights, phases) is computed on the CPU and copied.
    """
    on_gpu = cuda_target.use_cuda(device, "ewald_matrix")
    positions = np.ascontiguousarray(positions, dtype=np.float64)
    cell = np.ascontiguousarray(cell, dtype=np.float64)
    n = len(positions)
    widths = np.zeros(n) if widths is None else np.ascontiguousarray(widths, dtype=np.float64)
    kind = DAMPINGS[params.damping]
    a_max = 2.0 * float(widths.max(initial=0.0)) if kind == coulomb.GAUSSIAN else params.damping_cutoff
    damping_range = coulomb.damping_range(kind, a_max, -math.log(params.accuracy))
    setup = ewald_setup(cell, params.accuracy, params.alpha, damping_range)
    phase = positions @ setup.kvectors.T
    arrays = (positions, cell, np.linalg.inv(cell), widths)
    scalars = (kind, params.damping_cutoff, setup.alpha, setup.real_cutoff)
    tables = (setup.translations, setup.kvectors, setup.weights, np.cos(phase), np.sin(phase))
    constants = (setup.background, setup.self_term, K_E)
    if on_gpu:
        outputs = coulomb.device_outputs(n)
        kernels = cuda_target.compile_kernels((_ewald_cuda,), _SCALAR_FUNCTIONS)
        cuda_target.launch(kernels._ewald_cuda, n * n, *cuda_target.to_device(*arrays), *scalars,
                           *cuda_target.to_device(*tables), *constants, *outputs)
        values, *blocks = cuda_target.to_host(*outputs)
        jac = Jacobian(*blocks)
    else:
        values, jac = coulomb.empty_outputs(n)
        _ewald_cpu(*arrays, *scalars, *tables, *constants, values, *jac.outputs())
    coulomb.check_finite(values, n)
    return values, jac
