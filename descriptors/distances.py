"""Interatomic distances of neighbour-list entries with their Jacobian (unit vectors).

The input of message-passing models with learnable descriptors (review Kocer, Ko, Behler,
Annu. Rev. Phys. Chem. 73, 163 (2022), section 3.3: DTNN, SchNet, HIP-NN): the models
build their features from the distances inside the network, so the descriptor is the
distance itself,

    d_p = |r_j + S_p - r_i|,   p = (i, j, S_p) an entry of a full neighbour list,

with ``d d_p / d r_j = u_p`` and ``d d_p / d r_i = -u_p``, ``u_p = (r_j + S_p - r_i) / d_p``.

Layout: one row per neighbour entry (pairs at or beyond the cutoff dropped), in
neighbour-list order (sorted by centre), values [n_pairs, 1]. Row p owns one pair block
(:class:`descriptors.jacobian.Jacobian`): atom j, value +u_p, displacement r_ij (the
neighbour image relative to the centre), partner i, which gets -u_p, as every pair kernel
here does (docs/DESIGN.md, "Pair blocks").

This is the neighbour list itself, so on the CPU it is plain vectorised numpy (no Numba
kernel: one division per pair is all there is to compute). The scalar body
:func:`unit_vector` serves both targets: numpy evaluates it on whole columns, and
``device="cuda"`` compiles it into ``_blocks_cuda`` (one thread per pair,
:mod:`descriptors.cuda_target`); the neighbour list itself is always built on the CPU.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from descriptors import cuda_target
from descriptors.cuda_target import thread_index
from descriptors.jacobian import Jacobian
from descriptors.neighbors import Neighbors


def unit_vector(x, y, z, r):
    """(x, y, z) / r: d r / d r_j of a pair vector (x, y, z) of length r (dimensionless).

    Plain arithmetic, so it works on scalars (CUDA) and on numpy columns (CPU) alike.
    """
    return x / r, y / r, z / r


def pair_distances(neighbors: Neighbors, n_atoms: int, cutoff: float | None = None,
                   device: str = "cpu") -> tuple[np.ndarray, Jacobian, np.ndarray, np.ndarray]:
    """Distances of the neighbour entries closer than ``cutoff``, their Jacobian and indices.

    Args:
        neighbors: a full neighbour list (both directions, periodic images as separate
            entries), e.g. from :func:`descriptors.neighbors.neighbor_list` or
            :func:`all_pairs`.
        n_atoms: atoms of the structure (for index checks).
        cutoff: Å; entries with distance >= cutoff are dropped. None keeps every entry.
        device: "cpu" or "cuda" (the blocks on the GPU, :mod:`descriptors.cuda_target`).

    Returns:
        values: float64 [n_pairs, 1], Å;
        jac: :class:`Jacobian` with one pair block per row (atom j, partner i), value
            float64 [n_pairs, 1, 3] (dimensionless);
        centre: int64 [n_pairs], atom i of each row; neighbor: int64 [n_pairs], atom j
            (the atom whose image is the neighbour).

    Raises:
        ValueError: inconsistent shapes, indices out of range, a cutoff that is not a
            positive number, or two atoms at zero (or non-finite) distance.
        CudaUnavailableError: ``device="cuda"`` without a GPU or the simulator.
    """
    on_gpu = cuda_target.use_cuda(device, "pair_distances")
    i, j, vector, distance = _checked(neighbors, n_atoms)
    if cutoff is not None:
        if not isinstance(cutoff, numbers.Real) or not math.isfinite(cutoff) or cutoff <= 0:
            raise ValueError(f"cutoff must be a finite number > 0 Å or None, received {cutoff!r}")
        keep = distance < cutoff
        i, j, vector, distance = i[keep], j[keep], vector[keep], distance[keep]
    n_pairs = len(i)
    value = (_blocks_on_gpu if on_gpu else _blocks)(np.ascontiguousarray(vector), distance)
    jac = Jacobian(np.arange(n_pairs, dtype=np.int64), j.copy(), value, vector.copy(), partner=i.copy())
    return distance[:, None].copy(), jac, i, j


def _blocks(vector, distance):
    """Pair block values [P, 1, 3] (the unit vectors u), numpy."""
    return np.stack(unit_vector(vector[:, 0], vector[:, 1], vector[:, 2], distance), axis=1)[:, None, :]


def _blocks_on_gpu(vector, distance):
    """:func:`_blocks` on the device: one thread per pair."""
    n_pairs = len(distance)
    vector_d, distance_d = cuda_target.to_device(vector, distance)
    value = cuda_target.empty((n_pairs, 1, 3))
    kernels = cuda_target.compile_kernels((_blocks_cuda,), (unit_vector,))
    cuda_target.launch(kernels._blocks_cuda, n_pairs, vector_d, distance_d, value)
    return cuda_target.to_host(value)[0]


def _blocks_cuda(vector, distance, value):
    """CUDA loop kernel: pair p writes its block, the unit vector u."""
    p = thread_index()
    if p >= distance.shape[0]:
        return
    u = unit_vector(vector[p, 0], vector[p, 1], vector[p, 2], distance[p])
    for c in range(3):
        value[p, 0, c] = u[c]


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
