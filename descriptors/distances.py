"""Interatomic distances of neighbour-list entries with their Jacobian (unit vectors).

The input of message-passing models with learnable descriptors (review Kocer, Ko, Behler,
Annu. Rev. Phys. Chem. 73, 163 (2022), section 3.3: DTNN, SchNet, HIP-NN): the models
build their features from the distances inside the network, so the descriptor is the
distance itself,

    d_p = |r_j + S_p - r_i|,   p = (i, j, S_p) an entry of a full neighbour list,

with ``d d_p / d r_j = u_p`` and ``d d_p / d r_i = -u_p``, ``u_p = (r_j + S_p - r_i) / d_p``.

Layout: one row per neighbour entry (pairs at or beyond the cutoff dropped), in
neighbour-list order (sorted by centre), values [n_pairs, 1]. Row p owns Jacobian blocks
``2 p`` (atom j, value +u_p, displacement r_ij, the neighbour image relative to the centre)
and ``2 p + 1`` (atom i, value -u_p, displacement 0), as every pair kernel here does
(docs/DESIGN.md, "Block displacements give the virial").

This is the neighbour list itself, so it is plain vectorised numpy (no Numba kernel: one
division per pair is all there is to compute).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from descriptors.jacobian import Jacobian
from descriptors.neighbors import Neighbors
from descriptors.wacsf import check_device


def pair_distances(neighbors: Neighbors, n_atoms: int, cutoff: float | None = None,
                   device: str = "cpu") -> tuple[np.ndarray, Jacobian, np.ndarray, np.ndarray]:
    """Distances of the neighbour entries closer than ``cutoff``, their Jacobian and indices.

    Args:
        neighbors: a full neighbour list (both directions, periodic images as separate
            entries), e.g. from :func:`descriptors.neighbors.neighbor_list` or
            :func:`all_pairs`.
        n_atoms: atoms of the structure (for index checks).
        cutoff: Å; entries with distance >= cutoff are dropped. None keeps every entry.
        device: "cpu" ("cuda" comes with the CUDA target of the descriptor kernels).

    Returns:
        values: float64 [n_pairs, 1], Å;
        jac: :class:`Jacobian` with 2 blocks per row, value float64 [2 n_pairs, 1, 3]
            (dimensionless);
        centre: int64 [n_pairs], atom i of each row; neighbor: int64 [n_pairs], atom j
            (the atom whose image is the neighbour).

    Raises:
        ValueError: inconsistent shapes, indices out of range, a cutoff that is not a
            positive number, or two atoms at zero (or non-finite) distance.
    """
    check_device(device, "pair_distances")
    i, j, vector, distance = _checked(neighbors, n_atoms)
    if cutoff is not None:
        if not isinstance(cutoff, numbers.Real) or not math.isfinite(cutoff) or cutoff <= 0:
            raise ValueError(f"cutoff must be a finite number > 0 Å or None, received {cutoff!r}")
        keep = distance < cutoff
        i, j, vector, distance = i[keep], j[keep], vector[keep], distance[keep]
    n_pairs = len(i)
    unit = vector / distance[:, None]
    value = np.empty((2 * n_pairs, 1, 3))
    value[0::2, 0] = unit
    value[1::2, 0] = -unit
    atom = np.empty(2 * n_pairs, np.int64)
    atom[0::2] = j
    atom[1::2] = i
    displacement = np.zeros((2 * n_pairs, 3))
    displacement[0::2] = vector
    item = np.repeat(np.arange(n_pairs, dtype=np.int64), 2)
    return distance[:, None].copy(), Jacobian(item, atom, value, displacement), i, j


def all_pairs(positions) -> Neighbors:
    """Every ordered pair (i, j), i != j, of a non-periodic structure (no cutoff).

    For models defined on all pairs of a molecule (the original DTNN); O(n_atoms²) memory.

    Args:
        positions: float [n_atoms, 3], Å.

    Returns:
        A :class:`descriptors.neighbors.Neighbors` record sorted by i, then j, with zero
        shifts.
    """
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 2 or positions.shape[1] != 3:
        raise ValueError(f"positions must have shape [n_atoms, 3], received shape {positions.shape}")
    n = len(positions)
    i, j = np.nonzero(~np.eye(n, dtype=bool))
    vector = positions[j] - positions[i]
    return Neighbors(i.astype(np.int64), j.astype(np.int64), np.zeros((len(i), 3), np.int64), vector,
                     np.linalg.norm(vector, axis=1))


def _checked(nb: Neighbors, n_atoms: int):
    i, j = np.asarray(nb.i, dtype=np.int64), np.asarray(nb.j, dtype=np.int64)
    vector, distance = np.asarray(nb.vector, dtype=np.float64), np.asarray(nb.distance, dtype=np.float64)
    n_pairs = len(i)
    if j.shape != (n_pairs,) or vector.shape != (n_pairs, 3) or distance.shape != (n_pairs,):
        raise ValueError(f"neighbors must have i, j, distance of shape [P] and vector of shape [P, 3], "
                         f"received {i.shape}, {j.shape}, {distance.shape}, {vector.shape}")
    for name, index in (("i", i), ("j", j)):
        if n_pairs and (index.min() < 0 or index.max() >= n_atoms):
            raise ValueError(f"neighbors.{name} must index atoms in [0, {n_atoms}), received values in "
                             f"[{index.min()}, {index.max()}]")
    if n_pairs and not (np.isfinite(distance).all() and distance.min() > 0.0):
        p = int(np.argmin(np.where(np.isfinite(distance), distance, -1.0)))
        raise ValueError(f"atoms {int(i[p])} and {int(j[p])} are at distance {distance[p]} Å; "
                         f"pair distances need distinct, finite positions")
    return i, j, vector, distance
