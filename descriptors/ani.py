"""ANI atomic environment vectors (AEVs) and their per-pair / per-triplet terms, with
analytic Jacobians.

Equations (J. S. Smith, O. Isayev, A. E. Roitberg, Chem. Sci. 8, 3192 (2017), "ANI-1",
Eqs. 2-4; the ANI-1x parameters of J. S. Smith et al., J. Chem. Phys. 148, 241733 (2018)),
for a centre i with neighbour entries j, k (periodic images are separate entries), bond
vectors r_ij = r_j - r_i and the cosine cutoff f_c(r) = 0.5 cos(pi r / R_c) + 0.5 (Eq. 2):

    radial   G^R_i[e, m]      = s_R sum_{j: Z_j = e, r_ij < R_cr}
                                    exp(-eta_R (r_ij - R_s[m])^2) f_c(r_ij; R_cr)        (Eq. 3)
    angular  G^A_i[{e,e'}, a, z] = 2^(1 - zeta) sum_{{j, k}: {Z_j, Z_k} = {e, e'}}
                                    (1 + cos(theta'_ijk - theta_s[z]))^zeta
                                    exp(-eta_A ((r_ij + r_ik) / 2 - R_s^A[a])^2)
                                    f_c(r_ij; R_ca) f_c(r_ik; R_ca)                        (Eq. 4)

Conventions that ANI's own implementations use and the paper's equations do not show (all
checked against TorchANI in tests/descriptors/test_ani.py):

- the angular sum runs over *unordered* pairs {j, k} of neighbour entries (j != k, both
  within R_ca), the radial one over neighbours of each element e (one column block per
  element, one per unordered element pair for the angular part);
- ``radial_scale`` s_R = 0.25 multiplies the radial terms (NeuroChem and TorchANI do; the
  paper's Eq. 3 has no factor);
- theta'_ijk = arccos(``angle_scale`` cos theta_ijk) with ``angle_scale`` = 0.95 (ditto): it
  keeps d theta'/d cos theta finite for collinear triplets. Here
  cos(theta' - theta_s) = c cos theta_s + sqrt(1 - c^2) sin theta_s with c = 0.95 cos theta,
  so no arccos is evaluated; angle_scale must be in (0, 1).

ANI-1x parameters (:meth:`AniParams.like_ani1x`): R_cr = 5.2 Å, R_ca = 3.5 Å, eta_R = 16
Å^-2, 16 radial shifts 0.9 + 0.26875 k Å, eta_A = 8 Å^-2, zeta = 32, 4 angular radial shifts
0.9, 1.55, 2.2, 2.85 Å, 8 sections theta_s = (2k + 1) pi / 16 (given to 8 digits). Source: the
ANI-1x constants file ``rHCNO-5.2R_16-3.5A_a4-8.params`` distributed with the ANI-1x
networks (NeuroChem/TorchANI resources ``ani-1x_8x``), the parameter set of Smith et al.
2018; with elements H, C, N, O the AEV has 4 x 16 + 10 x 32 = 384 columns as in ANI-1x.

Column order (``AniParams.feature_names()``), elements sorted ascending (E of them):

    radial   column e * R + m                       (R = len(radial_shifts))
    angular  column s * A * Z + a * Z + z           (A = len(angular_shifts), Z = len(sections))
             s = unordered element pair (e <= e') in the order (0,0), (0,1), ..., (0,E-1), (1,1), ...

which is TorchANI's order (its AEV is the radial block followed by the angular block).

Two outputs, each with its COO Jacobian (:mod:`descriptors.jacobian`):

- :func:`ani_aev`: the AEV of every atom as two differentiable arrays, ``radial``
  [n_atoms, E R] and ``angular`` [n_atoms, E(E+1)/2 A Z]. They are kept apart because the
  angular rows depend only on neighbours within R_ca (3.5 Å) while radial rows reach R_cr
  (5.2 Å): two Jacobians with their own blocks hold ~2x fewer numbers than one over R_cr
  (periodic Cu: 18 angular vs. 54 radial neighbours). Blocks of centre i: radial
  ``offsets_r[i] + i`` (itself; minus the sum of the others) and ``p + i + 1`` for its p-th
  pair within R_cr (pairs sorted by centre, as the neighbour list); angular the same over
  the pairs within R_ca.
- :func:`ani_terms`: the summands before they are summed, for models that weight them by
  learned neighbour features (AIMNet): ``pair`` [P, R] (one row per neighbour entry within
  R_cr, not element-resolved: s_R exp(-eta_R (r - R_s)^2) f_c) with 2 blocks per row (the
  centre: minus the neighbour's block; the neighbour), and ``triplet`` [T, A Z] (one row per
  unordered pair of neighbour entries within R_ca) with 3 blocks per row (centre, j, k).
  Summing pair rows by (centre, neighbour element) gives ``radial``; summing triplet rows by
  (centre, unordered element pair) gives ``angular`` (tested).

Layers (docs/STYLE.md, item 4): scalar ``math`` bodies (below, :mod:`descriptors.cutoffs`,
``exp_nonpositive`` and ``radial_term`` of :mod:`descriptors.acsf`) and per-centre bodies
(:func:`aev_centre`, :func:`terms_centre`), compiled with
:func:`descriptors.cutoffs.compile_scalar` for both targets -> loop kernels (``prange`` over
centres; on CUDA one thread per centre, :mod:`descriptors.cuda_target`) -> the dispatchers
:func:`ani_aev` and :func:`ani_terms`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np
from ase.data import chemical_symbols

from descriptors import cuda_target, cutoffs
from descriptors.acsf import (_block_displacements, _checked_elements, _element_index, _within, exp_nonpositive,
                             radial_term)
from descriptors.cuda_target import thread_index
from descriptors.cutoffs import cos_cutoff  # noqa: F401  (called by the bodies as plain Python)
from descriptors.jacobian import Jacobian
from descriptors.neighbors import Neighbors, centre_offsets

# --- scalar math (plain bodies: math only, compiled for each target) -----------------------


def zeta_power(x, zeta):
    """x^zeta for x >= 0: integer zeta < 64 by six fixed squaring steps (no data-dependent
    branch), others by ``**``."""
    n = int(zeta)
    if n == zeta and n < 64:
        result = 1.0
        for _ in range(6):
            result *= x if n & 1 else 1.0
            x *= x
            n >>= 1
        return result
    return x**zeta


def scaled_angle(cos_theta, angle_scale):
    """ANI's scaled angle theta' = arccos(angle_scale cos theta), as the numbers every
    :func:`section_term` of a triplet shares: c = cos theta' = angle_scale cos theta,
    sin theta' = sqrt(1 - c^2) and the slope c / sin theta' (d sin theta' / dc = -slope).
    1 - c^2 >= 1 - angle_scale^2 > 0 keeps the slope finite.

    Returns:
        (c, sin theta', slope).
    """
    c = angle_scale * cos_theta
    sin_t = math.sqrt(max(1.0 - c * c, 1e-300))
    return c, sin_t, c / sin_t


def section_term(c, sin_t, slope, cos_s, sin_s, zeta, angle_scale):
    """ANI's angular factor 2^(1-zeta) (1 + cos(theta' - theta_s))^zeta (Eq. 4) and its
    derivative with respect to cos theta (the unscaled cosine of the triplet).

    cos(theta' - theta_s) = c cos theta_s + sin theta' sin theta_s, with (c, sin theta',
    slope) from :func:`scaled_angle`; no arccos is evaluated.

    Args:
        c, sin_t, slope: :func:`scaled_angle` of the triplet; cos_s, sin_s: cos and sin of
            theta_s; zeta >= 1; angle_scale: d c / d cos theta.

    Returns:
        (f, df / d cos theta).
    """
    half = max(0.5 * (1.0 + c * cos_s + sin_t * sin_s), 0.0)  # (1 + cos(theta' - theta_s)) / 2
    lower = zeta_power(half, zeta - 1.0)
    # f = 2 half^zeta; df/dcos theta = 2 zeta half^(zeta-1) (d half/dc) angle_scale
    return 2.0 * lower * half, zeta * lower * angle_scale * (cos_s - slope * sin_s)


def shifted_gaussian(x, eta, shift):
    """exp(-eta (x - shift)^2) and its x-derivative (the radial part of Eq. 4, x being the
    mean distance (r_ij + r_ik) / 2)."""
    d = x - shift
    g = exp_nonpositive(-eta * d * d)
    return g, -2.0 * eta * d * g


_SCALAR_FUNCTIONS = [cutoffs.sin_cos_half_pi, cutoffs.cos_cutoff, exp_nonpositive, radial_term,
                     zeta_power, scaled_angle, section_term, shifted_gaussian]

# --- compiled names (CPU) ------------------------------------------------------------------

# fused multiply-add and friends, no reassociation (keeps the exact range reduction of exp)
_CONTRACT = {"contract", "arcp", "nsz"}


# --- parameters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AniParams:
    """An ANI AEV parameter set (one eta and one zeta per family, as ANI uses).

    Attributes:
        elements: atomic numbers, sorted ascending and unique.
        radial_cutoff: R_cr, Å.
        angular_cutoff: R_ca, Å (<= R_cr).
        radial_eta: eta_R, 1/Å^2.
        radial_shifts: R_s of the radial terms, Å.
        angular_eta: eta_A, 1/Å^2.
        angular_zeta: zeta (>= 1).
        angular_shifts: R_s of the angular terms' mean-distance Gaussian, Å.
        sections: theta_s, radians.
        radial_scale: factor of the radial terms (0.25 in ANI's implementations).
        angle_scale: theta' = arccos(angle_scale cos theta), in (0, 1) (0.95 in ANI).
    """

    elements: tuple[int, ...]
    radial_cutoff: float
    angular_cutoff: float
    radial_eta: float
    radial_shifts: tuple[float, ...]
    angular_eta: float
    angular_zeta: float
    angular_shifts: tuple[float, ...]
    sections: tuple[float, ...]
    radial_scale: float = 0.25
    angle_scale: float = 0.95

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731  frozen
        set_("elements", _checked_elements(self.elements))
        for name in ("radial_cutoff", "angular_cutoff", "radial_eta", "angular_eta", "angular_zeta",
                     "radial_scale", "angle_scale"):
            value = getattr(self, name)
            if not isinstance(value, (int, float, np.floating, np.integer)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, received {value!r}")
            set_(name, float(value))
        for name in ("radial_shifts", "angular_shifts", "sections"):
            try:
                values = tuple(float(x) for x in getattr(self, name))
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be a sequence of numbers, received "
                                 f"{getattr(self, name)!r}") from None
            if not values or not all(math.isfinite(x) for x in values):
                raise ValueError(f"{name} must be a non-empty sequence of finite numbers, received {values}")
            set_(name, values)
        if self.radial_cutoff <= 0 or self.angular_cutoff <= 0:
            raise ValueError(f"cutoffs must be > 0 Å, received radial_cutoff={self.radial_cutoff}, "
                             f"angular_cutoff={self.angular_cutoff}")
        if self.angular_cutoff > self.radial_cutoff:
            raise ValueError(f"angular_cutoff ({self.angular_cutoff} Å) must not exceed radial_cutoff "
                             f"({self.radial_cutoff} Å): angular neighbours are taken from the radial list")
        if self.radial_eta < 0 or self.angular_eta < 0:
            raise ValueError(f"eta must be >= 0 1/Å^2, received radial_eta={self.radial_eta}, "
                             f"angular_eta={self.angular_eta}")
        if self.angular_zeta < 1:
            raise ValueError(f"angular_zeta must be >= 1, received {self.angular_zeta}")
        if not 0 < self.angle_scale < 1:
            raise ValueError(f"angle_scale must be in (0, 1) (ANI uses 0.95; 1 would make the derivative "
                             f"infinite for collinear triplets), received {self.angle_scale}")

    @property
    def n_radial(self) -> int:
        """Radial columns: E R."""
        return len(self.elements) * len(self.radial_shifts)

    @property
    def n_angular_terms(self) -> int:
        """Columns of one angular block (one element pair) and of a triplet row: A Z."""
        return len(self.angular_shifts) * len(self.sections)

    @property
    def n_angular(self) -> int:
        """Angular columns: E (E + 1) / 2 A Z."""
        n = len(self.elements)
        return n * (n + 1) // 2 * self.n_angular_terms

    @property
    def n_features(self) -> int:
        """AEV length, radial plus angular (384 for ANI-1x with H, C, N, O)."""
        return self.n_radial + self.n_angular

    def element_pairs(self) -> list[tuple[int, int]]:
        """Unordered element-index pairs (e <= e') in angular column order."""
        n = len(self.elements)
        return [(a, b) for a in range(n) for b in range(a, n)]

    def feature_names(self) -> list[str]:
        """Column names of the AEV (radial, then angular), e.g. ``R[H](rs=0.9)``,
        ``A[C,H](rs=0.9,theta=0.19635)``."""
        symbols = [chemical_symbols[z] for z in self.elements]
        names = [f"R[{s}](rs={rs:g})" for s in symbols for rs in self.radial_shifts]
        for a, b in self.element_pairs():
            names += [f"A[{symbols[a]},{symbols[b]}](rs={rs:g},theta={t:g})"
                      for rs in self.angular_shifts for t in self.sections]
        return names

    def to_dict(self) -> dict:
        """JSON-serialisable dict; inverse of :meth:`from_dict`."""
        return {"elements": list(self.elements), "radial_cutoff": self.radial_cutoff,
                "angular_cutoff": self.angular_cutoff, "radial_eta": self.radial_eta,
                "radial_shifts": list(self.radial_shifts), "angular_eta": self.angular_eta,
                "angular_zeta": self.angular_zeta, "angular_shifts": list(self.angular_shifts),
                "sections": list(self.sections), "radial_scale": self.radial_scale,
                "angle_scale": self.angle_scale}

    @classmethod
    def from_dict(cls, d: dict) -> AniParams:
        return cls(**d)

    @classmethod
    def like_ani1x(cls, elements=(1, 6, 7, 8)) -> AniParams:
        """The ANI-1x parameters (module docstring) for ``elements`` (default H, C, N, O,
        ANI-1x's own; a subset drops the columns of the others, another element gets
        columns with the same radial and angular functions)."""
        numbers = sorted({z if isinstance(z, (int, np.integer)) else chemical_symbols.index(z)
                          for z in elements})
        return cls(tuple(numbers), radial_cutoff=5.2, angular_cutoff=3.5, radial_eta=16.0,
                   radial_shifts=ANI1X_RADIAL_SHIFTS, angular_eta=8.0, angular_zeta=32.0,
                   angular_shifts=ANI1X_ANGULAR_SHIFTS, sections=ANI1X_SECTIONS)


#: ANI-1x radial shifts (Å), ``ShfR`` of rHCNO-5.2R_16-3.5A_a4-8.params: 0.9 + 0.26875 k
ANI1X_RADIAL_SHIFTS = (0.9, 1.16875, 1.4375, 1.70625, 1.975, 2.24375, 2.5125, 2.78125, 3.05, 3.31875,
                       3.5875, 3.85625, 4.125, 4.39375, 4.6625, 4.93125)
#: ANI-1x angular radial shifts (Å), ``ShfA``
ANI1X_ANGULAR_SHIFTS = (0.9, 1.55, 2.2, 2.85)
#: ANI-1x sections theta_s (rad), ``ShfZ``: (2k + 1) pi / 16 as published, to 8 digits
ANI1X_SECTIONS = (0.19634954, 0.58904862, 0.9817477, 1.3744468, 1.7671459, 2.1598449, 2.552544,
                  2.9452431)


# --- results ------------------------------------------------------------------------------


class AniAev(NamedTuple):
    """The AEV of every atom in two differentiable parts (column order: module docstring).

    Attributes:
        radial: float64 [n_atoms, E R]; radial_jac: its Jacobian (1/Å), B = n_atoms + P_r.
        angular: float64 [n_atoms, E(E+1)/2 A Z]; angular_jac: B = n_atoms + P_a.
    """

    radial: np.ndarray
    radial_jac: Jacobian
    angular: np.ndarray
    angular_jac: Jacobian


class AniTerms(NamedTuple):
    """The summands of the AEV, one row per pair or triplet (module docstring).

    Attributes:
        pair_centre, pair_neighbor: int64 [P], atoms of each pair (neighbour within R_cr).
        pair: float64 [P, R]; pair_jac: B = 2 P (centre block 2p, neighbour block 2p + 1).
        triplet_centre, triplet_j, triplet_k: int64 [T], atoms of each triplet (j, k within
            R_ca of the centre, each unordered pair of neighbour entries once).
        triplet: float64 [T, A Z]; triplet_jac: B = 3 T (blocks 3t, 3t + 1, 3t + 2 for the
            centre, j and k).
    """

    pair_centre: np.ndarray
    pair_neighbor: np.ndarray
    pair: np.ndarray
    pair_jac: Jacobian
    triplet_centre: np.ndarray
    triplet_j: np.ndarray
    triplet_k: np.ndarray
    triplet: np.ndarray
    triplet_jac: Jacobian


# --- dispatchers ---------------------------------------------------------------------------


def ani_aev(positions, numbers, cell, pbc, neighbors: Neighbors, params: AniParams,
            device: str = "cpu") -> AniAev:
    """ANI AEVs (radial and angular parts) and their Jacobians with respect to positions.

    Args:
        positions: float [n_atoms, 3], Å (only its length is used: the geometry comes from
            ``neighbors.vector``, which must belong to these positions).
        numbers: int [n_atoms], atomic numbers, all in ``params.elements``.
        cell: float [3, 3], Å; pbc: bool [3] (unused: periodicity is in ``neighbors``).
        neighbors: full neighbour list built with a cutoff >= ``params.radial_cutoff``
            (pairs beyond it are skipped), sorted by centre.
        params: the AEV parameters.
        device: "cpu" or "cuda" (:mod:`descriptors.cuda_target`).

    Returns:
        :class:`AniAev`; Jacobian displacements are the pair vectors of neighbour blocks.

    Raises:
        ValueError: an element outside ``params.elements``, inconsistent shapes, or two
            atoms at zero distance.
        CudaUnavailableError: ``device="cuda"`` without a GPU or the simulator.
    """
    on_gpu = cuda_target.use_cuda(device, "ani_aev")
    n_atoms, element, nb, offsets, angular, offsets_a = _prepare(positions, numbers, neighbors, params)
    inputs = (offsets, offsets_a, nb.j, nb.vector, nb.distance, element, *_tables(params))
    n_pairs, n_ang = len(nb.i), int(angular.sum())
    if on_gpu:
        outputs = _aev_outputs(cuda_target.empty, cuda_target.zeros, n_atoms, n_pairs, n_ang, params)
        cuda_target.launch(_kernels()._aev_cuda, n_atoms, *_on_device(inputs), *outputs,
                           *_triplet_scratch(n_atoms, int(np.diff(offsets_a).max(initial=0)), params))
        outputs = cuda_target.to_host(*outputs)
    else:
        outputs = _aev_outputs(np.empty, np.zeros, n_atoms, n_pairs, n_ang, params)
        _aev_cpu(*inputs, *outputs)
    radial, rad_item, rad_atom, rad_value, ang, ang_item, ang_atom, ang_value = outputs
    rad_disp = _block_displacements(nb.i, nb.vector, n_atoms + n_pairs)
    ang_disp = _block_displacements(nb.i[angular], nb.vector[angular], n_atoms + n_ang)
    return AniAev(radial, Jacobian(rad_item, rad_atom, rad_value, rad_disp),
                  ang, Jacobian(ang_item, ang_atom, ang_value, ang_disp))


def _aev_outputs(empty, zeros, n_atoms, n_pairs, n_ang, params: AniParams) -> tuple:
    """The AEV kernel's outputs from allocators ``empty``/``zeros`` (numpy or
    :mod:`descriptors.cuda_target`): radial, its item, atom, value, then the same for the
    angular part; Jacobian values zeroed (the kernel writes nonzeros only)."""
    return (empty((n_atoms, params.n_radial)), empty(n_atoms + n_pairs, np.int64), empty(n_atoms + n_pairs, np.int64),
            zeros((n_atoms + n_pairs, params.n_radial, 3)), empty((n_atoms, params.n_angular)),
            empty(n_atoms + n_ang, np.int64), empty(n_atoms + n_ang, np.int64),
            zeros((n_atoms + n_ang, params.n_angular, 3)))


def ani_terms(positions, numbers, cell, pbc, neighbors: Neighbors, params: AniParams,
              device: str = "cpu") -> AniTerms:
    """Per-pair radial and per-triplet angular AEV terms with their Jacobians (for AIMNet).

    Arguments as :func:`ani_aev`. Rows of a structure: pairs in neighbour-list order (by
    centre), triplets by centre, then by (j, k) in neighbour-list order with j before k.

    Returns:
        :class:`AniTerms`; block displacements are 0 for the centre and the bond vectors
        r_ij (r_ik) for the neighbour blocks.
    """
    on_gpu = cuda_target.use_cuda(device, "ani_terms")
    n_atoms, element, nb, offsets, angular, offsets_a = _prepare(positions, numbers, neighbors, params)
    n_pairs = len(nb.i)
    per_centre = np.diff(offsets_a)
    offsets_t = np.concatenate(([0], np.cumsum(per_centre * (per_centre - 1) // 2))).astype(np.int64)
    n_trip = int(offsets_t[-1])
    inputs = (offsets, offsets_t, nb.j, nb.vector, nb.distance, *_tables(params))
    if on_gpu:
        outputs = _terms_outputs(cuda_target.empty, n_pairs, n_trip, params)
        n_slots = int(per_centre.max(initial=0))
        geo, *factors = _triplet_scratch(n_atoms, n_slots, params)
        cuda_target.launch(_kernels()._terms_cuda, n_atoms, *_on_device(inputs), *outputs, geo,
                           cuda_target.empty((n_atoms, max(n_slots, 1)), np.int64), *factors)
        outputs = cuda_target.to_host(*outputs)
    else:
        outputs = _terms_outputs(np.empty, n_pairs, n_trip, params)
        _terms_cpu(*inputs, *outputs)
    pair, pair_value, trip_atoms, triplet, trip_value, trip_disp = outputs
    pair_item = np.repeat(np.arange(n_pairs, dtype=np.int64), 2)
    pair_atom = np.stack([nb.i, nb.j], axis=1).reshape(-1).astype(np.int64)
    pair_disp = np.zeros((2 * n_pairs, 3))
    pair_disp[1::2] = nb.vector
    trip_item = np.repeat(np.arange(n_trip, dtype=np.int64), 3)
    return AniTerms(nb.i.astype(np.int64), nb.j, pair, Jacobian(pair_item, pair_atom, pair_value, pair_disp),
                    trip_atoms[0], trip_atoms[1], trip_atoms[2], triplet,
                    Jacobian(trip_item, trip_atoms.T.reshape(-1).copy(), trip_value, trip_disp))


def _terms_outputs(empty, n_pairs, n_trip, params: AniParams) -> tuple:
    """The terms kernel's outputs from the allocator ``empty`` (numpy or
    :mod:`descriptors.cuda_target`): pair, pair_value, trip_atoms, triplet, trip_value, trip_disp."""
    n_rad, n_az = len(params.radial_shifts), params.n_angular_terms
    return (empty((n_pairs, n_rad)), empty((2 * n_pairs, n_rad, 3)), empty((3, n_trip), np.int64),
            empty((n_trip, n_az)), empty((3 * n_trip, n_az, 3)), empty((3 * n_trip, 3)))


def _prepare(positions, numbers, neighbors, params):
    """Checks shared by the dispatchers; the pairs within R_cr, their CSR offsets, the mask
    of those within R_ca and its CSR offsets."""
    n_atoms = len(positions)
    element = _element_index(numbers, params.elements, n_atoms, "AEV's", "AniParams")
    nb = _within(neighbors, n_atoms, params.radial_cutoff)
    offsets = centre_offsets(nb.i, n_atoms)
    angular = nb.distance < params.angular_cutoff
    offsets_a = centre_offsets(nb.i[angular], n_atoms)
    return n_atoms, element, nb, offsets, angular, offsets_a


def _tables(params: AniParams):
    """The kernels' parameter arguments after the geometry (same order in both kernels,
    except that the AEV kernel also takes the element-pair table first)."""
    n = len(params.elements)
    slot = np.empty((n, n), np.int64)
    for s, (a, b) in enumerate(params.element_pairs()):
        slot[a, b] = slot[b, a] = s
    sections = np.array(params.sections)
    return (slot, np.array(params.radial_shifts), np.array(params.angular_shifts),
            np.stack([np.cos(sections), np.sin(sections)]), params.radial_cutoff, params.angular_cutoff,
            params.radial_eta, params.angular_eta, params.angular_zeta, params.radial_scale, params.angle_scale)


# --- per-centre bodies (plain; compiled for the CPU and for CUDA) ---------------------------
#
# Both loop kernels run centre by centre; centre i reads only its own pairs and writes only
# its own rows and blocks, so threads never race. For each unordered pair {j, k} of
# angular neighbours, with u = unit bond vectors, c = cos theta = u_j . u_k, per-section
# factors f_z(c) and per-shift factors H_a = h_a(mean r) f_c(r_j) f_c(r_k):
#
#   term[a, z]      = f_z H_a
#   d term / d r_j  = (f_z' H_a / r_j) u_k + (f_z dH_a/dr_j - c f_z' H_a / r_j) u_j
#
# (since d c / d r_j = (u_k - c u_j) / r_j), and the same with j and k swapped; the centre's
# block is minus the sum of the neighbours' blocks (translation invariance). Scratch (the
# centre's angular geometry ``geo``, per-triplet factors ``f``, ``df``, ``h``) is passed in:
# allocated per centre on the CPU, rows of host-allocated device arrays on CUDA. A body takes
# at most 30 arguments: CPython compiles longer calls to *args calls, which Numba cannot inline.


def angular_slot(q, p, vector, distance, rca, e, geo):
    """Column q of ``geo`` for neighbour entry p: unit vector, 1/r, r, f_c(r; R_ca), its
    r-derivative, and the element index e (as a float)."""
    r = distance[p]
    geo[0, q], geo[1, q], geo[2, q] = vector[p, 0] / r, vector[p, 1] / r, vector[p, 2] / r
    geo[3, q], geo[4, q] = 1.0 / r, r
    geo[5, q], geo[6, q] = cos_cutoff(r, rca)
    geo[7, q] = e


def aev_radial(i, start, stop, neighbor, vector, distance, element, radial_shifts, rcr, eta_r, radial_scale, radial,
               rad_item, rad_atom, rad_jac):
    """Centre i's radial row and blocks: its own ``start + i`` (minus the others), pair p's
    ``p + i + 1``; ``rad_jac`` comes zeroed and only nonzero entries are written."""
    n_rad = radial_shifts.shape[0]
    b0 = start + i
    for col in range(radial.shape[1]):
        radial[i, col] = 0.0
    rad_item[b0] = i
    rad_atom[b0] = i
    for p in range(start, stop):
        b = p + i + 1
        rad_item[b] = i
        rad_atom[b] = neighbor[p]
        r = distance[p]
        fc, dfc = cos_cutoff(r, rcr)
        ux, uy, uz = vector[p, 0] / r, vector[p, 1] / r, vector[p, 2] / r
        col0 = element[neighbor[p]] * n_rad
        for m in range(n_rad):
            g, dg = radial_term(r, eta_r, radial_shifts[m], fc, dfc)
            g *= radial_scale
            dg *= radial_scale
            col = col0 + m
            radial[i, col] += g
            rad_jac[b, col, 0] = dg * ux
            rad_jac[b, col, 1] = dg * uy
            rad_jac[b, col, 2] = dg * uz
            rad_jac[b0, col, 0] -= dg * ux
            rad_jac[b0, col, 1] -= dg * uy
            rad_jac[b0, col, 2] -= dg * uz


def aev_centre(i, offsets, offsets_a, neighbor, vector, distance, element, slot, radial_shifts, angular_shifts,
               sections, rcr, rca, eta_r, eta_a, zeta, radial_scale, angle_scale, radial, rad_item, rad_atom,
               rad_jac, ang, ang_item, ang_atom, ang_jac, geo, f, df, h):
    """Centre i's radial and angular AEV rows and their blocks (Jacobian values zeroed on
    entry). Scratch: ``geo`` [8, >= angular neighbours], ``f``, ``df`` [sections],
    ``h`` [3, angular shifts]."""
    start, stop = offsets[i], offsets[i + 1]
    aev_radial(i, start, stop, neighbor, vector, distance, element, radial_shifts, rcr, eta_r, radial_scale, radial,
               rad_item, rad_atom, rad_jac)
    # angular: own block a0, the q-th neighbour within R_ca has block a0 + 1 + q
    a0 = offsets_a[i] + i
    na = offsets_a[i + 1] - offsets_a[i]
    for col in range(ang.shape[1]):
        ang[i, col] = 0.0
    for b in range(a0, a0 + na + 1):
        ang_item[b] = i
    ang_atom[a0] = i
    q = 0
    for p in range(start, stop):
        if distance[p] < rca:
            ang_atom[a0 + 1 + q] = neighbor[p]
            angular_slot(q, p, vector, distance, rca, element[neighbor[p]], geo)
            q += 1
    angular_pairs(na, geo, slot, angular_shifts, sections, eta_a, zeta, angle_scale,
                  angular_shifts.shape[0] * sections.shape[1], ang[i], ang_jac, a0, f, df, h)


def angular_pairs(na, geo, slot, angular_shifts, sections, eta_a, zeta, angle_scale, n_az, row, jac, a0, f, df,
                  h):
    """Add every unordered pair of angular neighbours of one centre to its AEV row, to the
    neighbours' blocks ``a0 + 1 + q`` and to the centre's block ``a0`` (notes above);
    ``jac`` comes zeroed."""
    n_shift, n_sec = angular_shifts.shape[0], sections.shape[1]
    for a in range(na):
        for b in range(a + 1, na):
            triplet_factors(a, b, geo, angular_shifts, sections, eta_a, zeta, angle_scale, f, df, h)
            c = geo[0, a] * geo[0, b] + geo[1, a] * geo[1, b] + geo[2, a] * geo[2, b]
            col0 = slot[int(geo[7, a]), int(geo[7, b])] * n_az
            ja, jb = a0 + 1 + a, a0 + 1 + b
            ia, ib = geo[3, a], geo[3, b]
            for m in range(n_shift):
                hm, ham, hbm = h[0, m], h[1, m], h[2, m]
                for z in range(n_sec):
                    col = col0 + m * n_sec + z
                    fz = f[z]
                    c1 = df[z] * hm
                    a1 = c1 * ia
                    a2 = fz * ham - c * a1
                    b1 = c1 * ib
                    b2 = fz * hbm - c * b1
                    row[col] += fz * hm
                    for d in range(3):
                        ga = a1 * geo[d, b] + a2 * geo[d, a]
                        gb = b1 * geo[d, a] + b2 * geo[d, b]
                        jac[ja, col, d] += ga
                        jac[jb, col, d] += gb
                        jac[a0, col, d] -= ga + gb  # own block: minus the others


def triplet_factors(a, b, geo, angular_shifts, sections, eta_a, zeta, angle_scale, f, df, h):
    """Per-section factors f_z, f_z' (``f``, ``df``) and per-shift H_a, dH_a/dr_j, dH_a/dr_k
    (``h`` rows 0-2) of the triplet of neighbours a, b (slots of ``geo``)."""
    c = geo[0, a] * geo[0, b] + geo[1, a] * geo[1, b] + geo[2, a] * geo[2, b]
    cs, sin_t, slope = scaled_angle(c, angle_scale)
    for z in range(sections.shape[1]):
        f[z], df[z] = section_term(cs, sin_t, slope, sections[0, z], sections[1, z], zeta, angle_scale)
    mean = 0.5 * (geo[4, a] + geo[4, b])
    fa, dfa, fb, dfb = geo[5, a], geo[6, a], geo[5, b], geo[6, b]
    cut = fa * fb
    for m in range(angular_shifts.shape[0]):
        g, dg = shifted_gaussian(mean, eta_a, angular_shifts[m])
        h[0, m] = g * cut
        h[1, m] = 0.5 * dg * cut + g * dfa * fb
        h[2, m] = 0.5 * dg * cut + g * fa * dfb


def pair_terms(p, neighbor, vector, distance, radial_shifts, rcr, eta_r, radial_scale, pair, pair_jac):
    """Pair row p (every radial shift, not element-resolved) and its blocks 2p (the centre:
    minus the neighbour's) and 2p + 1 (the neighbour)."""
    r = distance[p]
    fc, dfc = cos_cutoff(r, rcr)
    ux, uy, uz = vector[p, 0] / r, vector[p, 1] / r, vector[p, 2] / r
    for m in range(radial_shifts.shape[0]):
        g, dg = radial_term(r, eta_r, radial_shifts[m], fc, dfc)
        pair[p, m] = radial_scale * g
        dg *= radial_scale
        pair_jac[2 * p + 1, m, 0] = dg * ux
        pair_jac[2 * p + 1, m, 1] = dg * uy
        pair_jac[2 * p + 1, m, 2] = dg * uz
        pair_jac[2 * p, m, 0] = -dg * ux
        pair_jac[2 * p, m, 1] = -dg * uy
        pair_jac[2 * p, m, 2] = -dg * uz


def triplet_row(t, i, pa, pb, a, b, neighbor, vector, geo, angular_shifts, sections, eta_a, zeta, angle_scale,
                trip_atoms, triplet, trip_jac, trip_disp, f, df, h):
    """Triplet row t of centre i with neighbour entries pa, pb (angular slots a, b of
    ``geo``) and its blocks 3t (centre), 3t + 1 (j), 3t + 2 (k)."""
    n_sec = sections.shape[1]
    triplet_factors(a, b, geo, angular_shifts, sections, eta_a, zeta, angle_scale, f, df, h)
    c = geo[0, a] * geo[0, b] + geo[1, a] * geo[1, b] + geo[2, a] * geo[2, b]
    trip_atoms[0, t], trip_atoms[1, t], trip_atoms[2, t] = i, neighbor[pa], neighbor[pb]
    for d in range(3):
        trip_disp[3 * t, d] = 0.0
        trip_disp[3 * t + 1, d] = vector[pa, d]
        trip_disp[3 * t + 2, d] = vector[pb, d]
    ia, ib = geo[3, a], geo[3, b]
    for m in range(angular_shifts.shape[0]):
        hm, ham, hbm = h[0, m], h[1, m], h[2, m]
        for z in range(n_sec):
            col = m * n_sec + z
            fz = f[z]
            c1 = df[z] * hm
            a1 = c1 * ia
            a2 = fz * ham - c * a1
            b1 = c1 * ib
            b2 = fz * hbm - c * b1
            triplet[t, col] = fz * hm
            for d in range(3):
                ga = a1 * geo[d, b] + a2 * geo[d, a]
                gb = b1 * geo[d, a] + b2 * geo[d, b]
                trip_jac[3 * t + 1, col, d] = ga
                trip_jac[3 * t + 2, col, d] = gb
                trip_jac[3 * t, col, d] = -ga - gb


def terms_centre(i, offsets, offsets_t, neighbor, vector, distance, slot, radial_shifts, angular_shifts, sections,
                 rcr, rca, eta_r, eta_a, zeta, radial_scale, angle_scale, pair, pair_jac, trip_atoms, triplet,
                 trip_jac, trip_disp, geo, index, f, df, h):
    """Centre i's pair rows (its neighbour entries) and triplet rows ``offsets_t[i]..``, with
    their blocks. Scratch: ``geo`` [8, >= angular neighbours], ``index`` [>= angular
    neighbours] (the pair index of each angular slot), ``f``, ``df``, ``h`` as in :func:`aev_centre`."""
    na = 0
    for p in range(offsets[i], offsets[i + 1]):
        pair_terms(p, neighbor, vector, distance, radial_shifts, rcr, eta_r, radial_scale, pair, pair_jac)
        if distance[p] < rca:
            index[na] = p
            angular_slot(na, p, vector, distance, rca, 0, geo)
            na += 1
    t = offsets_t[i]
    for a in range(na):
        for b in range(a + 1, na):
            triplet_row(t, i, index[a], index[b], a, b, neighbor, vector, geo, angular_shifts, sections, eta_a,
                        zeta, angle_scale, trip_atoms, triplet, trip_jac, trip_disp, f, df, h)
            t += 1


_BODY_FUNCTIONS = (angular_slot, aev_radial, aev_centre, angular_pairs, triplet_factors, pair_terms, triplet_row,
                   terms_centre)
_FUNCTIONS = tuple(_SCALAR_FUNCTIONS) + _BODY_FUNCTIONS
# CPU: contraction only (no reassociation: keeps the exact range reduction of exp). The
# per-centre and per-pair bodies are inlined into the prange loops, as the former loop bodies
# were (Numba marks arrays noalias there); the angular-pair loops and the scalar math stay
# called, as before (inlining them too made the AEV kernel ~15% slower on periodic Cu).
_INLINED = {"angular_slot", "aev_radial", "aev_centre", "pair_terms", "triplet_row", "terms_centre"}


def _cpu_jit(f):
    inline = "always" if f.__name__ in _INLINED else "never"
    return numba.njit(error_model="numpy", fastmath=_CONTRACT, inline=inline)(f)


_cpu = cutoffs.compile_scalar(_FUNCTIONS, _cpu_jit)
_aev_centre = _cpu["aev_centre"]
_terms_centre = _cpu["terms_centre"]


# --- loop kernels ----------------------------------------------------------------------------


@numba.njit(parallel=True, cache=True, fastmath=_CONTRACT, error_model="numpy")
def _aev_cpu(offsets, offsets_a, neighbor, vector, distance, element, slot, radial_shifts, angular_shifts,
             sections, rcr, rca, eta_r, eta_a, zeta, radial_scale, angle_scale,
             radial, rad_item, rad_atom, rad_jac, ang, ang_item, ang_atom, ang_jac):
    """Fill the radial and angular AEV rows and their blocks; ``prange`` over centres.

    The Jacobian values come zeroed (``np.zeros``: fresh pages from the OS are zero, so no
    pass over the mostly-zero blocks is spent here); only nonzero entries are written."""
    n_sec, n_shift = sections.shape[1], angular_shifts.shape[0]
    for i in numba.prange(offsets.shape[0] - 1):
        na = offsets_a[i + 1] - offsets_a[i]
        _aev_centre(i, offsets, offsets_a, neighbor, vector, distance, element, slot, radial_shifts, angular_shifts,
                    sections, rcr, rca, eta_r, eta_a, zeta, radial_scale, angle_scale, radial, rad_item, rad_atom,
                    rad_jac, ang, ang_item, ang_atom, ang_jac, np.empty((8, max(na, 1))), np.empty(n_sec),
                    np.empty(n_sec), np.empty((3, n_shift)))


@numba.njit(parallel=True, cache=True, fastmath=_CONTRACT, error_model="numpy")
def _terms_cpu(offsets, offsets_t, neighbor, vector, distance, slot, radial_shifts, angular_shifts,
               sections, rcr, rca, eta_r, eta_a, zeta, radial_scale, angle_scale,
               pair, pair_jac, trip_atoms, triplet, trip_jac, trip_disp):
    """Fill pair rows (blocks 2p: centre, 2p + 1: neighbour) and triplet rows (blocks 3t,
    3t + 1, 3t + 2: centre, j, k); ``prange`` over centres."""
    n_sec, n_shift = sections.shape[1], angular_shifts.shape[0]
    for i in numba.prange(offsets.shape[0] - 1):
        n = max(offsets[i + 1] - offsets[i], 1)
        _terms_centre(i, offsets, offsets_t, neighbor, vector, distance, slot, radial_shifts, angular_shifts, sections,
                      rcr, rca, eta_r, eta_a, zeta, radial_scale, angle_scale, pair, pair_jac, trip_atoms, triplet,
                      trip_jac, trip_disp, np.empty((8, n)), np.empty(n, np.int64), np.empty(n_sec),
                      np.empty(n_sec), np.empty((3, n_shift)))


def _aev_cuda(offsets, offsets_a, neighbor, vector, distance, element, slot, radial_shifts, angular_shifts, sections,
              rcr, rca, eta_r, eta_a, zeta, radial_scale, angle_scale, radial, rad_item, rad_atom, rad_jac, ang,
              ang_item, ang_atom, ang_jac, geo, f, df, h):
    """CUDA loop kernel: one thread per centre, scratch rows ``geo[i]``, ``f[i]``, ``df[i]``, ``h[i]``."""
    i = thread_index()
    if i < offsets.shape[0] - 1:
        aev_centre(i, offsets, offsets_a, neighbor, vector, distance, element, slot, radial_shifts, angular_shifts,
                   sections, rcr, rca, eta_r, eta_a, zeta, radial_scale, angle_scale, radial, rad_item, rad_atom,
                   rad_jac, ang, ang_item, ang_atom, ang_jac, geo[i], f[i], df[i], h[i])


def _terms_cuda(offsets, offsets_t, neighbor, vector, distance, slot, radial_shifts, angular_shifts, sections,
                rcr, rca, eta_r, eta_a, zeta, radial_scale, angle_scale, pair, pair_jac, trip_atoms, triplet,
                trip_jac, trip_disp, geo, index, f, df, h):
    """CUDA loop kernel: one thread per centre, scratch rows as :func:`_aev_cuda` plus ``index[i]``."""
    i = thread_index()
    if i < offsets.shape[0] - 1:
        terms_centre(i, offsets, offsets_t, neighbor, vector, distance, slot, radial_shifts, angular_shifts, sections,
                     rcr, rca, eta_r, eta_a, zeta, radial_scale, angle_scale, pair, pair_jac, trip_atoms, triplet,
                     trip_jac, trip_disp, geo[i], index[i], f[i], df[i], h[i])


def _triplet_scratch(n_atoms, n_slots, params: AniParams):
    """Per-centre device scratch of the bodies: ``geo`` [n_atoms, 8, n_slots], ``f``, ``df``
    [n_atoms, sections], ``h`` [n_atoms, 3, angular shifts]."""
    n_sec, n_shift = len(params.sections), len(params.angular_shifts)
    return (cuda_target.empty((n_atoms, 8, max(n_slots, 1))), cuda_target.empty((n_atoms, n_sec)),
            cuda_target.empty((n_atoms, n_sec)), cuda_target.empty((n_atoms, 3, n_shift)))


def _on_device(arrays) -> list:
    """Host arrays moved to the device, scalars kept."""
    return [cuda_target.to_device(x)[0] if isinstance(x, np.ndarray) else x for x in arrays]


def _kernels():
    """Both CUDA loop kernels, compiled once per process (at their first launch)."""
    return cuda_target.compile_kernels((_aev_cuda, _terms_cuda), _FUNCTIONS)
