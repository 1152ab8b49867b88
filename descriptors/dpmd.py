"""The DPMD local-frame descriptor (Deep Potential Molecular Dynamics) with its Jacobian.

L. Zhang, J. Han, H. Wang, R. Car, W. E, Phys. Rev. Lett. 120, 143001 (2018); review
Kocer, Ko, Behler, Annu. Rev. Phys. Chem. 73, 163 (2022), Eq. 6. Each atom i gets a local
Cartesian frame from its two nearest neighbours a (nearest) and b (second nearest):

    e_x = r_ia / |r_ia|,   e_y = t / |t| with t = r_ib - (r_ib . e_x) e_x,   e_z = e_x x e_y,

and its neighbours j within r_c, sorted by element (ascending atomic number) and, within an
element, by inverse distance (nearest first), are described by

    {1/R_ij, x_ij/R_ij^2, y_ij/R_ij^2, z_ij/R_ij^2}  for the first ``n_full[e]`` of element e,
    {1/R_ij}                                          for the next ``n_radial[e]``,

with (x, y, z) the coordinates of r_ij in the local frame; unused slots are zero (padding to
a fixed count per element), and neighbours beyond n_full + n_radial of an element are
dropped. The two frame atoms are chosen from all elements.

Discontinuities (the method's known drawback, review section 3.2): the descriptor, hence
energy and forces, jump (i) when a neighbour crosses r_c (its 1/R slot goes from 1/r_c to
0; there is no cutoff function), (ii) when two neighbours of one element swap their
distance order (their x, y, z swap slots; at the boundary between full and radial-only
slots the x, y, z of one of them vanish), (iii) when the nearest or second-nearest
neighbour changes (the whole frame turns), and (iv) when a neighbour is dropped beyond the
slot count. Forces are exact derivatives between such events. tests/descriptors/test_dpmd.py
shows (i) and (ii).

Deviation from the paper: DeePMD chooses the frame atoms by element rules per centre
element; here they are simply the two nearest neighbours, as in the review's description.
The padding counts are per element (DeePMD's ``sel_a`` / ``sel_r``).

Layout (memory: only filled slots carry Jacobian blocks): items are slots, values are
[n_atoms * n_slots, 4] with item ``atom * n_slots + slot`` and columns
(1/R, x/R^2, y/R^2, z/R^2) (radial-only slots: (1/R, 0, 0, 0)); slots run over elements
in ascending order, each element's ``n_full[e]`` full slots, then its ``n_radial[e]``
radial slots. :meth:`DpmdParams.dense_columns` selects the K = sum_e (4 n_full[e] +
n_radial[e]) meaningful columns of the rows of an atom. Blocks: a full slot has four
(centre, minus the sum of the others; neighbour j, displacement r_ij; frame atoms a and b,
displacements r_ia and r_ib), a radial slot two (centre, neighbour).

Layers: the scalar bodies (:func:`local_frame`, :func:`frame_gradients` and 3-vector
helpers on tuples) and the slot body :func:`dpmd_slot` are compiled with
:func:`descriptors.cutoffs.compile_scalar` for both targets -> loop kernels ``_dpmd_cpu``
(``prange`` over centres, frame atoms and slot order from ``argsort``) and ``_dpmd_cuda``
(one thread per neighbour entry: it finds the frame atoms by a scan and its slot by
counting the entries ranked before it, :func:`descriptors.deeppot_se.slot_rank`; no sort,
no scratch; :mod:`descriptors.cuda_target`) -> the dispatcher :func:`dpmd`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from ase.data import chemical_symbols

from descriptors import cuda_target, cutoffs
from descriptors.acsf import _checked_elements, _within
from descriptors.cuda_target import thread_index
from descriptors.deeppot_se import slot_rank
from descriptors.jacobian import Jacobian
from descriptors.neighbors import Neighbors, centre_offsets
from descriptors.wacsf import element_index

#: the frame is rejected when the second frame atom lies this close (in sin of the angle) to
#: the line through the centre and the first
MIN_FRAME_SINE = 1e-6


@dataclass(frozen=True)
class DpmdParams:
    """Slots of the DPMD descriptor.

    Attributes:
        elements: atomic numbers, sorted ascending and unique.
        cutoff: r_c, Å.
        n_full: full-information slots per element (same order as ``elements``).
        n_radial: radial-only (1/R) slots per element, after the full ones.
    """

    elements: tuple[int, ...]
    cutoff: float
    n_full: tuple[int, ...]
    n_radial: tuple[int, ...]

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731  frozen
        set_("elements", _checked_elements(self.elements))
        if not (isinstance(self.cutoff, (int, float)) and math.isfinite(self.cutoff) and self.cutoff > 0):
            raise ValueError(f"cutoff must be a finite number > 0 Å, received {self.cutoff!r}")
        set_("cutoff", float(self.cutoff))
        for name in ("n_full", "n_radial"):
            counts = getattr(self, name)
            counts = (counts,) * len(self.elements) if isinstance(counts, (int, np.integer)) else tuple(counts)
            if len(counts) != len(self.elements) or not all(isinstance(n, (int, np.integer)) and n >= 0
                                                           for n in counts):
                raise ValueError(f"{name} must be a count >= 0 or one per element of {self.elements}, "
                                 f"received {getattr(self, name)!r}")
            set_(name, tuple(int(n) for n in counts))
        if sum(self.n_full) + sum(self.n_radial) == 0:
            raise ValueError("n_full and n_radial are all 0: the descriptor would be empty")

    @property
    def n_slots(self) -> int:
        return sum(self.n_full) + sum(self.n_radial)

    @property
    def n_features(self) -> int:
        """K = sum_e (4 n_full[e] + n_radial[e])."""
        return 4 * sum(self.n_full) + sum(self.n_radial)

    def slot_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """int64 [E] first slot of each element, int64 [E] its full-slot count, for the kernel."""
        per_element = np.array(self.n_full) + np.array(self.n_radial)
        return np.concatenate(([0], np.cumsum(per_element)[:-1])).astype(np.int64), np.array(self.n_full, np.int64)

    def dense_columns(self) -> np.ndarray:
        """int64 [K]: columns of an atom's flattened slot rows [n_slots * 4] that carry
        information (4 per full slot, the 1/R of each radial slot), in slot order."""
        columns, slot = [], 0
        for full, radial in zip(self.n_full, self.n_radial):
            columns += [4 * (slot + s) + c for s in range(full) for c in range(4)]
            slot += full
            columns += [4 * (slot + s) for s in range(radial)]
            slot += radial
        return np.array(columns, dtype=np.int64)

    def feature_names(self) -> list[str]:
        names = []
        for z, full, radial in zip(self.elements, self.n_full, self.n_radial):
            s = chemical_symbols[z]
            names += [f"{q}[{s}{n}]" for n in range(full) for q in ("1/R", "x/R2", "y/R2", "z/R2")]
            names += [f"1/R[{s}{full + n}]" for n in range(radial)]
        return names

    def to_dict(self) -> dict:
        return {"elements": list(self.elements), "cutoff": self.cutoff, "n_full": list(self.n_full),
                "n_radial": list(self.n_radial)}

    @classmethod
    def from_dict(cls, d: dict) -> DpmdParams:
        return cls(**d)

    @classmethod
    def auto(cls, elements, cutoff=6.0, n_full=16, n_max=96) -> DpmdParams:
        """``n_full`` full slots and ``n_max - n_full`` radial slots for every element.

        The default ``n_max`` = 96 holds every neighbour of a close-packed metal within
        6 Å (fcc Cu has 78 up to 5.7 Å, 86 up to 6.25 Å); small molecules fill few slots.
        """
        numbers = sorted({z if isinstance(z, (int, np.integer)) else chemical_symbols.index(z) for z in elements})
        if n_max < n_full:
            raise ValueError(f"n_max must be >= n_full, received n_max={n_max}, n_full={n_full}")
        return cls(tuple(numbers), cutoff, n_full, n_max - n_full)


def dpmd(positions, numbers, cell, pbc, neighbors: Neighbors, params: DpmdParams,
         device: str = "cpu") -> tuple[np.ndarray, Jacobian]:
    """DPMD slot rows and their Jacobian with respect to the positions.

    Args:
        positions: float [n_atoms, 3], Å (only its length is used).
        numbers: int [n_atoms], atomic numbers, all in ``params.elements``.
        cell, pbc: unused (periodicity is in ``neighbors``).
        neighbors: full neighbour list with a cutoff >= ``params.cutoff``, sorted by centre.
        params: the slots.
        device: "cpu" or "cuda" (:mod:`descriptors.cuda_target`).

    Returns:
        values: float64 [n_atoms * n_slots, 4] (layout in the module docstring);
        jac: :class:`Jacobian` with 4 blocks per full and 2 per radial filled slot.

    Raises:
        ValueError: unknown element, inconsistent shapes, atoms at zero distance, an atom
            with fewer than two neighbours within the cutoff, or an atom whose two nearest
            neighbours are collinear with it (no frame).
        CudaUnavailableError: ``device="cuda"`` without a GPU or the simulator.
    """
    on_gpu = cuda_target.use_cuda(device, "dpmd")
    n_atoms = len(positions)
    element = element_index(numbers, params.elements, n_atoms, "DpmdParams")
    nb = _within(neighbors, n_atoms, params.cutoff)
    offsets = centre_offsets(nb.i, n_atoms)
    few = np.flatnonzero(np.diff(offsets) < 2)
    if few.size:
        raise ValueError(f"atom {few[0]} has {np.diff(offsets)[few[0]]} neighbour(s) within the cutoff "
                         f"{params.cutoff} Å; the DPMD local frame needs two: increase the cutoff")
    slot_start, n_full = params.slot_tables()
    per_element = n_full + np.array(params.n_radial)
    counts = np.zeros((n_atoms, len(params.elements)), dtype=np.int64)
    np.add.at(counts, (nb.i, element[nb.j]), 1)
    used = np.minimum(counts, per_element)
    blocks = (4 * np.minimum(used, n_full) + 2 * (used - np.minimum(used, n_full))).sum(axis=1)
    block_offsets = np.concatenate(([0], np.cumsum(blocks))).astype(np.int64)
    n_slots = params.n_slots
    if on_gpu:
        # first block of each (centre, element): blocks of centre i are element-major
        own = 4 * np.minimum(used, n_full) + 2 * (used - np.minimum(used, n_full))
        element_blocks = (block_offsets[:-1, None] + np.cumsum(own, axis=1) - own).astype(np.int64)
        inputs = cuda_target.to_device(nb.i, offsets, nb.j, nb.vector, nb.distance, element, slot_start, n_full,
                                       per_element, element_blocks)
        n_blocks = int(block_offsets[-1])
        outputs = (cuda_target.zeros((n_atoms * n_slots, 4)), cuda_target.empty(n_blocks, np.int64),
                   cuda_target.empty(n_blocks, np.int64), cuda_target.empty((n_blocks, 3)),
                   cuda_target.empty((n_blocks, 4, 3)), cuda_target.zeros(n_atoms, np.int64))
        kernels = cuda_target.compile_kernels((_dpmd_cuda,), _SCALAR_FUNCTIONS)
        cuda_target.launch(kernels._dpmd_cuda, len(nb.i), *inputs, n_slots, params.cutoff, *outputs)
        values, item, atom, displacement, value, bad = cuda_target.to_host(*outputs)
    else:
        values = np.zeros((n_atoms * n_slots, 4))
        item = np.empty(block_offsets[-1], dtype=np.int64)
        atom = np.empty(block_offsets[-1], dtype=np.int64)
        displacement = np.empty((block_offsets[-1], 3))
        value = np.empty((block_offsets[-1], 4, 3))
        bad = np.zeros(n_atoms, dtype=np.int64)
        _dpmd_cpu(offsets, nb.j, nb.vector, nb.distance, element, slot_start, n_full, per_element, n_slots,
                  params.cutoff, block_offsets, values, item, atom, displacement, value, bad)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"atom {i}: its two nearest neighbours are collinear with it, so the DPMD local "
                         f"frame is undefined; perturb the structure or use another descriptor")
    return values, Jacobian(item, atom, value, displacement)


# --- scalar math (3-vectors are tuples) ------------------------------------------------------


def dot3(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def cross3(a, b):
    return a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]


def project_out(g, e):
    """g - e (g . e) for 3-vectors (the tangent part, with e a unit vector)."""
    d = dot3(g, e)
    return g[0] - e[0] * d, g[1] - e[1] * d, g[2] - e[2] * d


def local_frame(ra, la, rb):
    """The local frame of a centre from its frame atoms (module docstring).

    Args:
        ra: r_ia (Å), la = |r_ia|; rb: r_ib (Å).

    Returns:
        (e_x, e_y, e_z, |t|): unit vectors and the length of t = r_ib - (r_ib . e_x) e_x
        (e_y is 0 when |t| = 0; the caller rejects frames with |t| small).
    """
    ex = (ra[0] / la, ra[1] / la, ra[2] / la)
    d = dot3(rb, ex)
    t = (rb[0] - d * ex[0], rb[1] - d * ex[1], rb[2] - d * ex[2])
    lt = math.sqrt(t[0] * t[0] + t[1] * t[1] + t[2] * t[2])
    ey = (0.0, 0.0, 0.0)
    if lt > 0.0:
        ey = (t[0] / lt, t[1] / lt, t[2] / lt)
    return ex, ey, cross3(ex, ey), lt


def frame_gradients(r, ex, ey, la, lt, rb):
    """d(x, y, z)/d r_ia and d(x, y, z)/d r_ib of the local coordinates of vector r.

    With q = (e_x . r, e_y . r, e_z . r), e_x = r_ia / la, e_y = t / lt,
    t = r_ib - (r_ib . e_x) e_x (module docstring) and P_x = 1 - e_x e_x^T:
        dx/dr_ia = (r - x e_x) / la                         dx/dr_ib = 0
        dy/dt = (r - y e_y) / lt,  dz/dt = (r x e_x - (e_y . (r x e_x)) e_y) / lt
        d./dr_ib = P_x d./dt
        d./de_x = (direct) - (r_ib (e_x . d./dt) + (r_ib . e_x) d./dt), direct: 0 for y,
                  e_y x r for z (z = e_x . (e_y x r))
        d./dr_ia = P_x d./de_x / la

    Returns:
        six 3-tuples: dx/dr_ia, dy/dr_ia, dz/dr_ia, dx/dr_ib, dy/dr_ib, dz/dr_ib (dimensionless).
    """
    x = dot3(ex, r)
    y = dot3(ey, r)
    rbx = dot3(rb, ex)
    gax = ((r[0] - x * ex[0]) / la, (r[1] - x * ex[1]) / la, (r[2] - x * ex[2]) / la)
    gy = ((r[0] - y * ey[0]) / lt, (r[1] - y * ey[1]) / lt, (r[2] - y * ey[2]) / lt)
    rxe = cross3(r, ex)
    s = dot3(ey, rxe)
    gz = ((rxe[0] - s * ey[0]) / lt, (rxe[1] - s * ey[1]) / lt, (rxe[2] - s * ey[2]) / lt)
    direct = cross3(ey, r)
    sy = dot3(ex, gy)
    sz = dot3(ex, gz)
    dey = (-(rb[0] * sy + rbx * gy[0]), -(rb[1] * sy + rbx * gy[1]), -(rb[2] * sy + rbx * gy[2]))
    dez = (direct[0] - (rb[0] * sz + rbx * gz[0]), direct[1] - (rb[1] * sz + rbx * gz[1]),
           direct[2] - (rb[2] * sz + rbx * gz[2]))
    pay = project_out(dey, ex)
    paz = project_out(dez, ex)
    gay = (pay[0] / la, pay[1] / la, pay[2] / la)
    gaz = (paz[0] / la, paz[1] / la, paz[2] / la)
    return gax, gay, gaz, (0.0, 0.0, 0.0), project_out(gy, ex), project_out(gz, ex)


def store_scaled(jac, b, k, v, scale):
    """jac[b, k, :] = v * scale for a 3-tuple v."""
    for c in range(3):
        jac[b, k, c] = v[c] * scale


def dpmd_slot(i, q, row, b, full, qa, qb, neighbor, vector, distance, ex, ey, ez, la, lt, ra, rb, values, item,
              atom, displacement, jac):
    """Slot row ``row`` of neighbour entry q of centre i and its blocks from ``b`` on: centre
    (minus the sum of the others), neighbour, and for a full slot the frame atoms of entries
    qa and qb. Returns the number of blocks written (4 full, 2 radial)."""
    r = (vector[q, 0], vector[q, 1], vector[q, 2])
    inv = 1.0 / distance[q]
    inv2 = inv * inv
    values[row, 0] = inv
    item[b] = row
    atom[b] = i
    displacement[b, 0] = displacement[b, 1] = displacement[b, 2] = 0.0
    item[b + 1] = row
    atom[b + 1] = neighbor[q]
    for c in range(3):
        displacement[b + 1, c] = r[c]
        jac[b + 1, 0, c] = -r[c] * inv2 * inv
        jac[b + 1, 1, c] = jac[b + 1, 2, c] = jac[b + 1, 3, c] = 0.0
    width = 2
    if full:
        width = 4
        axes = (ex, ey, ez)
        for k in range(3):
            local = dot3(axes[k], r)
            values[row, k + 1] = local * inv2
            for c in range(3):  # d(q_k / R^2)/dr = e_k / R^2 - 2 q_k r / R^4
                jac[b + 1, k + 1, c] = axes[k][c] * inv2 - 2.0 * local * r[c] * inv2 * inv2
        gax, gay, gaz, gbx, gby, gbz = frame_gradients(r, ex, ey, la, lt, rb)
        for f in range(2):
            bf = b + 2 + f
            item[bf] = row
            atom[bf] = neighbor[qa] if f == 0 else neighbor[qb]
            for c in range(3):
                displacement[bf, c] = ra[c] if f == 0 else rb[c]
                jac[bf, 0, c] = 0.0
        store_scaled(jac, b + 2, 1, gax, inv2)
        store_scaled(jac, b + 2, 2, gay, inv2)
        store_scaled(jac, b + 2, 3, gaz, inv2)
        store_scaled(jac, b + 3, 1, gbx, inv2)
        store_scaled(jac, b + 3, 2, gby, inv2)
        store_scaled(jac, b + 3, 3, gbz, inv2)
    for k in range(4):
        for c in range(3):
            total = 0.0
            for bb in range(b + 1, b + width):
                total += jac[bb, k, c]
            jac[b, k, c] = -total
    return width


def frame_atoms(start, stop, distance):
    """Entries of the two nearest neighbours among ``start:stop`` (ties: the first in list
    order, as a stable sort), by two scans."""
    qa = start
    for q in range(start + 1, stop):
        if distance[q] < distance[qa]:
            qa = q
    qb = start + 1 if qa == start else start
    for q in range(start, stop):
        if q != qa and distance[q] < distance[qb]:
            qb = q
    return qa, qb


_SCALAR_FUNCTIONS = (dot3, cross3, project_out, local_frame, frame_gradients, store_scaled, dpmd_slot,
                     frame_atoms, slot_rank)
_cpu = cutoffs.compile_scalar(_SCALAR_FUNCTIONS, numba.njit(error_model="numpy"))
_local_frame = _cpu["local_frame"]
_dpmd_slot = _cpu["dpmd_slot"]


# --- loop kernels ----------------------------------------------------------------------------


@numba.njit(parallel=True, cache=True)
def _dpmd_cpu(offsets, neighbor, vector, distance, element, slot_start, n_full, per_element, n_slots, rc,
              block_offsets, values, item, atom, displacement, jac, bad):
    """Fill the slot rows and blocks of every centre; ``prange`` over centres (centre i
    writes rows ``i * n_slots ..`` and blocks ``block_offsets[i]:block_offsets[i+1]``)."""
    n_atoms = offsets.shape[0] - 1
    for i in numba.prange(n_atoms):
        start, stop = offsets[i], offsets[i + 1]
        n = stop - start
        # frame atoms: the two nearest entries (ties: the first in list order)
        d = distance[start:stop]
        order = np.argsort(d, kind="mergesort")
        qa, qb = start + order[0], start + order[1]
        ra = (vector[qa, 0], vector[qa, 1], vector[qa, 2])
        rb = (vector[qb, 0], vector[qb, 1], vector[qb, 2])
        ex, ey, ez, lt = _local_frame(ra, distance[qa], rb)
        if lt < MIN_FRAME_SINE * distance[qb]:
            bad[i] = 1
            continue
        # slot order: element, then distance (stable: list order on ties)
        key = np.empty(n)
        for s in range(n):
            key[s] = element[neighbor[start + s]] * (4.0 * rc + 1.0) + d[s]
        ranked = np.argsort(key, kind="mergesort")
        rank_in_element = 0
        previous = -1
        b = block_offsets[i]
        for s in range(n):
            q = start + ranked[s]
            e = element[neighbor[q]]
            rank_in_element = rank_in_element + 1 if e == previous else 0
            previous = e
            if rank_in_element >= per_element[e]:
                continue  # beyond the slots of this element: dropped
            b += _dpmd_slot(i, q, i * n_slots + slot_start[e] + rank_in_element, b, rank_in_element < n_full[e],
                            qa, qb, neighbor, vector, distance, ex, ey, ez, distance[qa], lt, ra, rb, values, item,
                            atom, displacement, jac)


def _dpmd_cuda(pair_centre, offsets, neighbor, vector, distance, element, slot_start, n_full, per_element,
               element_blocks, n_slots, rc, values, item, atom, displacement, jac, bad):
    """CUDA loop kernel: thread p is neighbour entry p; it builds its centre's frame, ranks
    itself among the centre's entries of its element and writes its slot, if kept."""
    p = thread_index()
    if p >= distance.shape[0]:
        return
    i = pair_centre[p]
    start, stop = offsets[i], offsets[i + 1]
    qa, qb = frame_atoms(start, stop, distance)
    ra = (vector[qa, 0], vector[qa, 1], vector[qa, 2])
    rb = (vector[qb, 0], vector[qb, 1], vector[qb, 2])
    ex, ey, ez, lt = local_frame(ra, distance[qa], rb)
    if lt < MIN_FRAME_SINE * distance[qb]:
        bad[i] = 1  # every thread of centre i writes the same value: no race
        return
    e = element[neighbor[p]]
    rank = slot_rank(p, start, stop, neighbor, element, distance, 4.0 * rc + 1.0)
    if rank < per_element[e]:
        b = element_blocks[i, e] + 4 * min(rank, n_full[e]) + 2 * max(rank - n_full[e], 0)
        dpmd_slot(i, p, i * n_slots + slot_start[e] + rank, b, rank < n_full[e], qa, qb, neighbor, vector, distance,
                  ex, ey, ez, distance[qa], lt, ra, rb, values, item, atom, displacement, jac)
