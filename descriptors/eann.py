"""EANN Gaussian-type orbitals of neighbour pairs with their Jacobian.

Y. Zhang, C. Hu, B. Jiang, "Embedded atom neural network potentials: efficient and
accurate machine learning with a physically inspired representation", J. Phys. Chem. Lett.
10, 4962 (2019), Eqs. 2-4; review Kocer, Ko, Behler, Annu. Rev. Phys. Chem. 73, 163
(2022), section 3.2. For a centre i and each neighbour entry j within r_c (bond vector
r_ij = r_j - r_i = (x, y, z), length r; periodic images are separate entries), the orbital
with angular exponents (l_x, l_y, l_z), L = l_x + l_y + l_z <= L_max, and radial set
(alpha, r_s) is

    phi(r_ij) = x^l_x y^l_y z^l_z exp(-alpha (r - r_s)^2) f_c(r),
    f_c(r) = (1/2 cos(pi r / r_c) + 1/2)^2   (r < r_c, else 0),

and the embedded density of atom i (computed by the model, :mod:`zoo.models.eann`, since
the expansion coefficients c are learnable) is

    rho_i[L, alpha] = sum_{l_x+l_y+l_z=L} L! / (l_x! l_y! l_z!) (sum_j c_{Z_j, alpha} phi_j)^2.

Layout: one row per neighbour entry (pair p of the neighbour list, pairs beyond r_c
dropped), in neighbour-list order, holding the two factors of the orbitals: columns
``0 .. A-1`` the angular monomials x^l_x y^l_y z^l_z (Å^L; the order of
:meth:`EannParams.angular_components`: by L, then l_x, l_y descending), columns
``A .. A+R-1`` the radial factors exp(-alpha_m (r - r_s,m)^2) f_c(r). The orbital of
component a and radial set m is their product (:func:`orbitals`), which the model forms:
A + R = 18 columns with their Jacobian instead of A R = 80 (L_max 2, 8 radial sets), so
the Jacobian is 4.4x smaller. The rows come with the centre index and the neighbour's
element index.
Jacobian: one pair block per row (:class:`descriptors.jacobian.Jacobian`): block p is
d row p / d r_j with atom j, partner i (which gets the negative) and displacement r_ij.

Deviation from the paper: none in the functional form (the squared cosine cutoff is the
paper's); the factored layout and the automatic radial grid (:meth:`EannParams.auto`) are ours.

Layers: scalar ``math`` bodies :func:`gaussian_radial` (with :mod:`descriptors.cutoffs` and
:func:`descriptors.acsf.exp_nonpositive`), :func:`power_and_slope` and
:func:`angular_monomial`, and the pair body :func:`eann_pair`, compiled with
:func:`descriptors.cutoffs.compile_scalar` for both targets -> loop kernels ``_eann_cpu``
(``prange`` over pairs) and ``_eann_cuda`` (one thread per pair,
:mod:`descriptors.cuda_target`) -> the dispatcher :func:`eann`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from ase.data import chemical_symbols

from descriptors import acsf as _acsf
from descriptors import cuda_target, cutoffs
from descriptors.acsf import _checked_elements, _within, exp_nonpositive  # noqa: F401 (plain-Python calls)
from descriptors.cutoffs import cos_cutoff  # noqa: F401  (called by gaussian_radial as plain Python)
from descriptors.cuda_target import thread_index
from descriptors.jacobian import Jacobian
from descriptors.neighbors import Neighbors
from descriptors.wacsf import element_index

# --- scalar math ---------------------------------------------------------------------------


def gaussian_radial(r, alpha, rs, rc):
    """exp(-alpha (r - r_s)^2) f_c(r) with the squared cosine cutoff of EANN (Eq. 3), and
    its r-derivative.

    Args:
        r: distance (Å); alpha (1/Å^2); rs (Å); rc: cutoff (Å).

    Returns:
        (g, dg/dr in 1/Å), both 0 for r >= rc.
    """
    fc, dfc = cos_cutoff(r, rc)
    d = r - rs
    g = exp_nonpositive(-alpha * d * d)
    return g * fc * fc, g * fc * (2.0 * dfc - 2.0 * alpha * d * fc)


def power_and_slope(x, n):
    """(x^n, n x^(n-1)) for an integer n >= 0, by repeated multiplication (x^0 = 1, slope 0)."""
    below = 1.0  # x^(n-1)
    for _ in range(n - 1):
        below *= x
    if n == 0:
        return 1.0, 0.0
    return below * x, n * below


def angular_monomial(x, y, z, lx, ly, lz):
    """M = x^l_x y^l_y z^l_z (Eq. 2) and its gradient (dM/dx, dM/dy, dM/dz), Å^L and Å^(L-1)."""
    px, sx = power_and_slope(x, lx)
    py, sy = power_and_slope(y, ly)
    pz, sz = power_and_slope(z, lz)
    return px * py * pz, sx * py * pz, px * sy * pz, px * py * sz


def eann_pair(p, vector, distance, powers, radial, rc, values, jac):
    """Row p (the angular and radial factors of pair p) and its pair block p (d / d r_j).

    Gradients with respect to r_j: grad M(x, y, z) for a monomial, g'(r) (x, y, z) / r for
    a radial factor.
    """
    n_ang = powers.shape[0]
    for a in range(n_ang):
        mono, mx, my, mz = angular_monomial(vector[p, 0], vector[p, 1], vector[p, 2], powers[a, 0], powers[a, 1],
                                            powers[a, 2])
        values[p, a] = mono
        jac[p, a, 0] = mx
        jac[p, a, 1] = my
        jac[p, a, 2] = mz
    r = distance[p]
    inv = 1.0 / r
    for m in range(radial.shape[0]):
        g, dg = gaussian_radial(r, radial[m, 0], radial[m, 1], rc)
        col = n_ang + m
        values[p, col] = g
        for c in range(3):
            jac[p, col, c] = dg * inv * vector[p, c]


_SCALAR_FUNCTIONS = (cutoffs.sin_cos_half_pi, cutoffs.cos_cutoff, _acsf.exp_nonpositive, gaussian_radial,
                     power_and_slope, angular_monomial, eann_pair)
_cpu = cutoffs.compile_scalar(_SCALAR_FUNCTIONS, numba.njit(error_model="numpy"))
_eann_pair = _cpu["eann_pair"]


# --- parameters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EannParams:
    """The EANN orbitals.

    Attributes:
        elements: atomic numbers, sorted ascending and unique.
        cutoff: r_c, Å.
        radial: radial sets (alpha [1/Å^2] >= 0, r_s [Å]).
        l_max: largest total angular exponent L (0 .. 4).
    """

    elements: tuple[int, ...]
    cutoff: float
    radial: tuple[tuple[float, float], ...]
    l_max: int = 2

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731  frozen
        set_("elements", _checked_elements(self.elements))
        if not (isinstance(self.cutoff, (int, float, np.floating)) and math.isfinite(self.cutoff)
                and self.cutoff > 0):
            raise ValueError(f"cutoff must be a finite number > 0 Å, received {self.cutoff!r}")
        set_("cutoff", float(self.cutoff))
        try:
            radial = tuple((float(a), float(rs)) for a, rs in self.radial)
        except (TypeError, ValueError):
            raise ValueError(f"radial must be a sequence of (alpha, r_s) pairs, received {self.radial!r}") from None
        if not radial or any(not (math.isfinite(a) and math.isfinite(rs) and a >= 0) for a, rs in radial):
            raise ValueError(f"radial must hold at least one finite (alpha >= 0 1/Å^2, r_s Å) pair, "
                             f"received {self.radial!r}")
        set_("radial", radial)
        if not isinstance(self.l_max, (int, np.integer)) or not 0 <= self.l_max <= 4:
            raise ValueError(f"l_max must be an integer in 0..4, received {self.l_max!r}")
        set_("l_max", int(self.l_max))

    def angular_components(self) -> list[tuple[int, int, int]]:
        """(l_x, l_y, l_z) with L = l_x + l_y + l_z <= l_max: by L, then l_x, l_y descending."""
        return [(lx, ly, L - lx - ly) for L in range(self.l_max + 1)
                for lx in range(L, -1, -1) for ly in range(L - lx, -1, -1)]

    def multinomial_weights(self) -> np.ndarray:
        """float [n_angular]: L! / (l_x! l_y! l_z!) of each angular component."""
        f = math.factorial
        return np.array([f(a + b + c) / (f(a) * f(b) * f(c)) for a, b, c in self.angular_components()])

    def angular_order(self) -> np.ndarray:
        """int [n_angular]: L of each angular component."""
        return np.array([sum(c) for c in self.angular_components()], dtype=np.int64)

    @property
    def n_angular(self) -> int:
        return (self.l_max + 1) * (self.l_max + 2) * (self.l_max + 3) // 6

    @property
    def n_features(self) -> int:
        """K = n_angular + R columns per pair row (the two factors of the orbitals)."""
        return self.n_angular + len(self.radial)

    @property
    def n_orbitals(self) -> int:
        """n_angular R orbitals per pair (the products of the factors)."""
        return self.n_angular * len(self.radial)

    def to_dict(self) -> dict:
        return {"elements": list(self.elements), "cutoff": self.cutoff,
                "radial": [list(s) for s in self.radial], "l_max": self.l_max}

    @classmethod
    def from_dict(cls, d: dict) -> EannParams:
        return cls(**d)

    @classmethod
    def auto(cls, elements, cutoff=6.0, n_radial=8, l_max=2) -> EannParams:
        """``n_radial`` Gaussians with r_s evenly spaced on [0, r_c) (spacing
        Delta = r_c / n_radial) and width alpha = 1 / Delta^2."""
        numbers = sorted({z if isinstance(z, (int, np.integer)) else chemical_symbols.index(z) for z in elements})
        if n_radial < 1:
            raise ValueError(f"n_radial must be >= 1, received {n_radial}")
        delta = cutoff / n_radial
        return cls(tuple(numbers), cutoff, tuple((1.0 / delta**2, k * delta) for k in range(n_radial)), l_max)


# --- dispatcher ----------------------------------------------------------------------------


def eann(positions, numbers, cell, pbc, neighbors: Neighbors, params: EannParams,
         device: str = "cpu") -> tuple[np.ndarray, Jacobian, np.ndarray, np.ndarray]:
    """Orbital rows of every neighbour pair within the cutoff, their Jacobian and indices.

    Args:
        positions: float [n_atoms, 3], Å (only its length is used).
        numbers: int [n_atoms], atomic numbers, all in ``params.elements``.
        cell, pbc: unused (periodicity is in ``neighbors``).
        neighbors: full neighbour list with a cutoff >= ``params.cutoff``, sorted by centre.
        params: the orbitals.
        device: "cpu" or "cuda" (:mod:`descriptors.cuda_target`).

    Returns:
        values: float64 [n_pairs, K], the angular (Å^L) and radial (dimensionless) factors
            of the orbitals (columns in the module docstring; :func:`orbitals` multiplies them);
        jac: :class:`Jacobian`, one pair block per row (atom j, partner i), value
            float64 [n_pairs, K, 3];
        centre: int64 [n_pairs]; neighbor_element: int64 [n_pairs] (index into elements).

    Raises:
        ValueError: an element outside ``params.elements``, inconsistent shapes, or two
            atoms at zero distance.
        CudaUnavailableError: ``device="cuda"`` without a GPU or the simulator.
    """
    on_gpu = cuda_target.use_cuda(device, "eann")
    n_atoms = len(positions)
    element = element_index(numbers, params.elements, n_atoms, "EannParams")
    nb = _within(neighbors, n_atoms, params.cutoff)
    n_pairs = len(nb.i)
    powers = np.array(params.angular_components(), dtype=np.int64).reshape(-1, 3)
    radial = np.array(params.radial, dtype=np.float64).reshape(-1, 2)
    if on_gpu:
        outputs = cuda_target.empty((n_pairs, params.n_features)), cuda_target.empty((n_pairs, params.n_features, 3))
        kernels = cuda_target.compile_kernels((_eann_cuda,), _SCALAR_FUNCTIONS)
        cuda_target.launch(kernels._eann_cuda, n_pairs, *cuda_target.to_device(nb.vector, nb.distance, powers, radial),
                           params.cutoff, *outputs)
        values, value = cuda_target.to_host(*outputs)
    else:
        values = np.empty((n_pairs, params.n_features))
        value = np.empty((n_pairs, params.n_features, 3))
        _eann_cpu(nb.vector, nb.distance, powers, radial, params.cutoff, values, value)
    centre = np.asarray(nb.i, np.int64)
    jac = Jacobian(np.arange(n_pairs, dtype=np.int64), np.asarray(nb.j, np.int64), value,
                   np.array(nb.vector, np.float64), partner=centre.copy())
    return values, jac, centre, element[nb.j]


def orbitals(values: np.ndarray, params: EannParams) -> np.ndarray:
    """float [n_pairs, n_angular, R]: the orbitals phi[a, m] = M_a g_m of the factor rows of
    :func:`eann` (what the model forms; for references and tests)."""
    n_ang = params.n_angular
    return values[:, :n_ang, None] * values[:, None, n_ang:]


# --- loop kernel (CPU) ---------------------------------------------------------------------


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _eann_cpu(vector, distance, powers, radial, rc, values, jac):
    """Row p and block p for each pair p; ``prange`` over pairs."""
    for p in numba.prange(vector.shape[0]):
        _eann_pair(p, vector, distance, powers, radial, rc, values, jac)


def _eann_cuda(vector, distance, powers, radial, rc, values, jac):
    """CUDA loop kernel: one thread per pair."""
    p = thread_index()
    if p < distance.shape[0]:
        eann_pair(p, vector, distance, powers, radial, rc, values, jac)
