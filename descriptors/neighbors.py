"""Neighbour lists: a Numba cell list for molecules, slabs and (triclinic) crystals.

Method: atoms are wrapped into the cell along periodic directions; every periodic image
that can lie within the cutoff of the wrapped cell becomes an explicit "image point"
(so cells smaller than the cutoff, and self images, need no special case); image points
are binned in Cartesian space with bins at least half a cutoff wide; each atom then scans
the 5 x 5 x 5 bins around its own. Cost and memory are O(N) for a fixed density and cutoff.
"""

import math
import numbers
from typing import NamedTuple

import numba
import numpy as np


class Neighbors(NamedTuple):
    """A full neighbour list: every ordered pair (i, j) with distance below the cutoff.

    ``vector[p] = positions[j[p]] + shift[p] @ cell - positions[i[p]]``. Both (i, j) and
    (j, i) appear; an atom never pairs with itself unless through a nonzero shift (cells
    smaller than the cutoff). Pairs are sorted by ``i``.

    Attributes:
        i: int64 [P], centre atom.
        j: int64 [P], neighbour atom (the atom that the image belongs to).
        shift: int64 [P, 3], integer cell translation of the neighbour image.
        vector: float64 [P, 3], Å, from centre to neighbour image.
        distance: float64 [P], Å.
    """

    i: np.ndarray
    j: np.ndarray
    shift: np.ndarray
    vector: np.ndarray
    distance: np.ndarray


_MIN_CELL_MEASURE = 1e-6  # Å^3 (or Å^2, Å for 2 or 1 periodic directions)


def neighbor_list(positions, cell, pbc, cutoff) -> Neighbors:
    """All ordered pairs (i, j, shift) with ``0 < |r_j + shift @ cell - r_i| < cutoff``.

    Gives the same pairs as ``ase.neighborlist.neighbor_list("ijSDd", atoms, cutoff)``,
    sorted by i, then j, then shift (lexicographically).

    Args:
        positions: float [n_atoms, 3], Å. Atoms may lie outside the cell; shifts are
            relative to these positions as given.
        cell: float [3, 3], Å, lattice vectors as rows. Rows of non-periodic directions
            are ignored (they may be zero).
        pbc: bool [3] or bool, periodic directions.
        cutoff: float, Å, > 0.

    Returns:
        A :class:`Neighbors` record.

    Raises:
        ValueError: on wrong shapes, non-finite values, cutoff <= 0, or a cell whose
            periodic lattice vectors are (nearly) linearly dependent.
    """
    positions, cell, pbc, cutoff = _checked(positions, cell, pbc, cutoff)
    if len(positions) == 0:
        return Neighbors(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 3), np.int64),
                         np.zeros((0, 3)), np.zeros(0))
    wrap, point_atom, point_shift, point_pos, centre_point = _periodic_images(positions, cell, pbc, cutoff)
    counts, bin_of_point, bin_start, bin_members = _binned(point_pos, cutoff)
    offsets, pair_point = _find_pairs(centre_point, point_atom, point_shift, point_pos, bin_of_point,
                                      bin_start, bin_members, counts, positions, cell, wrap, cutoff)
    return Neighbors(*_pair_arrays(offsets, pair_point, point_atom, point_shift, positions, cell, wrap))


def centre_offsets(i, n_atoms) -> np.ndarray:
    """CSR offsets of each centre's pairs in a neighbour list sorted by centre.

    Args:
        i: int [P], centre index of each pair, sorted ascending (``Neighbors.i``).
        n_atoms: number of atoms.

    Returns:
        int64 [n_atoms + 1]: the pairs of centre ``a`` are ``offsets[a]:offsets[a + 1]``.
    """
    i = np.asarray(i)
    if i.ndim != 1 or (i.size and (i.min() < 0 or i.max() >= n_atoms)):
        raise ValueError(f"i must be a 1-d array of centre indices in [0, {n_atoms}), "
                         f"received shape {i.shape}")
    if np.any(np.diff(i) < 0):
        raise ValueError("i must be sorted ascending (as in Neighbors.i)")
    counts = np.bincount(i, minlength=n_atoms)
    return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


# --- input checks and geometry (numpy, O(1) or vectorised O(N)) ---------------------------


def _checked(positions, cell, pbc, cutoff):
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 2 or positions.shape[1] != 3:
        raise ValueError(f"positions must have shape [n_atoms, 3], received shape {positions.shape}")
    bad = np.flatnonzero(~np.isfinite(positions).all(axis=1))
    if bad.size:
        raise ValueError(f"positions must be finite, received NaN or inf at atoms {bad[:10].tolist()}")
    cell = np.asarray(cell, dtype=np.float64)
    if cell.shape != (3, 3):
        raise ValueError(f"cell must have shape [3, 3] (lattice vectors as rows), "
                         f"received shape {cell.shape}")
    if not np.isfinite(cell).all():
        raise ValueError(f"cell must be finite, received {cell.tolist()}")
    pbc_in = np.asarray(pbc)
    if pbc_in.shape not in ((), (3,)) or pbc_in.dtype.kind not in "bi":
        raise ValueError(f"pbc must be a bool or 3 bools, received {pbc!r}")
    pbc = np.broadcast_to(pbc_in.astype(bool), (3,)).copy()
    if not isinstance(cutoff, numbers.Real) or not math.isfinite(cutoff) or cutoff <= 0:
        raise ValueError(f"cutoff must be a finite number > 0 Å, received {cutoff!r}")
    return positions, cell, pbc, float(cutoff)


def _completed_cell(cell, pbc):
    """float [3, 3]: ``cell`` with non-periodic rows replaced by an orthonormal complement.

    Any basis that keeps the periodic lattice vectors gives the same pairs; the complement
    makes slabs and wires work when their non-periodic cell vectors are zero.
    """
    periodic = cell[pbc]
    if len(periodic) == 0:
        return np.eye(3)
    _, singular, vt = np.linalg.svd(periodic)
    measure = float(np.prod(singular))  # volume, area or length spanned by periodic rows
    if measure < _MIN_CELL_MEASURE:
        if pbc.all():
            what = f"cell has zero volume ({measure:.3g} Å^3) but pbc={pbc.tolist()}"
            fix = "give a cell with three independent lattice vectors or set pbc=False"
        else:
            what = (f"the cell vectors of the periodic directions {periodic.tolist()} span zero "
                    f"{'area' if len(periodic) == 2 else 'length'} ({measure:.3g}) but pbc={pbc.tolist()}")
            fix = "give independent lattice vectors for the periodic directions or set pbc=False there"
        raise ValueError(f"{what}; {fix}")
    basis = cell.copy()
    basis[~pbc] = vt[len(periodic):]
    return basis


def _periodic_images(positions, cell, pbc, cutoff):
    """Atoms wrapped into the cell, and every image that can be within ``cutoff`` of it.

    Returns:
        wrap: int64 [n, 3], cell translations subtracted to wrap each atom.
        atom, shift (int64 [Q, 3]), position (float64 [Q, 3], Å) of the image points of
        wrapped atoms, and own: int64 [n], each atom's unshifted image point.
    """
    basis = _completed_cell(cell, pbc)
    inverse = np.linalg.inv(basis)
    frac = positions @ inverse
    wrap = np.where(pbc, np.floor(frac), 0.0).astype(np.int64)
    # Fractional distance beyond the cell at which an image can still be in range:
    # cutoff over the spacing of lattice planes, 1 / |reciprocal vector|.
    reach = np.where(pbc, cutoff * np.linalg.norm(inverse, axis=0), 0.0)
    m_max = np.where(pbc, np.floor(reach) + 1, 0).astype(np.int64)
    return (wrap, *_image_points(frac - wrap, positions - wrap @ basis, basis, pbc, reach, m_max))


_BIN_SPAN = 2  # bins per cutoff: neighbours lie within +-_BIN_SPAN bins


def _binned(points, cutoff, max_bins_per_point=8):
    """Cartesian cell list of ``points`` (float [Q, 3], Å).

    Bins are at least ``cutoff / _BIN_SPAN`` wide; they are coarsened for sparse inputs
    (far-apart molecules) to bound memory, which costs time but never correctness.

    Returns:
        counts: int64 [3], bins per axis; bin_of_point: int64 [Q, 3];
        start: int64 [n_bins + 1] and members: int64 [Q], the CSR bin -> points map.
    """
    lo = points.min(axis=0)
    extent = points.max(axis=0) - lo
    counts = np.maximum(1, np.floor(_BIN_SPAN * extent / (cutoff * (1 + 1e-9)))).astype(np.int64)
    while np.prod(counts) > max_bins_per_point * len(points) + 125:
        counts = np.maximum(1, counts // 2)
    inv_width = np.where(extent > 0, counts / np.where(extent > 0, extent, 1.0), 0.0)
    bin_of_point = _bin_index(points, lo, inv_width, counts)
    return (counts, bin_of_point, *_sort_into_bins(bin_of_point, counts))


# --- Numba kernels -------------------------------------------------------------------------


@numba.njit(cache=True)
def _image_points(frac, wrapped, basis, pbc, reach, m_max):
    """Images (atom, shift m) of wrapped atoms whose fractional coordinates lie within
    ``reach`` of the cell along every periodic direction.

    Args:
        frac: float [n, 3], wrapped fractional coordinates (in [0, 1] along periodic axes).
        wrapped: float [n, 3], Å, wrapped positions.
        basis: float [3, 3], Å, completed cell.
        pbc: bool [3]; reach: float [3]; m_max: int [3], largest |m| tried per axis.

    Returns:
        atom int64 [Q], shift int64 [Q, 3], position float64 [Q, 3] (Å), ordered by atom
        then shift lexicographically (so point order is (j, shift) order); and
        own int64 [n], the point of each atom's unshifted copy.
    """
    n = frac.shape[0]
    width = 2 * m_max + 1
    keep = np.zeros((n, width[0], width[1], width[2]), dtype=np.bool_)
    for a in range(n):
        for m0 in range(width[0]):
            for m1 in range(width[1]):
                for m2 in range(width[2]):
                    keep[a, m0, m1, m2] = (_in_reach(frac[a, 0] + m0 - m_max[0], pbc[0], reach[0])
                                           and _in_reach(frac[a, 1] + m1 - m_max[1], pbc[1], reach[1])
                                           and _in_reach(frac[a, 2] + m2 - m_max[2], pbc[2], reach[2]))
        keep[a, m_max[0], m_max[1], m_max[2]] = True  # the atom itself, whatever the rounding
    q = int(keep.sum())
    atom = np.empty(q, dtype=np.int64)
    shift = np.empty((q, 3), dtype=np.int64)
    position = np.empty((q, 3), dtype=np.float64)
    own = np.empty(n, dtype=np.int64)
    p = 0
    for a in range(n):
        for m0 in range(width[0]):
            for m1 in range(width[1]):
                for m2 in range(width[2]):
                    if keep[a, m0, m1, m2]:
                        atom[p] = a
                        shift[p, 0] = m0 - m_max[0]
                        shift[p, 1] = m1 - m_max[1]
                        shift[p, 2] = m2 - m_max[2]
                        for c in range(3):
                            position[p, c] = (wrapped[a, c] + shift[p, 0] * basis[0, c]
                                              + shift[p, 1] * basis[1, c] + shift[p, 2] * basis[2, c])
                        if m0 == m_max[0] and m1 == m_max[1] and m2 == m_max[2]:
                            own[a] = p
                        p += 1
    return atom, shift, position, own


@numba.njit(cache=True, inline="always")
def _in_reach(s, periodic, reach):
    eps = 1e-9  # rounding slack: an extra image costs time, a missing one correctness
    return not periodic or (-reach - eps <= s <= 1.0 + reach + eps)


@numba.njit(cache=True)
def _bin_index(points, lo, inv_width, counts):
    """int64 [Q, 3]: bin coordinates of each point (clamped into the grid)."""
    out = np.empty(points.shape, dtype=np.int64)
    for p in range(points.shape[0]):
        for k in range(3):
            b = int((points[p, k] - lo[k]) * inv_width[k])
            out[p, k] = min(max(b, 0), counts[k] - 1)
    return out


@numba.njit(cache=True)
def _sort_into_bins(bin_of_point, counts):
    """Counting sort of points by flat bin id: CSR ``start`` [n_bins + 1] and ``members`` [Q]."""
    q = bin_of_point.shape[0]
    n_bins = counts[0] * counts[1] * counts[2]
    start = np.zeros(n_bins + 1, dtype=np.int64)
    flat = np.empty(q, dtype=np.int64)
    for p in range(q):
        flat[p] = _flat(bin_of_point[p, 0], bin_of_point[p, 1], bin_of_point[p, 2], counts)
        start[flat[p] + 1] += 1
    for b in range(n_bins):
        start[b + 1] += start[b]
    fill = start[:-1].copy()
    members = np.empty(q, dtype=np.int64)
    for p in range(q):
        members[fill[flat[p]]] = p
        fill[flat[p]] += 1
    return start, members


@numba.njit(cache=True, inline="always")
def _flat(b0, b1, b2, counts):
    return (b0 * counts[1] + b1) * counts[2] + b2


@numba.njit(cache=True, inline="always")
def _pair_vector(positions, cell, i, j, s0, s1, s2, out):
    """``out[:] = positions[j] - positions[i] + (s0, s1, s2) @ cell``; returns |out|^2.

    Summed in ASE's order, so pairs at the cutoff are decided as ASE decides them.
    """
    d2 = 0.0
    for c in range(3):
        out[c] = (positions[j, c] - positions[i, c]) + (s0 * cell[0, c] + s1 * cell[1, c] + s2 * cell[2, c])
        d2 += out[c] * out[c]
    return d2


@numba.njit(cache=True)
def _find_pairs(centre_point, point_atom, point_shift, point_pos, bin_of_point, bin_start,
                bin_members, counts, positions, cell, wrap, cutoff):
    """Image points within the cutoff of each atom, as CSR ``offsets`` [n+1] and point ids.

    Candidates are screened on image positions stored in bin order (contiguous reads);
    the final test uses the vector from the original positions and the final shift,
    exactly as reported, so every reported distance is below the cutoff.
    """
    n = centre_point.shape[0]
    binned_pos = point_pos[bin_members]
    offsets = np.zeros(n + 1, dtype=np.int64)
    found = np.empty(max(1024, 64 * n), dtype=np.int64)
    vector = np.empty(3)
    screen2 = (cutoff * (1 + 1e-9)) ** 2  # loose: the exact test below decides
    for i in range(n):
        own = centre_point[i]
        x, y, z = point_pos[own, 0], point_pos[own, 1], point_pos[own, 2]
        hi = offsets[i]
        b = bin_of_point[own]
        for b0 in range(max(b[0] - _BIN_SPAN, 0), min(b[0] + _BIN_SPAN + 1, counts[0])):
            for b1 in range(max(b[1] - _BIN_SPAN, 0), min(b[1] + _BIN_SPAN + 1, counts[1])):
                # the bins along axis 2 are adjacent in flat order: one contiguous run
                first = bin_start[_flat(b0, b1, max(b[2] - _BIN_SPAN, 0), counts)]
                last = bin_start[_flat(b0, b1, min(b[2] + _BIN_SPAN, counts[2] - 1), counts) + 1]
                if hi + last - first > found.shape[0]:
                    found = _grown(found, hi + last - first)
                for m in range(first, last):
                    dx = binned_pos[m, 0] - x
                    dy = binned_pos[m, 1] - y
                    dz = binned_pos[m, 2] - z
                    if dx * dx + dy * dy + dz * dz >= screen2:
                        continue
                    q = bin_members[m]
                    j = point_atom[q]
                    r2 = _pair_vector(positions, cell, i, j,
                                      point_shift[q, 0] - wrap[j, 0] + wrap[i, 0],
                                      point_shift[q, 1] - wrap[j, 1] + wrap[i, 1],
                                      point_shift[q, 2] - wrap[j, 2] + wrap[i, 2], vector)
                    if q != own and math.sqrt(r2) < cutoff:
                        found[hi] = q
                        hi += 1
        found[offsets[i]:hi].sort()  # point order is (j, shift) order
        offsets[i + 1] = hi
    return offsets, found[: offsets[n]]


@numba.njit(cache=True)
def _grown(array, needed):
    out = np.empty(max(2 * array.shape[0], needed), dtype=array.dtype)
    out[: array.shape[0]] = array
    return out


@numba.njit(cache=True)
def _pair_arrays(offsets, pair_point, point_atom, point_shift, positions, cell, wrap):
    """The :class:`Neighbors` arrays (i, j, shift, vector, distance) of found pairs."""
    n_pairs = pair_point.shape[0]
    i_out = np.empty(n_pairs, dtype=np.int64)
    j_out = np.empty(n_pairs, dtype=np.int64)
    shift = np.empty((n_pairs, 3), dtype=np.int64)
    vector = np.empty((n_pairs, 3), dtype=np.float64)
    distance = np.empty(n_pairs, dtype=np.float64)
    for i in range(offsets.shape[0] - 1):
        for p in range(offsets[i], offsets[i + 1]):
            q = pair_point[p]
            j = point_atom[q]
            i_out[p] = i
            j_out[p] = j
            for k in range(3):
                shift[p, k] = point_shift[q, k] - wrap[j, k] + wrap[i, k]
            r2 = _pair_vector(positions, cell, i, j, shift[p, 0], shift[p, 1], shift[p, 2], vector[p])
            distance[p] = math.sqrt(r2)
    return i_out, j_out, shift, vector, distance
