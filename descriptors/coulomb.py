"""Coulomb interaction matrix A(R) of point or Gaussian charges, with its position Jacobian.

For charges q (in e) the electrostatic energy of a structure is (in eV)

    E = 1/2 q^T A q = sum_{i<j} q_i q_j A_ij + 1/2 sum_i A_ii q_i^2,

with A in eV/e^2 (the Coulomb constant k_e = 14.399645 eV·Å/e^2, ASE's value, is
included). A depends on positions only, so a model that predicts charges gets the energy
from one contraction with A and the forces from A's Jacobian plus the chain through its
charges (:mod:`zoo.layers.contraction`); ``descriptors`` itself never sees a charge.

Entries of A
------------

Molecules and clusters (``pbc`` all False), i != j, r = |r_j - r_i|:

    A_ij = k_e [1/r + delta(r)],    A_ii = 0,

where ``delta`` is an optional short-range modification that vanishes at long range:

- ``"none"``: delta = 0, point charges.
- ``"gaussian"``: Gaussian charges, rho_i(r) = q_i (2 pi s_i^2)^(-3/2) exp(-r^2 / (2 s_i^2))
  with per-atom widths s_i (Å); their interaction is erf(r / a_ij) / r with
  a_ij = sqrt(2 (s_i^2 + s_j^2)), i.e. delta = -erfc(r / a_ij) / r (the convention of the
  4G-HDNNP paper, T. W. Ko et al., Nat. Commun. 12, 398 (2021), Eq. 4, with gamma_ij =
  a_ij / sqrt(2)). A width of 0 is a point charge. The Gaussian self-energy
  k_e q_i^2 / (2 sqrt(pi) s_i) is *not* in A_ii (it is a per-atom constant times q_i^2
  that a model adds with its own hardness term when it wants one).
- ``"physnet"``: PhysNet's shielded Coulomb (O. T. Unke, M. Meuwly, J. Chem. Theory
  Comput. 15, 3678 (2019), Eq. 13), chi(r) = phi(2r) / sqrt(r^2 + 1) + (1 - phi(2r)) / r
  with phi the quintic cutoff of :func:`descriptors.cutoffs.poly_cutoff` at
  ``damping_cutoff`` (Å) and r in Å inside sqrt(r^2 + 1 Å^2); delta = chi - 1/r, zero from
  r = damping_cutoff / 2 on.

Periodic cells (``pbc`` all True) use the Ewald summation of :mod:`descriptors.ewald`; the
same ``delta`` is added over all periodic images within its range.

Layout of values and Jacobian
-----------------------------

Rows are the upper triangle of A including the diagonal, row-major:
entry e(i, j) = i n - i (i - 1) / 2 + (j - i) for i <= j, P = n (n + 1) / 2 rows of one
column (``values`` [P, 1], eV/e^2); :func:`triangle_indices` gives (i, j) of every row.
The Jacobian (:class:`descriptors.jacobian.Jacobian`) has two blocks per off-diagonal entry,
o-th off-diagonal entry in row-major order -> blocks 2 o (atom i, value -g) and 2 o + 1
(atom j, value g), with g = dA_ij / dr_j; B = n (n - 1). Diagonal entries have no blocks:
they are 0 for molecules and depend on the cell only for periodic cells. Displacements are 0
for atom i and the (minimum-image) vector r_j - r_i for atom j, so
:func:`descriptors.jacobian.strain_derivative` is exact for molecules; for periodic cells A
also depends on the cell explicitly (reciprocal lattice, volume), so the block
displacements do not give the Ewald virial.

Cost and where it stops being practical
---------------------------------------

Everything is dense in atom pairs: memory O(n^2) (P values plus n (n - 1) blocks of
3 + 3 floats and two indices, about 70 n^2 bytes in float64: 0.7 MB at n = 100, 70 MB at
n = 1000 per structure), time O(n^2) for molecules and O(n^2 (n_images + n_k)) for Ewald
(n_images, n_k ~ 10^2 at the default accuracy). It suits molecules, clusters and cells up
to about a thousand atoms; a batch holds the matrices of all its structures. For larger
systems, use a real-space truncated, shifted Coulomb on a neighbour list (O(n)) or a
particle-mesh Ewald that works on the predicted charges directly (O(n log n)); neither
builds A, and neither is implemented here.

Layers (docs/STYLE.md, item 4): scalar ``math`` bodies (below) and the entry body
:func:`direct_entry` (one (i, j) entry with its two blocks) -> compiled names
(:func:`descriptors.cutoffs.compile_scalar`, for ``numba.njit`` and for
``numba.cuda.jit(device=True)``) -> loop kernels (``_direct_cpu``: ``prange`` over rows i;
``_direct_cuda``: one thread per (i, j), :mod:`descriptors.cuda_target`) -> the dispatcher
:func:`coulomb_matrix`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from descriptors import cuda_target, cutoffs
from descriptors.cuda_target import thread_index
from descriptors.jacobian import Jacobian

#: eV·Å/e^2, Coulomb constant e^2 / (4 pi epsilon_0) (ASE: units.Hartree * units.Bohr)
K_E = 14.399645

#: integer codes of the short-range modifications, as passed to compiled kernels
NONE = 0
GAUSSIAN = 1
PHYSNET = 2
DAMPINGS = {"none": NONE, "gaussian": GAUSSIAN, "physnet": PHYSNET}

#: atoms closer than this (Å) are rejected (1/r would be meaningless)
MIN_DISTANCE = 1e-3

# --- scalar math (plain bodies: math only, compiled for each target) -----------------------

_TWO_OVER_SQRT_PI = 1.1283791670955126


def coulomb_term(r):
    """Bare Coulomb kernel 1/r and its r-derivative -1/r^2 (r in Å)."""
    inv = 1.0 / r
    return inv, -inv * inv


def damping_parameter(kind, width_i, width_j, damping_cutoff):
    """The length a of delta for one pair: sqrt(2 (s_i^2 + s_j^2)) for Gaussian charges
    (0: point charges), the shielding cutoff for PhysNet, unused (0) otherwise."""
    if kind == GAUSSIAN:
        return math.sqrt(2.0 * (width_i * width_i + width_j * width_j))
    if kind == PHYSNET:
        return damping_cutoff
    return 0.0


def damping_term(r, kind, a):
    """Short-range modification delta(r) of 1/r and d delta / dr (see the module docstring).

    Args:
        r: distance, Å (> 0).
        kind: NONE, GAUSSIAN or PHYSNET.
        a: :func:`damping_parameter` of the pair (Å).

    Returns:
        (delta, d delta / dr) in 1/Å and 1/Å^2; (0, 0) where delta vanishes.
    """
    if kind == GAUSSIAN and a > 0.0:
        x = r / a
        tail = math.erfc(x) / r
        return -tail, tail / r + _TWO_OVER_SQRT_PI / a * math.exp(-x * x) / r
    if kind == PHYSNET:
        phi, dphi = poly_cutoff(2.0 * r, a)  # phi(2r), d phi / d(2r)
        if phi == 0.0 and dphi == 0.0:
            return 0.0, 0.0
        s = 1.0 / math.sqrt(r * r + 1.0)
        inv = 1.0 / r
        diff = s - inv
        return phi * diff, 2.0 * dphi * diff + phi * (inv * inv - r * s * s * s)
    return 0.0, 0.0


def damping_range(kind, a_max, log_accuracy):
    """Distance (Å) beyond which delta is negligible (GAUSSIAN: erfc(r / a) < accuracy,
    using erfc(x) < exp(-x^2)) or zero (PHYSNET: half the shielding cutoff)."""
    if kind == GAUSSIAN:
        return a_max * math.sqrt(log_accuracy)
    if kind == PHYSNET:
        return 0.5 * a_max
    return 0.0


def coulomb_entry(d0, d1, d2, kind, a, k_e):
    """A_ij = k_e (1/r + delta(r)) of the pair vector d = r_j - r_i and g = dA_ij / dr_j.

    Returns:
        (A_ij in eV/e^2, g0, g1, g2 in eV/(e^2 Å)).
    """
    r = math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
    v, dv = coulomb_term(r)
    w, dw = damping_term(r, kind, a)
    s = k_e * (dv + dw) / r
    return k_e * (v + w), s * d0, s * d1, s * d2


poly_cutoff = cutoffs.poly_cutoff


# --- layout --------------------------------------------------------------------------------


def row_start(i, n):
    """Entry index of (i, i)."""
    return i * n - i * (i - 1) // 2


def offdiag_start(i, n):
    """Off-diagonal index of (i, i + 1): sum over k < i of (n - 1 - k)."""
    return i * (n - 1) - i * (i - 1) // 2


def store_pair(e, o, i, j, g0, g1, g2, d0, d1, d2, item, atom, jac, displacement):
    """Blocks 2 o (atom i, -g) and 2 o + 1 (atom j, g, displacement d) of entry e."""
    b = 2 * o
    item[b] = e
    atom[b] = i
    jac[b, 0, 0] = -g0
    jac[b, 0, 1] = -g1
    jac[b, 0, 2] = -g2
    displacement[b, 0] = 0.0
    displacement[b, 1] = 0.0
    displacement[b, 2] = 0.0
    item[b + 1] = e
    atom[b + 1] = j
    jac[b + 1, 0, 0] = g0
    jac[b + 1, 0, 1] = g1
    jac[b + 1, 0, 2] = g2
    displacement[b + 1, 0] = d0
    displacement[b + 1, 1] = d1
    displacement[b + 1, 2] = d2


def direct_entry(i, j, positions, widths, kind, damping_cutoff, k_e, values, item, atom, jac, displacement):
    """Entry (i, j), i <= j, of a non-periodic structure with its blocks (0 on the diagonal)."""
    n = positions.shape[0]
    e = row_start(i, n) + j - i
    if i == j:
        values[e, 0] = 0.0
        return
    d0 = positions[j, 0] - positions[i, 0]
    d1 = positions[j, 1] - positions[i, 1]
    d2 = positions[j, 2] - positions[i, 2]
    a = damping_parameter(kind, widths[i], widths[j], damping_cutoff)
    v, g0, g1, g2 = coulomb_entry(d0, d1, d2, kind, a, k_e)
    values[e, 0] = v
    store_pair(e, offdiag_start(i, n) + j - i - 1, i, j, g0, g1, g2, d0, d1, d2, item, atom, jac, displacement)


#: the bodies the Coulomb and Ewald kernels share (compiled per target, per module)
LAYOUT_FUNCTIONS = (row_start, offdiag_start, store_pair)
DAMPING_FUNCTIONS = (cutoffs.poly_cutoff, coulomb_term, damping_parameter, damping_term)
_SCALAR_FUNCTIONS = DAMPING_FUNCTIONS + LAYOUT_FUNCTIONS + (coulomb_entry, direct_entry)
# inlined into the prange loop, where Numba marks arrays noalias: as fast as the former
# loop-body code (a called body reloads its inputs after every store, up to 2x slower)
_cpu = cutoffs.compile_scalar(_SCALAR_FUNCTIONS, numba.njit(error_model="numpy", inline="always"))
_direct_entry = _cpu["direct_entry"]


# --- parameters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CoulombParams:
    """How A is built.

    Attributes:
        damping: "none", "gaussian" or "physnet" (module docstring).
        damping_cutoff: Å, the PhysNet shielding cutoff r_cut (shielding ends at r_cut / 2).
        accuracy: Ewald truncation target (periodic cells): real- and reciprocal-space
            terms are dropped where their Gaussian factor is below it (see
            :mod:`descriptors.ewald`).
        alpha: Ewald splitting parameter (1/Å); None chooses it from the cell volume.
    """

    damping: str = "none"
    damping_cutoff: float = 10.0
    accuracy: float = 1e-8
    alpha: float | None = None

    def __post_init__(self):
        if self.damping not in DAMPINGS:
            raise ValueError(f"damping must be one of {sorted(DAMPINGS)}, received {self.damping!r}")
        if not (math.isfinite(self.damping_cutoff) and self.damping_cutoff > 0):
            raise ValueError(f"damping_cutoff must be a finite number > 0 Å, received {self.damping_cutoff!r}")
        if not 0 < self.accuracy < 1:
            raise ValueError(f"accuracy must be in (0, 1), received {self.accuracy!r}")
        if self.alpha is not None and not (math.isfinite(self.alpha) and self.alpha > 0):
            raise ValueError(f"alpha must be None or a finite number > 0 1/Å, received {self.alpha!r}")
        object.__setattr__(self, "damping_cutoff", float(self.damping_cutoff))
        object.__setattr__(self, "accuracy", float(self.accuracy))

    def to_dict(self) -> dict:
        return {"damping": self.damping, "damping_cutoff": self.damping_cutoff, "accuracy": self.accuracy,
                "alpha": self.alpha}

    @classmethod
    def from_dict(cls, d: dict) -> CoulombParams:
        return cls(**d)


# --- layout --------------------------------------------------------------------------------


def n_entries(n_atoms: int) -> int:
    """P = n (n + 1) / 2 rows of A's upper triangle (diagonal included)."""
    return n_atoms * (n_atoms + 1) // 2


def triangle_indices(n_atoms: int) -> tuple[np.ndarray, np.ndarray]:
    """int64 [P] (i, j) of every row of ``values``: the upper triangle i <= j, row-major."""
    i, j = np.triu_indices(n_atoms)
    return i.astype(np.int64), j.astype(np.int64)


# --- loop kernel (molecules and clusters) --------------------------------------------------


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _direct_cpu(positions, widths, kind, damping_cutoff, k_e, values, item, atom, jac, displacement):
    """A of a non-periodic structure: rows i in parallel (each writes its own entries)."""
    n = positions.shape[0]
    for i in numba.prange(n):
        for j in range(i, n):
            _direct_entry(i, j, positions, widths, kind, damping_cutoff, k_e, values, item, atom, jac, displacement)


def _direct_cuda(positions, widths, kind, damping_cutoff, k_e, values, item, atom, jac, displacement):
    """CUDA loop kernel: thread k is the pair (i, j) = divmod(k, n); those with i <= j work."""
    k = thread_index()
    n = positions.shape[0]
    if k < n * n and k % n >= k // n:
        direct_entry(k // n, k % n, positions, widths, kind, damping_cutoff, k_e, values, item, atom, jac,
                     displacement)


def _direct_on_gpu(positions, widths, kind, damping_cutoff) -> tuple[np.ndarray, Jacobian]:
    n = len(positions)
    positions_d, widths_d = cuda_target.to_device(positions, widths)
    outputs = device_outputs(n)
    kernels = cuda_target.compile_kernels((_direct_cuda,), _SCALAR_FUNCTIONS)
    cuda_target.launch(kernels._direct_cuda, n * n, positions_d, widths_d, kind, damping_cutoff, K_E, *outputs)
    values, *jac = cuda_target.to_host(*outputs)
    return values, Jacobian(*jac)


# --- dispatcher ----------------------------------------------------------------------------


def coulomb_matrix(positions, cell, pbc, params: CoulombParams = CoulombParams(), widths=None,
                   device: str = "cpu") -> tuple[np.ndarray, Jacobian]:
    """The upper triangle of A(R) (eV/e^2) and its Jacobian with respect to the positions.

    Args:
        positions: float [n_atoms, 3], Å.
        cell: float [3, 3], Å, lattice vectors as rows (ignored for molecules).
        pbc: bool [3] or bool: all False (molecule, cluster) or all True (Ewald).
        params: damping and Ewald settings.
        widths: float [n_atoms], Å, Gaussian charge widths s_i (``damping="gaussian"``
            only; 0 means a point charge).
        device: "cpu" or "cuda" (:mod:`descriptors.cuda_target`; the Ewald setup, k
            vectors and phases, stays on the CPU).

    Returns:
        values: float64 [P, 1], rows in :func:`triangle_indices` order;
        jac: :class:`Jacobian` with B = n (n - 1) blocks, value [B, 1, 3] in eV/(e^2 Å).

    Raises:
        ValueError: wrong shapes, non-finite positions, partly periodic cells, missing or
            negative widths, or two atoms closer than :data:`MIN_DISTANCE` (molecules).
        CudaUnavailableError: ``device="cuda"`` without a GPU or the simulator.
    """
    on_gpu = cuda_target.use_cuda(device, "coulomb_matrix")
    positions, cell, periodic = checked_structure(positions, cell, pbc)
    widths = _checked_widths(widths, params, len(positions))
    if periodic:
        from descriptors.ewald import ewald_matrix

        return ewald_matrix(positions, cell, params, widths, device=device)
    n = len(positions)
    kind = DAMPINGS[params.damping]
    if on_gpu:
        values, jac = _direct_on_gpu(positions, widths, kind, params.damping_cutoff)
    else:
        values, jac = empty_outputs(n)
        _direct_cpu(positions, widths, kind, params.damping_cutoff, K_E, values, *jac.outputs())
    check_finite(values, n)
    return values, jac


def empty_outputs(n: int) -> tuple[np.ndarray, Jacobian]:
    """Uninitialised ``values`` [P, 1] and Jacobian arrays for n atoms."""
    n_blocks = n * (n - 1)
    return np.empty((n_entries(n), 1)), Jacobian(np.empty(n_blocks, np.int64), np.empty(n_blocks, np.int64),
                                                 np.empty((n_blocks, 1, 3)), np.empty((n_blocks, 3)))


def device_outputs(n: int) -> tuple:
    """:func:`empty_outputs` as CUDA device arrays (values, item, atom, value, displacement)."""
    n_blocks = n * (n - 1)
    return (cuda_target.empty((n_entries(n), 1)), cuda_target.empty(n_blocks, np.int64),
            cuda_target.empty(n_blocks, np.int64), cuda_target.empty((n_blocks, 1, 3)),
            cuda_target.empty((n_blocks, 3)))


def check_finite(values: np.ndarray, n: int) -> None:
    """Name the first pair of coincident atoms when an entry is not finite."""
    bad = np.flatnonzero(~np.isfinite(values[:, 0]))
    if bad.size:
        i, j = triangle_indices(n)
        raise ValueError(f"atoms {i[bad[0]]} and {j[bad[0]]} coincide (or are closer than {MIN_DISTANCE} Å "
                         f"in some periodic image): the Coulomb interaction is infinite; fix the structure")


def checked_structure(positions, cell, pbc):
    """Validated float64 positions [n, 3], cell [3, 3] and whether the structure is periodic."""
    positions = np.ascontiguousarray(positions, dtype=np.float64)
    if positions.ndim != 2 or positions.shape[1] != 3:
        raise ValueError(f"positions must have shape [n_atoms, 3], received shape {positions.shape}")
    if not np.isfinite(positions).all():
        bad = np.flatnonzero(~np.isfinite(positions).all(axis=1))
        raise ValueError(f"positions must be finite, received NaN or inf at atoms {bad[:10].tolist()}")
    pbc = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,))
    if pbc.any() and not pbc.all():
        raise ValueError(f"the Coulomb matrix handles molecules (pbc all False) and 3-d periodic cells "
                         f"(pbc all True), received pbc={pbc.tolist()}; slab Ewald sums are not implemented: "
                         f"add vacuum and make the cell periodic in all three directions, or use pbc=False")
    cell = np.ascontiguousarray(cell, dtype=np.float64)
    if cell.shape != (3, 3) or not np.isfinite(cell).all():
        raise ValueError(f"cell must be a finite [3, 3] array (lattice vectors as rows), received {cell.tolist()}")
    if pbc.all() and abs(np.linalg.det(cell)) < 1e-6:
        raise ValueError(f"cell has zero volume ({np.linalg.det(cell):.3g} Å^3) but pbc={pbc.tolist()}; give three "
                         f"independent lattice vectors or set pbc=False")
    return positions, cell, bool(pbc.all())


def _checked_widths(widths, params: CoulombParams, n: int) -> np.ndarray:
    if params.damping != "gaussian":
        if widths is not None:
            raise ValueError(f"widths are Gaussian charge widths; they need damping='gaussian', "
                             f"received damping={params.damping!r}")
        return np.zeros(n)
    if widths is None:
        raise ValueError("damping='gaussian' needs widths: float [n_atoms] Gaussian charge widths in Å")
    widths = np.ascontiguousarray(widths, dtype=np.float64)
    if widths.shape != (n,) or not np.isfinite(widths).all() or (widths < 0).any():
        raise ValueError(f"widths must be finite, >= 0 Å, of shape [{n}], received shape {widths.shape} "
                         f"with values in [{widths.min(initial=0):.3g}, {widths.max(initial=0):.3g}]")
    return widths
