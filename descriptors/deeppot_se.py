"""The DeepPot-SE environment matrix (smooth edition of Deep Potential) with its Jacobian.

L. Zhang, J. Han, H. Wang, W. A. Saidi, R. Car, W. E, "End-to-end symmetry preserving
inter-atomic potential energy model for finite and extended systems", NeurIPS 31 (2018),
Eqs. 2-4 (the paper's generalized coordinates and switch); review Kocer, Ko, Behler,
Annu. Rev. Phys. Chem. 73, 163 (2022), section 3.2. For a centre i and each neighbour
entry j within r_c (bond vector r_ij = r_j - r_i, length r, Cartesian components x, y, z;
periodic images are separate entries), the environment-matrix row is

    R̃_ij = (s(r), s(r) x / r, s(r) y / r, s(r) z / r),

    s(r) = 1/r                                                    r < r_cs
           1/r [1/2 cos(pi (r - r_cs) / (r_c - r_cs)) + 1/2]      r_cs <= r < r_c
           0                                                      r >= r_c

s and its first derivative are continuous at r_c, so the descriptor built from R̃ is smooth
(unlike the DPMD local frame, :mod:`descriptors.dpmd`). DeePMD-kit's current releases use a
polynomial switch instead; we keep the paper's cosine.

Layout (memory scales with the actual neighbours, not with the padded ``sel``): one row per
*filled* slot. The paper's padded matrix of a centre has ``sum(sel)`` rows, element-major
(ascending atomic number) and nearest first within an element, zero rows for missing
neighbours; here only the filled rows are emitted, each with its ``slot`` in that padded
matrix, its ``centre`` and its neighbour's element index, so a model can either sum over
rows with segment sums (what :class:`zoo.models.deeppot_se.DeepPotSE` does; padded rows
would add zero) or scatter them into the padded matrix. Rows of centre i are contiguous, in
slot order. Neighbours beyond ``sel[e]`` of an element are dropped (the farthest ones, as
in DeePMD-kit); that is the one discontinuity of the method, so choose ``sel`` at least the
largest neighbour count of the data (:meth:`DeepPotSeParams.auto` does for close-packed
metals at 6 Å).

Jacobian (:mod:`descriptors.jacobian`): one pair block per row, block r = d row r / d r_j
(atom j, displacement r_ij) with partner i, which gets the negative; B = n_rows.

Layers: scalar ``math`` body :func:`smooth_inverse` and the row body :func:`env_row` (one
row and its block) compiled with :func:`descriptors.cutoffs.compile_scalar` for both
targets -> loop kernels ``_env_mat_cpu`` (``prange`` over centres, neighbours sorted with
``argsort``) and ``_env_mat_cuda`` (one thread per neighbour entry, which finds its slot by
counting the entries ranked before it: no sort, no scratch; :mod:`descriptors.cuda_target`)
-> the dispatcher :func:`deeppot_se`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np
from ase.data import chemical_symbols

from descriptors import cuda_target, cutoffs
from descriptors.acsf import _checked_elements, _within
from descriptors.cuda_target import thread_index
from descriptors.cutoffs import sin_cos_half_pi  # noqa: F401  (called by smooth_inverse when run as plain Python)
from descriptors.jacobian import Jacobian
from descriptors.neighbors import Neighbors, centre_offsets
from descriptors.wacsf import element_index

# --- scalar math ---------------------------------------------------------------------------


def smooth_inverse(r, rcs, rc):
    """The paper's switched inverse distance s(r) (NeurIPS 2018, Eq. 4) and ds/dr.

    Args:
        r: distance (Å), > 0; rcs: start of the switch (Å), 0 <= rcs < rc; rc: cutoff (Å).

    Returns:
        (s in 1/Å, ds/dr in 1/Å^2), both 0 for r >= rc.
    """
    if r >= rc:
        return 0.0, 0.0
    inv = 1.0 / r
    if r < rcs:
        return inv, -inv * inv
    # with v = pi (u - 1/2), u = (r - rcs) / (rc - rcs): cos(pi u) = -sin v, sin(pi u) = cos v
    sv, cv = sin_cos_half_pi(math.pi * ((r - rcs) / (rc - rcs) - 0.5))
    sw = 0.5 - 0.5 * sv
    dsw = -0.5 * math.pi / (rc - rcs) * cv
    return sw * inv, (dsw - sw * inv) * inv


def env_row(p, i, row, e, slot_index, neighbor, vector, distance, rcs, rc, values, centre, neighbor_element,
            slot, atom, jac, displacement):
    """Row ``row`` = R̃_ij of neighbour entry p of centre i (element index e, padded slot
    ``slot_index``) and its pair block ``row`` (atom j; the centre, its partner, gets the negative).

    d s / d r_c = s' u_c;  d(s u_k) / d r_c = s' u_k u_c + s (delta_kc - u_k u_c) / r.
    """
    r = distance[p]
    s, ds = smooth_inverse(r, rcs, rc)
    inv = 1.0 / r
    ux, uy, uz = vector[p, 0] * inv, vector[p, 1] * inv, vector[p, 2] * inv
    values[row, 0] = s
    values[row, 1] = s * ux
    values[row, 2] = s * uy
    values[row, 3] = s * uz
    centre[row] = i
    neighbor_element[row] = e
    slot[row] = slot_index
    atom[row] = neighbor[p]
    a = ds - s * inv
    si = s * inv
    u = (ux, uy, uz)
    for c in range(3):
        jac[row, 0, c] = ds * u[c]
        for k in range(3):
            jac[row, k + 1, c] = a * u[k] * u[c]
        jac[row, c + 1, c] += si
        displacement[row, c] = vector[p, c]


def slot_rank(p, start, stop, neighbor, element, distance, span):
    """Rank of entry p among the entries ``start:stop`` of its centre with the same neighbour
    element, in the slot order of ``_env_mat_cpu`` (distance, then list order), by counting."""
    e = element[neighbor[p]]
    key = e * span + distance[p]
    rank = 0
    for q in range(start, stop):
        if element[neighbor[q]] == e:
            other = element[neighbor[q]] * span + distance[q]
            if other < key or (other == key and q < p):
                rank += 1
    return rank


_SCALAR_FUNCTIONS = (cutoffs.sin_cos_half_pi, smooth_inverse, env_row, slot_rank)
# inlined into the prange loop, where Numba marks arrays noalias: as fast as the former
# loop-body code (a called body reloads its inputs after every store, up to 2x slower)
_cpu = cutoffs.compile_scalar(_SCALAR_FUNCTIONS, numba.njit(error_model="numpy", inline="always"))
_env_row = _cpu["env_row"]


# --- parameters ----------------------------------------------------------------------------

#: r_cs (Å) of :meth:`DeepPotSeParams.auto` (at most r_c / 2)
DEFAULT_CUTOFF_SMOOTH = 0.5


@dataclass(frozen=True)
class DeepPotSeParams:
    """The DeepPot-SE environment matrix.

    Attributes:
        elements: atomic numbers, sorted ascending and unique.
        cutoff: r_c, Å.
        cutoff_smooth: r_cs, Å, where the switch starts (0 <= r_cs < r_c).
        sel: padded neighbour count per element (same order as ``elements``); the
            normalisation N_c of the descriptor is ``sum(sel)``.
    """

    elements: tuple[int, ...]
    cutoff: float
    cutoff_smooth: float
    sel: tuple[int, ...]

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731  frozen
        set_("elements", _checked_elements(self.elements))
        for name in ("cutoff", "cutoff_smooth"):
            x = getattr(self, name)
            if not (isinstance(x, (int, float, np.floating)) and math.isfinite(x)):
                raise ValueError(f"{name} must be a finite number (Å), received {x!r}")
            set_(name, float(x))
        if not 0.0 <= self.cutoff_smooth < self.cutoff:
            raise ValueError(f"need 0 <= cutoff_smooth < cutoff, received cutoff_smooth={self.cutoff_smooth}, "
                             f"cutoff={self.cutoff}")
        sel = self.sel
        sel = (sel,) * len(self.elements) if isinstance(sel, (int, np.integer)) else tuple(sel)
        if len(sel) != len(self.elements) or not all(isinstance(n, (int, np.integer)) and n >= 0 for n in sel):
            raise ValueError(f"sel must be a count >= 0 or one per element of {self.elements}, "
                             f"received {self.sel!r}")
        if sum(sel) == 0:
            raise ValueError("sel is all 0: the environment matrix would be empty")
        set_("sel", tuple(int(n) for n in sel))

    @property
    def n_slots(self) -> int:
        """N_c = sum(sel), rows of the paper's padded matrix."""
        return sum(self.sel)

    def slot_starts(self) -> np.ndarray:
        """int64 [E]: first slot of each element."""
        return np.concatenate(([0], np.cumsum(self.sel)[:-1])).astype(np.int64)

    def to_dict(self) -> dict:
        return {"elements": list(self.elements), "cutoff": self.cutoff, "cutoff_smooth": self.cutoff_smooth,
                "sel": list(self.sel)}

    @classmethod
    def from_dict(cls, d: dict) -> DeepPotSeParams:
        return cls(**d)

    @classmethod
    def auto(cls, elements, cutoff=6.0, cutoff_smooth=None, sel=None) -> DeepPotSeParams:
        """Defaults: r_cs = 0.5 Å, at most r_c / 2 (DeePMD-kit's examples use ``rcut_smth``
        0.5), so that s switches off over the whole range, and, per element, room for a close-packed
        environment, ``sel`` = ceil(4 pi/3 r_c^3 * 0.1 Å^-3) (fcc Cu has 0.085 atoms/Å^3: 78
        neighbours within 5.7 Å, 91 within 6 Å with rattling; this gives 91 at r_c = 6 Å).
        A switch over the last 1 Å only (r_cs = r_c - 1 Å, the earlier default) barely
        trained forces: quick.toml budget, Cu-200, 4.5 Å, 478 meV/Å against 107 at 0.5 Å.
        """
        numbers = sorted({z if isinstance(z, (int, np.integer)) else chemical_symbols.index(z) for z in elements})
        if cutoff_smooth is None:
            cutoff_smooth = min(DEFAULT_CUTOFF_SMOOTH, 0.5 * cutoff)
        if sel is None:
            sel = int(math.ceil(4.0 * math.pi / 3.0 * cutoff**3 * 0.1))
        return cls(tuple(numbers), cutoff, cutoff_smooth, sel)


class EnvRows(NamedTuple):
    """Index arrays of the environment-matrix rows.

    Attributes:
        centre: int64 [n_rows], centre atom i.
        neighbor_element: int64 [n_rows], element index of the neighbour j.
        slot: int64 [n_rows], row of the centre's padded matrix (0 .. n_slots - 1).
    """

    centre: np.ndarray
    neighbor_element: np.ndarray
    slot: np.ndarray


# --- dispatcher ----------------------------------------------------------------------------


def deeppot_se(positions, numbers, cell, pbc, neighbors: Neighbors, params: DeepPotSeParams,
               device: str = "cpu") -> tuple[np.ndarray, Jacobian, EnvRows]:
    """Environment-matrix rows of the filled slots, their Jacobian and their indices.

    Args:
        positions: float [n_atoms, 3], Å (only its length is used; the geometry comes from
            ``neighbors.vector``).
        numbers: int [n_atoms], atomic numbers, all in ``params.elements``.
        cell, pbc: unused (periodicity is in ``neighbors``); kept for the common signature.
        neighbors: full neighbour list with a cutoff >= ``params.cutoff``, sorted by centre.
        params: the matrix.
        device: "cpu" or "cuda" (:mod:`descriptors.cuda_target`).

    Returns:
        values: float64 [n_rows, 4], (s, s x/r, s y/r, s z/r) in 1/Å;
        jac: :class:`Jacobian`, one pair block per row (atom j, partner the centre), value
            float64 [n_rows, 4, 3] in 1/Å^2;
        rows: :class:`EnvRows` (centre, neighbour element, slot of each row).

    Raises:
        ValueError: an element outside ``params.elements``, inconsistent shapes, or two
            atoms at zero distance.
        CudaUnavailableError: ``device="cuda"`` without a GPU or the simulator.
    """
    on_gpu = cuda_target.use_cuda(device, "deeppot_se")
    n_atoms = len(positions)
    element = element_index(numbers, params.elements, n_atoms, "DeepPotSeParams")
    nb = _within(neighbors, n_atoms, params.cutoff)
    offsets = centre_offsets(nb.i, n_atoms)
    sel = np.array(params.sel, dtype=np.int64)
    counts = np.zeros((n_atoms, len(sel)), dtype=np.int64)
    np.add.at(counts, (nb.i, element[nb.j]), 1)
    row_offsets = np.concatenate(([0], np.cumsum(np.minimum(counts, sel).sum(axis=1)))).astype(np.int64)
    n_rows = int(row_offsets[-1])
    if on_gpu:
        # first row of each (centre, element): the rows of centre i are element-major
        filled = np.minimum(counts, sel)
        element_rows = (row_offsets[:-1, None] + np.cumsum(filled, axis=1) - filled).astype(np.int64)
        values, centre, neighbor_element, slot, atom, value, displacement = _env_mat_on_gpu(
            nb, offsets, element, params, element_rows, n_rows)
        rows = EnvRows(centre, neighbor_element, slot)
    else:
        values = np.empty((n_rows, 4))
        rows = EnvRows(np.empty(n_rows, np.int64), np.empty(n_rows, np.int64), np.empty(n_rows, np.int64))
        atom = np.empty(n_rows, np.int64)
        value = np.empty((n_rows, 4, 3))
        displacement = np.empty((n_rows, 3))
        _env_mat_cpu(offsets, nb.j, nb.vector, nb.distance, element, params.slot_starts(), sel,
                     params.cutoff_smooth, params.cutoff, row_offsets, values, rows.centre, rows.neighbor_element,
                     rows.slot, atom, value, displacement)
    item = np.arange(n_rows, dtype=np.int64)
    return values, Jacobian(item, atom, value, displacement, partner=rows.centre.copy()), rows


def _env_mat_on_gpu(nb, offsets, element, params, element_rows, n_rows):
    """The outputs of ``_env_mat_cpu`` computed on the device (values, centre, element, slot,
    atom, value, displacement)."""
    inputs = cuda_target.to_device(nb.i, offsets, nb.j, nb.vector, nb.distance, element, params.slot_starts(),
                                   np.array(params.sel, dtype=np.int64), element_rows)
    outputs = (cuda_target.empty((n_rows, 4)), cuda_target.empty(n_rows, np.int64),
               cuda_target.empty(n_rows, np.int64), cuda_target.empty(n_rows, np.int64),
               cuda_target.empty(n_rows, np.int64), cuda_target.empty((n_rows, 4, 3)),
               cuda_target.empty((n_rows, 3)))
    kernels = cuda_target.compile_kernels((_env_mat_cuda,), _SCALAR_FUNCTIONS)
    cuda_target.launch(kernels._env_mat_cuda, len(nb.i), *inputs, params.cutoff_smooth, params.cutoff, *outputs)
    return cuda_target.to_host(*outputs)


# --- loop kernel (CPU) ---------------------------------------------------------------------


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _env_mat_cpu(offsets, neighbor, vector, distance, element, slot_start, sel, rcs, rc, row_offsets,
                 values, centre, neighbor_element, slot, atom, jac, displacement):
    """Rows of centre i are ``row_offsets[i]:row_offsets[i+1]`` in slot order (element,
    then distance; ties in neighbour-list order); row r owns pair block r. Centres write
    disjoint ranges, so ``prange`` has no races."""
    n_atoms = offsets.shape[0] - 1
    span = 2.0 * rc + 1.0  # > any distance: element-major sort keys
    for i in numba.prange(n_atoms):
        start, n = offsets[i], offsets[i + 1] - offsets[i]
        key = np.empty(n)
        for t in range(n):
            key[t] = element[neighbor[start + t]] * span + distance[start + t]
        order = np.argsort(key, kind="mergesort")
        row = row_offsets[i]
        previous, rank = -1, 0
        for t in range(n):
            p = start + order[t]
            e = element[neighbor[p]]
            rank = rank + 1 if e == previous else 0
            previous = e
            if rank >= sel[e]:
                continue  # beyond the slots of this element: dropped
            _env_row(p, i, row, e, slot_start[e] + rank, neighbor, vector, distance, rcs, rc, values, centre,
                     neighbor_element, slot, atom, jac, displacement)
            row += 1


def _env_mat_cuda(pair_centre, offsets, neighbor, vector, distance, element, slot_start, sel, element_rows, rcs,
                  rc, values, centre, neighbor_element, slot, atom, jac, displacement):
    """CUDA loop kernel: thread p is neighbour entry p; it ranks itself among its centre's
    entries of the same element (the order of ``_env_mat_cpu``) and writes its row, if kept."""
    p = thread_index()
    if p >= distance.shape[0]:
        return
    i = pair_centre[p]
    e = element[neighbor[p]]
    rank = slot_rank(p, offsets[i], offsets[i + 1], neighbor, element, distance, 2.0 * rc + 1.0)
    if rank < sel[e]:
        env_row(p, i, element_rows[i, e] + rank, e, slot_start[e] + rank, neighbor, vector, distance, rcs, rc,
                values, centre, neighbor_element, slot, atom, jac, displacement)
