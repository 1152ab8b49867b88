"""Grimme's D2 dispersion correction: per-atom energies with their position Jacobian.

S. Grimme, J. Comput. Chem. 27, 1787 (2006), Eqs. 11-13:

    E_disp = -s6 sum_{i<j} C6_ij / r_ij^6 f_damp(r_ij),
    f_damp(r) = 1 / (1 + exp(-d (r / R_r - 1))),
    C6_ij = sqrt(C6_i C6_j),  R_r = R0_i + R0_j,  d = 20,

with the sum over all pairs within ``cutoff`` (periodic images included). The kernel
returns the per-atom split E_i = 1/2 sum_j e_ij as ``values`` [n_atoms, 1] (eV) with the
COO Jacobian of :mod:`descriptors.jacobian`, so a model adds E_i to its atomic energies
and gets the D2 forces from the same contraction as every other input. ``s6`` is a
parameter (PhysNet and TensorMol-like models may scale a unit-s6 term by a learned factor).

The truncation at ``cutoff`` is abrupt (as in most D2 codes); at the default 15 Å the
energy of a C-C pair there is 1.2e-6 eV (s6 = 0.75), and the resulting force discontinuity is of the
same order.

Cost: O(n_pairs) time and memory from the neighbour list (n + n_pairs Jacobian blocks of
3 + 3 floats): linear in the number of atoms at fixed density, but the long default cutoff
makes the pair count large in condensed phases (about 1400 neighbours per atom at the
density of liquid water within 15 Å, ~100 kB of Jacobian per atom in float64); lower
``cutoff`` for large cells (a C-C pair at 10 Å still has 1.4e-5 eV).

Tables (H to Xe), :data:`C6` in J nm^6 mol^-1 and :data:`R0` in Å, from Table 1 of
Grimme 2006 (the per-element values given there; Sc-Zn and Y-Cd share one value per row);
C6 converts to eV Å^6 with 10^6 Å^6/nm^6 over 96485.332 J/mol per eV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from ase.data import chemical_symbols

from descriptors import cuda_target, cutoffs
from descriptors.cuda_target import thread_index
from descriptors.jacobian import Jacobian
from descriptors.neighbors import Neighbors, centre_offsets

#: eV Å^6 per J nm^6 mol^-1
C6_UNIT = 1e6 / 96485.33212

# fmt: off
#: J nm^6 mol^-1, index = atomic number (index 0 unused), Grimme 2006 Table 1
C6 = (0.0,
      0.14, 0.08,                                                                   # H He
      1.61, 1.61, 3.13, 1.75, 1.23, 0.70, 0.75, 0.63,                               # Li-Ne
      5.71, 5.71, 10.79, 9.23, 7.84, 5.57, 5.07, 4.61,                              # Na-Ar
      10.80, 10.80, *(10.80,) * 10, 16.99, 17.10, 16.37, 12.64, 12.47, 12.01,       # K-Kr
      24.67, 24.67, *(24.67,) * 10, 37.32, 38.71, 38.44, 31.74, 31.50, 29.99)       # Rb-Xe
#: Å, index = atomic number (index 0 unused), Grimme 2006 Table 1
R0 = (0.0,
      1.001, 1.012,                                                                 # H He
      0.825, 1.408, 1.485, 1.452, 1.397, 1.342, 1.287, 1.243,                       # Li-Ne
      1.144, 1.364, 1.639, 1.716, 1.705, 1.683, 1.639, 1.595,                       # Na-Ar
      1.485, 1.474, *(1.562,) * 10, 1.650, 1.727, 1.760, 1.771, 1.749, 1.727,       # K-Kr
      1.628, 1.606, *(1.639,) * 10, 1.672, 1.804, 1.881, 1.892, 1.892, 1.881)       # Rb-Xe
# fmt: on
#: the last element with parameters (Xe)
MAX_Z = 54

#: functional-specific global scaling factors s6 (Grimme 2006, Sec. 2.3)
S6 = {"PBE": 0.75, "BLYP": 1.2, "BP86": 1.05, "TPSS": 1.0, "B3LYP": 1.05, "B97-D": 1.25}


@dataclass(frozen=True)
class D2Params:
    """D2 settings.

    Attributes:
        s6: global scaling (1.0 gives the bare C6 sum; :data:`S6` lists published values).
        d: steepness of the damping function (20 in Grimme 2006).
        cutoff: Å, pairs beyond it are dropped.
    """

    s6: float = 0.75
    d: float = 20.0
    cutoff: float = 15.0

    def __post_init__(self):
        for name in ("s6", "d", "cutoff"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"D2 {name} must be a finite number > 0, received {value!r}")

    def to_dict(self) -> dict:
        return {"s6": float(self.s6), "d": float(self.d), "cutoff": float(self.cutoff)}


# --- scalar math ---------------------------------------------------------------------------


def d2_pair(r, c6, r_r, d):
    """-C6 f_damp(r) / r^6 (eV) and its r-derivative (eV/Å) for one pair (s6 = 1)."""
    x = math.exp(-d * (r / r_r - 1.0))
    damp = 1.0 / (1.0 + x)
    inv6 = 1.0 / (r * r * r * r * r * r)
    e = -c6 * damp * inv6
    # d damp / dr = damp^2 x d / r_r; d r^-6 / dr = -6 r^-7
    return e, -c6 * inv6 * (damp * damp * x * d / r_r - 6.0 * damp / r)


def d2_centre(i, offsets, neighbor, vector, distance, c6, r0, d, s6, values, item, atom, jac, displacement):
    """E_i = s6/2 sum_j e_ij of centre i and its blocks: ``offsets[i] + i`` (itself, minus the
    sum of the others) and ``p + i + 1`` for each of its pairs p (the layout of
    :mod:`descriptors.acsf`)."""
    b0 = offsets[i] + i
    item[b0] = i
    atom[b0] = i
    total = 0.0
    s0 = s1 = s2 = 0.0
    for p in range(offsets[i], offsets[i + 1]):
        j = neighbor[p]
        e, de = d2_pair(distance[p], math.sqrt(c6[i] * c6[j]), r0[i] + r0[j], d)
        total += 0.5 * s6 * e
        g = 0.5 * s6 * de / distance[p]
        b = p + i + 1
        item[b] = i
        atom[b] = j
        for c in range(3):
            jac[b, 0, c] = g * vector[p, c]
            displacement[b, c] = vector[p, c]
        s0 += g * vector[p, 0]
        s1 += g * vector[p, 1]
        s2 += g * vector[p, 2]
    values[i, 0] = total
    jac[b0, 0, 0] = -s0
    jac[b0, 0, 1] = -s1
    jac[b0, 0, 2] = -s2
    displacement[b0, 0] = 0.0
    displacement[b0, 1] = 0.0
    displacement[b0, 2] = 0.0


_SCALAR_FUNCTIONS = (d2_pair, d2_centre)
_d2_centre = cutoffs.compile_scalar(_SCALAR_FUNCTIONS, numba.njit(error_model="numpy"))["d2_centre"]


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _d2_cpu(offsets, neighbor, vector, distance, c6, r0, d, s6, values, item, atom, jac, displacement):
    """Per-atom energies, centres in parallel (each writes its own row and blocks)."""
    for i in numba.prange(offsets.shape[0] - 1):
        _d2_centre(i, offsets, neighbor, vector, distance, c6, r0, d, s6, values, item, atom, jac, displacement)


def _d2_cuda(offsets, neighbor, vector, distance, c6, r0, d, s6, values, item, atom, jac, displacement):
    """CUDA loop kernel: one thread per centre."""
    i = thread_index()
    if i < offsets.shape[0] - 1:
        d2_centre(i, offsets, neighbor, vector, distance, c6, r0, d, s6, values, item, atom, jac, displacement)


def d2(numbers, neighbors: Neighbors, params: D2Params = D2Params(), device: str = "cpu"):
    """D2 per-atom energies (eV) and their Jacobian.

    Args:
        numbers: int [n_atoms], atomic numbers in 1..54.
        neighbors: full neighbour list (:func:`descriptors.neighbors.neighbor_list`) built
            with a cutoff >= ``params.cutoff`` (longer pairs are dropped), sorted by centre.
        params: s6, d and cutoff.
        device: "cpu" or "cuda" (:mod:`descriptors.cuda_target`).

    Returns:
        values: float64 [n_atoms, 1], E_i (their sum is E_disp);
        jac: :class:`Jacobian`, B = n_atoms + n_pairs blocks of shape [1, 3] (eV/Å).

    Raises:
        ValueError: elements outside H..Xe, coincident atoms, an unknown device.
        CudaUnavailableError: ``device="cuda"`` without a GPU or the simulator.
    """
    on_gpu = cuda_target.use_cuda(device, "d2")
    numbers = np.asarray(numbers)
    if numbers.ndim != 1 or numbers.dtype.kind not in "iu":
        raise ValueError(f"numbers must be a 1-d integer array, received {numbers.dtype} of shape {numbers.shape}")
    bad = numbers[(numbers < 1) | (numbers > MAX_Z)]
    if bad.size:
        z = int(bad[0])
        name = chemical_symbols[z] if 0 < z < len(chemical_symbols) else "not an element"
        raise ValueError(f"D2 parameters exist for H to Xe (1..{MAX_Z}); received element {z} ({name})")
    n = len(numbers)
    keep = np.asarray(neighbors.distance) < params.cutoff
    i, j = np.asarray(neighbors.i)[keep], np.asarray(neighbors.j)[keep].astype(np.int64)
    vector = np.ascontiguousarray(np.asarray(neighbors.vector, dtype=np.float64)[keep])
    distance = np.asarray(neighbors.distance, dtype=np.float64)[keep]
    if distance.size and not distance.min() > 0:
        p = int(np.argmin(distance))
        raise ValueError(f"atoms {int(i[p])} and {int(j[p])} coincide; D2 needs distinct positions")
    offsets = centre_offsets(i, n)
    n_blocks = n + len(i)
    c6 = np.asarray(C6)[numbers] * C6_UNIT
    r0 = np.asarray(R0)[numbers]
    if on_gpu:
        outputs = (cuda_target.empty((n, 1)), cuda_target.empty(n_blocks, np.int64),
                   cuda_target.empty(n_blocks, np.int64), cuda_target.empty((n_blocks, 1, 3)),
                   cuda_target.empty((n_blocks, 3)))
        kernels = cuda_target.compile_kernels((_d2_cuda,), _SCALAR_FUNCTIONS)
        cuda_target.launch(kernels._d2_cuda, n, *cuda_target.to_device(offsets, j, vector, distance, c6, r0),
                           float(params.d), float(params.s6), *outputs)
        values, *blocks = cuda_target.to_host(*outputs)
        return values, Jacobian(*blocks)
    values = np.empty((n, 1))
    jac = Jacobian(np.empty(n_blocks, np.int64), np.empty(n_blocks, np.int64), np.empty((n_blocks, 1, 3)),
                   np.empty((n_blocks, 3)))
    _d2_cpu(offsets, j, vector, distance, c6, r0, float(params.d), float(params.s6), values, *jac.outputs())
    return values, jac
