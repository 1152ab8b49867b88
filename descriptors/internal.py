"""Inverse interatomic distances of one molecule: the input of a 1G global network.

Review Kocer, Ko, Behler, Annu. Rev. Phys. Chem. 73, 163 (2022), section 2: first-generation
potentials feed one feed-forward network with a fixed-size vector of internal coordinates of
the whole system. The inverse distances are the usual choice (they are invariant to
translation and rotation, smooth, and emphasise short distances):

    x_p = 1 / r_ij,   p = (i, j), i < j, in row-major order (0,1), (0,2), ..., (1,2), ...

with ``d x_p / d r_j = -(r_j - r_i) / r_ij^3`` and ``d x_p / d r_i = +(r_j - r_i) / r_ij^3``.

Layout: the molecule is ONE row (item 0), values [1, n_pairs], so a flat batch of several
structures has one row per structure. The Jacobian has one block per atom a (item 0, atom a,
value [n_pairs, 3] = d x / d r_a, zero for pairs without a), rather than two blocks per pair:
that is n_atoms blocks of n_pairs columns instead of n_atoms (n_atoms - 1) of them, the same
numbers in (n_atoms - 1) times less memory. Block displacements are ``r_a - r_0`` (the row's
reference atom is atom 0), which gives the exact strain derivative for translation-invariant
rows (docs/DESIGN.md, "Block displacements give the virial").

One subtraction and one division per pair is all there is, so on the CPU this is vectorised
numpy: the scalar body :func:`inverse_distance` is evaluated on whole columns there, and
compiled into ``_inverse_distances_cuda`` (one thread per pair) for ``device="cuda"``.
"""

from __future__ import annotations

import numpy as np

from descriptors import cuda_target
from descriptors.cuda_target import thread_index
from descriptors.jacobian import Jacobian


def inverse_distance(x, y, z, r):
    """x_p = 1 / r of a pair vector (x, y, z) = r_j - r_i of length r, and d x_p / d r_j.

    Plain arithmetic, so it works on scalars (CUDA) and on numpy columns (CPU) alike.

    Returns:
        (1/r in 1/Å, then the three components of -(r_j - r_i) / r^3 in 1/Å²).
    """
    r3 = r ** 3
    return 1.0 / r, -x / r3, -y / r3, -z / r3


def pair_indices(n_atoms: int) -> tuple[np.ndarray, np.ndarray]:
    """Atoms (i, j), i < j, of every pair of a molecule, in row-major order.

    Args:
        n_atoms: atoms of the molecule.

    Returns:
        i, j: int64 [n_atoms (n_atoms - 1) / 2].
    """
    if int(n_atoms) < 2:
        raise ValueError(f"a molecule needs at least 2 atoms for internal coordinates, received {n_atoms}")
    i, j = np.triu_indices(int(n_atoms), 1)
    return i.astype(np.int64), j.astype(np.int64)


def checked_positions(positions) -> np.ndarray:
    """float64 [n_atoms, 3], or a ValueError for a wrong shape or non-finite values."""
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 2 or positions.shape[1] != 3:
        raise ValueError(f"positions must have shape [n_atoms, 3], received shape {positions.shape}")
    if not np.isfinite(positions).all():
        raise ValueError("positions contain NaN or inf; fix or drop the structure")
    return positions


def pair_geometry(positions) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs i < j with their vectors r_j - r_i (Å) and distances (Å).

    Raises:
        ValueError: two atoms at the same position (distance 0).
    """
    positions = checked_positions(positions)
    i, j = pair_indices(len(positions))
    vector = positions[j] - positions[i]
    distance = np.linalg.norm(vector, axis=1)
    if distance.min() <= 0.0:
        p = int(np.argmin(distance))
        raise ValueError(f"atoms {int(i[p])} and {int(j[p])} are at the same position; internal coordinates "
                         f"need distinct atoms")
    return i, j, vector, distance


def molecule_blocks(positions, value: np.ndarray) -> Jacobian:
    """The per-atom Jacobian of a one-row molecular descriptor.

    Args:
        positions: float [n_atoms, 3], Å.
        value: float [n_atoms, K, 3], d row / d r_a.

    Returns:
        Jacobian with item 0 for every block, atom a for block a, displacements r_a - r_0.
    """
    positions = np.asarray(positions, dtype=np.float64)
    n = len(positions)
    return Jacobian(np.zeros(n, np.int64), np.arange(n, dtype=np.int64), value, positions - positions[0])


def inverse_distances(positions, device: str = "cpu") -> tuple[np.ndarray, Jacobian]:
    """Inverse distances 1/r_ij of all pairs i < j of one molecule and their Jacobian.

    Args:
        positions: float [n_atoms, 3], Å, n_atoms >= 2 (a molecule: no periodic images).
        device: "cpu" or "cuda" (:mod:`descriptors.cuda_target`).

    Returns:
        values: float64 [1, n_pairs], 1/Å, pairs in :func:`pair_indices` order;
        jac: :class:`Jacobian` with one block per atom, value float64 [n_atoms, n_pairs, 3]
            in 1/Å².

    Raises:
        ValueError: wrong shapes, non-finite positions, fewer than 2 atoms or coincident atoms.
        CudaUnavailableError: ``device="cuda"`` without a GPU or the simulator.
    """
    on_gpu = cuda_target.use_cuda(device, "inverse_distances")
    i, j, vector, distance = pair_geometry(positions)
    if on_gpu:
        values, value = _on_gpu(i, j, vector, distance, len(positions))
        return values[None, :], molecule_blocks(positions, value)
    inverse, *grad = inverse_distance(vector[:, 0], vector[:, 1], vector[:, 2], distance)
    grad_j = np.stack(grad, axis=1)  # d (1/r) / d r_j
    value = np.zeros((len(positions), len(i), 3))
    columns = np.arange(len(i))
    value[j, columns] = grad_j
    value[i, columns] = -grad_j
    return inverse[None, :], molecule_blocks(positions, value)


def _on_gpu(i, j, vector, distance, n_atoms):
    n_pairs = len(i)
    inputs = cuda_target.to_device(i, j, np.ascontiguousarray(vector), distance)
    values, value = cuda_target.empty(n_pairs), cuda_target.zeros((n_atoms, n_pairs, 3))
    kernels = cuda_target.compile_kernels((_inverse_distances_cuda,), (inverse_distance,))
    cuda_target.launch(kernels._inverse_distances_cuda, n_pairs, *inputs, values, value)
    return cuda_target.to_host(values, value)


def _inverse_distances_cuda(i, j, vector, distance, values, value):
    """CUDA loop kernel: pair p writes column p (``value`` zeroed: other atoms' entries stay 0)."""
    p = thread_index()
    if p >= distance.shape[0]:
        return
    inverse, g0, g1, g2 = inverse_distance(vector[p, 0], vector[p, 1], vector[p, 2], distance[p])
    values[p] = inverse
    value[j[p], p, 0], value[j[p], p, 1], value[j[p], p, 2] = g0, g1, g2
    value[i[p], p, 0], value[i[p], p, 1], value[i[p], p, 2] = -g0, -g1, -g2
