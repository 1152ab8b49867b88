"""Weighted atom-centred symmetry functions (wACSF) with their analytic Jacobian.

M. Gastegger, L. Schwiedrzik, M. Bittermann, F. Berzsenyi, P. Marquetand, J. Chem. Phys.
148, 241709 (2018); review Kocer, Ko, Behler, Annu. Rev. Phys. Chem. 73, 163 (2022),
section 3.2. Element-resolved ACSF (:mod:`descriptors.acsf`) need one block of columns per
neighbour element (radial) and per element pair (angular), so their number grows
quadratically with the number of elements. wACSF instead sum all neighbours into the same
column and tell elements apart by a weight w(Z) in the sum, so the size is independent of
the number of elements. For a centre i with neighbour entries j, k (periodic images are
separate entries), bond vectors r_ij = r_j - r_i and cos theta_ijk = r_ij . r_ik / (r_ij r_ik):

    W_rad_i = sum_j  w(Z_j) exp(-eta (r_ij - mu)^2) f_c(r_ij)
    W_ang_i = 2^(1-zeta) sum_{j != k} w(Z_j) w(Z_k) (1 + lambda cos theta_ijk)^zeta
              exp(-eta [(r_ij - mu)^2 + (r_ik - mu)^2 + (r_jk - mu)^2]) f_c(r_ij) f_c(r_ik) f_c(r_jk)

with w(Z) = Z (the paper's choice, g(Z_j) = Z_j and h(Z_j, Z_k) = Z_j Z_k) unless a
per-element table is given. As in :mod:`descriptors.acsf`, the angular sum runs over
*ordered* pairs j != k (each unordered pair twice), i.e. twice n2p2's weighted angular
function (``SymFncExpAngnWeighted``, j < k). Deviation from the paper: none in the functional
form; the automatic parameter grid (:meth:`WacsfParams.auto`) is ours (evenly spaced shifted
Gaussians, in the spirit of the paper's empirical scheme).

Column order: the ``radial`` sets, then the ``angular`` sets (``WacsfParams.feature_names``).

Jacobian (:mod:`descriptors.jacobian`): the block layout of :func:`descriptors.acsf.acsf`
(centre i owns block ``offsets[i] + i`` for itself, minus the sum of the others, and block
``p + i + 1`` for each of its pairs p), so B = n_atoms + n_pairs.

Layers: scalar math from :mod:`descriptors.cutoffs` and :mod:`descriptors.acsf`
(``radial_term`` gives both the radial summand and the shifted Gaussian-cutoff factor of
each distance of an angular term; ``angular_power`` the angular factor) and the per-centre
body :func:`wacsf_centre` (with the pieces it shares with ACSF's CUDA body:
``add_radial``, ``triplet_term``, ``add_triplet``), compiled with
:func:`descriptors.cutoffs.compile_scalar` for both targets -> loop kernels ``_wacsf_cpu``
(``prange`` over centres) and ``_wacsf_cuda`` (one thread per centre,
:mod:`descriptors.cuda_target`) -> the dispatcher :func:`wacsf`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from ase.data import chemical_symbols

from descriptors import acsf as _acsf
from descriptors import cuda_target, cutoffs
from descriptors.acsf import _block_displacements, _block_indices, _checked_elements, _checked_sets, _within
# called by the bodies as plain Python (compiled, they call the compiled versions)
from descriptors.acsf import add_radial, add_triplet, angular_power, clear_centre, radial_term  # noqa: F401
from descriptors.acsf import subtract_neighbour_blocks, triplet_term  # noqa: F401
from descriptors.cuda_target import thread_index
from descriptors.cutoffs import cutoff_of_kind  # noqa: F401
from descriptors.jacobian import Jacobian
from descriptors.neighbors import Neighbors, centre_offsets

#: the scalar bodies the kernels of this module and of :mod:`descriptors.pair_sf` use
SCALAR_FUNCTIONS = [cutoffs.sin_cos_half_pi, cutoffs.cos_cutoff, cutoffs.tanh_cutoff, cutoffs.poly_cutoff,
                    cutoffs.cutoff_of_kind, _acsf.exp_nonpositive, _acsf.radial_term, _acsf.integer_power,
                    _acsf.angular_power]


# --- parameters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WacsfParams:
    """A set of weighted symmetry functions.

    Attributes:
        elements: atomic numbers, sorted ascending and unique.
        cutoff: r_c in Å.
        radial: radial sets (eta [1/Å^2], mu [Å]).
        angular: angular sets (eta [1/Å^2], mu [Å], zeta >= 1, lambda = +-1).
        weights: w(Z) per element of ``elements`` (same order); None means the atomic
            numbers (stored explicitly after construction).
        cutoff_function: "cos", "tanh" or "poly" (:mod:`descriptors.cutoffs`).
    """

    elements: tuple[int, ...]
    cutoff: float
    radial: tuple[tuple[float, float], ...]
    angular: tuple[tuple[float, float, float, float], ...] = ()
    weights: tuple[float, ...] | None = None
    cutoff_function: str = "cos"

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731  frozen
        set_("elements", _checked_elements(self.elements))
        if not (isinstance(self.cutoff, (int, float)) and math.isfinite(self.cutoff) and self.cutoff > 0):
            raise ValueError(f"cutoff must be a finite number > 0 Å, received {self.cutoff!r}")
        set_("cutoff", float(self.cutoff))
        set_("radial", _checked_sets("radial", self.radial, ("eta", "mu")))
        set_("angular", _checked_sets("angular", self.angular, ("eta", "mu", "zeta", "lambda")))
        weights = self.elements if self.weights is None else self.weights
        try:
            weights = tuple(float(w) for w in weights)
        except (TypeError, ValueError):
            raise ValueError(f"weights must be numbers, one per element, received {self.weights!r}") from None
        if len(weights) != len(self.elements) or not all(math.isfinite(w) for w in weights):
            raise ValueError(f"weights must be {len(self.elements)} finite numbers (one per element of "
                             f"{self.elements}), received {self.weights!r}")
        set_("weights", weights)
        if self.cutoff_function not in cutoffs.KINDS:
            raise ValueError(f"cutoff_function must be one of {sorted(cutoffs.KINDS)}, "
                             f"received {self.cutoff_function!r}")

    @property
    def n_features(self) -> int:
        """K = len(radial) + len(angular), whatever the number of elements."""
        return len(self.radial) + len(self.angular)

    def feature_names(self) -> list[str]:
        """Column names, e.g. ``Wrad(eta=4,mu=1.5)``, ``Wang(eta=1,mu=0,zeta=1,lambda=-1)``."""
        return ([f"Wrad(eta={eta:g},mu={mu:g})" for eta, mu in self.radial]
                + [f"Wang(eta={eta:g},mu={mu:g},zeta={zeta:g},lambda={lam:g})"
                   for eta, mu, zeta, lam in self.angular])

    def to_dict(self) -> dict:
        """JSON-serialisable dict; inverse of :meth:`from_dict`."""
        return {"elements": list(self.elements), "cutoff": self.cutoff, "radial": [list(s) for s in self.radial],
                "angular": [list(s) for s in self.angular], "weights": list(self.weights),
                "cutoff_function": self.cutoff_function}

    @classmethod
    def from_dict(cls, d: dict) -> WacsfParams:
        return cls(**d)

    @classmethod
    def auto(cls, elements, cutoff, n_radial=24, n_angular=4, zetas=(1.0, 4.0), r_min=0.5,
             weights=None, cutoff_function="cos") -> WacsfParams:
        """Evenly spaced shifted Gaussians (our grid, after the paper's empirical scheme).

        Radial: ``n_radial`` centres mu_k evenly spaced on [r_min, r_c], each with
        eta = 1 / spacing^2 (neighbouring Gaussians cross near half height). Angular:
        ``n_angular`` centres on [0, r_c - spacing'] (the last would add little inside the
        cutoff) with eta = 1 / spacing'^2, times ``zetas`` times lambda = -1, +1. The
        default gives 24 + 16 = 40 columns for any number of elements.

        Args:
            elements: atomic numbers or chemical symbols.
            cutoff: r_c, Å.
            n_radial: radial functions (>= 2).
            n_angular: angular shifts (>= 1).
            zetas: angular zeta values (>= 1).
            r_min: Å, first radial centre.
            weights: w(Z) per element (a dict symbol or Z -> weight, or a sequence in the
                order of sorted atomic numbers); default the atomic numbers.
            cutoff_function: "cos", "tanh" or "poly".
        """
        numbers = sorted({z if isinstance(z, (int, np.integer)) else chemical_symbols.index(z) for z in elements})
        if n_radial < 2 or n_angular < 1:
            raise ValueError(f"n_radial must be >= 2 and n_angular >= 1, received {n_radial}, {n_angular}")
        if not 0 <= r_min < cutoff:
            raise ValueError(f"r_min must be in [0, cutoff) Å, received {r_min}")
        centres = np.linspace(r_min, cutoff, n_radial)
        radial = tuple((1.0 / (centres[1] - centres[0]) ** 2, float(mu)) for mu in centres)
        spacing = cutoff / n_angular
        angular = tuple((1.0 / spacing**2, float(mu), float(zeta), lam)
                        for mu in np.arange(n_angular) * spacing for zeta in zetas for lam in (-1.0, 1.0))
        if isinstance(weights, dict):
            table = {z if isinstance(z, (int, np.integer)) else chemical_symbols.index(z): w for z, w in weights.items()}
            missing = [chemical_symbols[z] for z in numbers if z not in table]
            if missing:
                raise ValueError(f"weights has no entry for {missing}; give a weight for every element")
            weights = [table[z] for z in numbers]
        return cls(tuple(numbers), cutoff, radial, angular, None if weights is None else tuple(weights),
                   cutoff_function)


# --- dispatcher ----------------------------------------------------------------------------


def wacsf(positions, numbers, cell, pbc, neighbors: Neighbors, params: WacsfParams,
          device: str = "cpu") -> tuple[np.ndarray, Jacobian]:
    """wACSF values and their Jacobian with respect to the positions.

    Args:
        positions: float [n_atoms, 3], Å (only its length is used; the geometry comes from
            ``neighbors.vector``).
        numbers: int [n_atoms], atomic numbers, all in ``params.elements``.
        cell, pbc: unused (periodicity is in ``neighbors``); kept for the common signature.
        neighbors: full neighbour list with a cutoff >= ``params.cutoff``, sorted by centre.
        params: the symmetry functions.
        device: "cpu" or "cuda" (:mod:`descriptors.cuda_target`).

    Returns:
        values: float64 [n_atoms, K]; jac: :class:`Jacobian` with B = n_atoms + n_pairs
        blocks (layout in the module docstring), displacement the pair vector of each
        neighbour block.

    Raises:
        ValueError: an element outside ``params.elements``, inconsistent shapes, or two
            atoms at zero distance.
        CudaUnavailableError: ``device="cuda"`` without a GPU or the simulator.
    """
    on_gpu = cuda_target.use_cuda(device, "wacsf")
    n_atoms = len(positions)
    weight = np.asarray(params.weights)[element_index(numbers, params.elements, n_atoms, "WacsfParams")]
    nb = _within(neighbors, n_atoms, params.cutoff)
    offsets = centre_offsets(nb.i, n_atoms)
    radial = np.array(params.radial, dtype=np.float64).reshape(-1, 2)
    tables = _angular_tables(params)
    n_blocks = n_atoms + len(nb.i)
    if on_gpu:
        values, value = _wacsf_on_gpu(offsets, nb, weight, params, radial, *tables)
    else:
        values = np.empty((n_atoms, params.n_features))
        value = np.empty((n_blocks, params.n_features, 3))
        _wacsf_cpu(offsets, nb.j, nb.vector, nb.distance, weight, params.cutoff, cutoffs.KINDS[params.cutoff_function],
                   radial, *tables, values, value)
    item, atom = _block_indices(nb.i, nb.j, offsets)
    return values, Jacobian(item, atom, value, _block_displacements(nb.i, nb.vector, n_blocks))


def element_index(numbers, elements, n_atoms, params_name) -> np.ndarray:
    """int64 [n_atoms]: index of each atom's element in ``elements`` (sorted), or a
    ValueError naming the first unknown element and the parameter class to rebuild."""
    numbers = np.asarray(numbers)
    if numbers.shape != (n_atoms,) or numbers.dtype.kind not in "iu":
        raise ValueError(f"numbers must be integers of shape [{n_atoms}] (one per position), "
                         f"received {numbers.dtype} of shape {numbers.shape}")
    elements = np.asarray(elements)
    index = np.clip(np.searchsorted(elements, numbers), 0, len(elements) - 1)
    unknown = elements[index] != numbers
    if np.any(unknown):
        z = int(numbers[unknown][0])
        symbol = chemical_symbols[z] if 0 < z < len(chemical_symbols) else "not an element"
        raise ValueError(f"element {z} ({symbol}) is not in the descriptor's elements {tuple(elements.tolist())}; "
                         f"build {params_name} with elements that include it")
    return index.astype(np.int64)


def _angular_tables(params: WacsfParams):
    """gauss float [U, 2] unique (eta, mu); powers float [Q, 3] unique (zeta, lambda) with
    2^(1 - zeta); sets int [A, 2] (gauss row, powers row) of each angular set."""
    gauss = sorted({s[:2] for s in params.angular})
    zl = sorted({s[2:] for s in params.angular})
    sets = np.array([[gauss.index(s[:2]), zl.index(s[2:])] for s in params.angular], dtype=np.int64).reshape(-1, 2)
    powers = np.array([[z, lam, 2.0 ** (1.0 - z)] for z, lam in zl], dtype=np.float64).reshape(-1, 3)
    return np.array(gauss, dtype=np.float64).reshape(-1, 2), powers, sets


# --- per-centre bodies (plain; compiled for the CPU and for CUDA) ---------------------------


def wacsf_triplet(i, b0, start, t, k, neighbor, vector, distance, weight, rc, kind, n_rad, gauss, powers, sets, a,
                  da, g, dg, p, dp, values, jac):
    """Add the unordered pair of neighbours t < k (entries start + t, start + k) of centre i,
    counted twice (the ordered-pair convention), to row i and blocks b0 + 1 + t, b0 + 1 + k.
    ``a``, ``da`` hold the centre's per-neighbour Gaussian factors; ``g``, ``dg``, ``p``,
    ``dp`` are scratch for the factors of this pair."""
    qt, qk = start + t, start + k
    rt, rk = distance[qt], distance[qk]
    dx, dy, dz = vector[qk, 0] - vector[qt, 0], vector[qk, 1] - vector[qt, 1], vector[qk, 2] - vector[qt, 2]
    rjk = math.sqrt(dx * dx + dy * dy + dz * dz)
    if rjk >= rc:
        return  # f_c(r_jk) = 0: no term, no gradient
    fjk, dfjk = cutoff_of_kind(rjk, rc, kind)
    inv = 1.0 / (rt * rk)
    cos = (vector[qt, 0] * vector[qk, 0] + vector[qt, 1] * vector[qk, 1] + vector[qt, 2] * vector[qk, 2]) * inv
    ww = 2.0 * weight[neighbor[qt]] * weight[neighbor[qk]]  # ordered pairs: (t, k) and (k, t)
    for u in range(gauss.shape[0]):
        v, dv = radial_term(rjk, gauss[u, 0], gauss[u, 1], fjk, dfjk)
        g[u] = v
        dg[u] = dv / rjk
    for o in range(powers.shape[0]):
        v, dv = angular_power(cos, powers[o, 0], powers[o, 1])
        p[o] = ww * powers[o, 2] * v
        dp[o] = ww * powers[o, 2] * dv
    for s in range(sets.shape[0]):
        u, o = sets[s, 0], sets[s, 1]
        col = n_rad + s
        v, s_t, s_k, c_cos, c_jk = triplet_term(p[o], dp[o], cos, inv, rt, rk, a[u, t], da[u, t], a[u, k], da[u, k],
                                                g[u], dg[u])
        values[i, col] += v
        add_triplet(jac, b0 + 1 + t, b0 + 1 + k, col, s_t, s_k, c_cos, c_jk, vector, qt, qk, dx, dy, dz)


def wacsf_centre(i, offsets, neighbor, vector, distance, weight, rc, kind, radial, gauss, powers, sets, a, da, g, dg,
                 p, dp, values, jac):
    """Row i of ``values`` and centre i's blocks ``offsets[i] + i`` (itself, minus the sum of
    the others) and ``offsets[i] + i + 1 + t`` (its t-th pair). Scratch: ``a``, ``da``
    [U, >= n] (the angular Gaussians of each neighbour), ``g``, ``dg`` [U], ``p``, ``dp`` [Q]."""
    start = offsets[i]
    n = offsets[i + 1] - start
    b0 = start + i
    n_rad = radial.shape[0]
    clear_centre(i, b0, n, values, jac)
    for t in range(n):
        q = start + t
        r = distance[q]
        fc, dfc = cutoff_of_kind(r, rc, kind)
        add_radial(i, b0 + 1 + t, q, 0, weight[neighbor[q]], r, fc, dfc, radial, vector, values, jac)
        for u in range(gauss.shape[0]):
            v, dv = radial_term(r, gauss[u, 0], gauss[u, 1], fc, dfc)
            a[u, t] = v
            da[u, t] = dv / r
    for t in range(n if sets.shape[0] > 0 else 0):
        for k in range(t + 1, n):
            wacsf_triplet(i, b0, start, t, k, neighbor, vector, distance, weight, rc, kind, n_rad, gauss, powers, sets,
                          a, da, g, dg, p, dp, values, jac)
    subtract_neighbour_blocks(jac, b0, n)


_FUNCTIONS = tuple(SCALAR_FUNCTIONS) + (add_radial, triplet_term, add_triplet, clear_centre, subtract_neighbour_blocks,
                                        wacsf_triplet, wacsf_centre)
# inlined into the prange loop, where Numba marks arrays noalias (docs/DESIGN.md, "CUDA target")
_wacsf_centre = cutoffs.compile_scalar(_FUNCTIONS, numba.njit(error_model="numpy", inline="always"))["wacsf_centre"]


# --- loop kernels ----------------------------------------------------------------------------


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _wacsf_cpu(offsets, neighbor, vector, distance, weight, rc, kind, radial, gauss, powers, sets, values, jac):
    """Fill ``values`` [n_atoms, K] and ``jac`` [B, K, 3]; ``prange`` over centres (centre i
    writes row i and its blocks only, so centres never race), scratch per centre."""
    n_u, n_q = gauss.shape[0], powers.shape[0]
    for i in numba.prange(offsets.shape[0] - 1):
        n = offsets[i + 1] - offsets[i]
        _wacsf_centre(i, offsets, neighbor, vector, distance, weight, rc, kind, radial, gauss, powers, sets,
                      np.empty((n_u, n)), np.empty((n_u, n)), np.empty(n_u), np.empty(n_u), np.empty(n_q),
                      np.empty(n_q), values, jac)


def _wacsf_cuda(offsets, neighbor, vector, distance, weight, rc, kind, radial, gauss, powers, sets, a, da, g, dg, p,
                dp, values, jac):
    """CUDA loop kernel: one thread per centre, scratch rows ``a[i]`` .. ``dp[i]``."""
    i = thread_index()
    if i < offsets.shape[0] - 1:
        wacsf_centre(i, offsets, neighbor, vector, distance, weight, rc, kind, radial, gauss, powers, sets, a[i], da[i],
                     g[i], dg[i], p[i], dp[i], values, jac)


def _wacsf_on_gpu(offsets, nb: Neighbors, weight, params: WacsfParams, radial, gauss, powers, sets):
    """``values`` and the Jacobian values of :func:`wacsf` from the device, with per-centre
    scratch allocated here."""
    n_atoms, n_u, n_q = len(offsets) - 1, len(gauss), len(powers)
    n_max = int(np.diff(offsets).max(initial=0))
    scratch = (cuda_target.empty((n_atoms, n_u, n_max)), cuda_target.empty((n_atoms, n_u, n_max)),
               cuda_target.empty((n_atoms, n_u)), cuda_target.empty((n_atoms, n_u)), cuda_target.empty((n_atoms, n_q)),
               cuda_target.empty((n_atoms, n_q)))
    n_features = params.n_features
    outputs = cuda_target.empty((n_atoms, n_features)), cuda_target.empty((n_atoms + len(nb.i), n_features, 3))
    kernels = cuda_target.compile_kernels((_wacsf_cuda,), _FUNCTIONS)
    inputs = cuda_target.to_device(offsets, nb.j, nb.vector, nb.distance, weight)
    cuda_target.launch(kernels._wacsf_cuda, n_atoms, *inputs, params.cutoff, cutoffs.KINDS[params.cutoff_function],
                       *cuda_target.to_device(radial, gauss, powers, sets), *scratch, *outputs)
    return cuda_target.to_host(*outputs)
