"""Pair symmetry functions: descriptors of the environment of an atom pair (i, j).

After R. Jose, N. Artrith, J. Behler, J. Chem. Phys. 136, 194111 (2012) (pair-based
HDNNP; review Kocer, Ko, Behler, Annu. Rev. Phys. Chem. 73, 163 (2022), Eq. 5): the energy
is a sum of pair energies E_ij, each from a network whose input describes the pair distance
and the atoms k around *both* atoms, with functions invariant to exchanging i and j. For a
pair row (i, j) with r_ij < r_p (``pair_cutoff``) and third atoms k (neighbour entries of i
other than j's entry, so periodic images count separately), with u = r_ij, v = r_ik,
w = r_jk = v - u, and f_p, f_c the cutoff function at r_p and at r_c (``cutoff``):

    column 0                          f_p(r_ij)
    pair_radial (eta, r_s)            exp(-eta (r_ij - r_s)^2) f_p(r_ij)
    radial (eta, r_s), element e      sum_{k in e} exp(-eta [(r_ik - r_s)^2 + (r_jk - r_s)^2]) f_c(r_ik) f_c(r_jk)
    angular (eta, zeta, lambda), e    sum_{k in e} 2^(1-zeta) [(1 + lambda cos theta_i)^zeta + (1 + lambda cos theta_j)^zeta]
                                                   exp(-eta (r_ik^2 + r_jk^2)) f_c(r_ik) f_c(r_jk)

with theta_i the angle (r_ij, r_ik) at i and theta_j the angle (r_ji, r_jk) at j. Every
column is symmetric in i and j. The functional forms follow the construction of the paper
(a pair-distance term plus radial and angular environment terms of the third atoms within
the cutoff of both atoms, symmetrised over i and j); the parameter grid and the element
resolution by the element of k are ours. Column 0 is the pair envelope: a model that
multiplies E_ij by it (``zoo.models.pair_hdnnp``) makes the energy continuous when a pair
leaves the pair cutoff, which the network output alone would not be (our addition).

Rows: one per unordered pair, taken from the full neighbour list as the entries (i, j, S)
with i < j, or i == j and S lexicographically positive (an atom and its periodic image).

Column order: [f_p, pair_radial..., then per element e of ``elements``: radial..., angular...],
K = 1 + P + E (R + A) (``PairSfParams.feature_names``).

Jacobian (:mod:`descriptors.jacobian`): row r owns the consecutive blocks
``block_offsets[r] ..``: atom i (displacement 0, minus the sum of the others), atom j
(displacement r_ij), then each third atom k with r_ik < r_c and r_jk < r_c (displacement
r_ik).

Layers: the scalar bodies of :mod:`descriptors.wacsf` plus :func:`pair_cosines` and
:func:`angular_gradient`, and the row body :func:`pair_row`, compiled with
:func:`descriptors.cutoffs.compile_scalar` for both targets -> loop kernels ``_pair_sf_cpu``
(``prange`` over rows) and ``_pair_sf_cuda`` (one thread per row,
:mod:`descriptors.cuda_target`) -> the dispatcher :func:`pair_sf`. Which neighbour entries
are third atoms of a row is decided once, on the CPU (``_third_atom_counts``,
``_third_atoms``), and handed to both loop kernels, so the device never re-decides a
cutoff test that fixes the layout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from ase.data import chemical_symbols

from descriptors import cuda_target, cutoffs
from descriptors.acsf import _checked_elements, _within
from descriptors.acsf import angular_power, radial_term  # noqa: F401  (called by pair_row as plain Python)
from descriptors.cuda_target import thread_index
from descriptors.cutoffs import cutoff_of_kind  # noqa: F401  (called by pair_row as plain Python)
from descriptors.jacobian import Jacobian
from descriptors.neighbors import Neighbors, centre_offsets
from descriptors.wacsf import SCALAR_FUNCTIONS, element_index


@dataclass(frozen=True)
class PairSfParams:
    """A set of pair symmetry functions.

    Attributes:
        elements: atomic numbers, sorted ascending and unique.
        pair_cutoff: r_p, Å: pairs closer than this are rows.
        cutoff: r_c, Å: third atoms k count within r_c of both i and j.
        pair_radial: functions of r_ij (eta [1/Å^2], r_s [Å]), after the envelope column.
        radial: environment radial sets (eta [1/Å^2], r_s [Å]), per element of k.
        angular: environment angular sets (eta [1/Å^2], zeta >= 1, lambda = +-1), per element.
        cutoff_function: "cos", "tanh" or "poly", for both cutoffs.
    """

    elements: tuple[int, ...]
    pair_cutoff: float
    cutoff: float
    pair_radial: tuple[tuple[float, float], ...] = ()
    radial: tuple[tuple[float, float], ...] = ()
    angular: tuple[tuple[float, float, float], ...] = ()
    cutoff_function: str = "cos"

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731  frozen
        set_("elements", _checked_elements(self.elements))
        for name in ("pair_cutoff", "cutoff"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0 Å, received {value!r}")
            set_(name, float(value))
        set_("pair_radial", _checked("pair_radial", self.pair_radial, 2))
        set_("radial", _checked("radial", self.radial, 2))
        set_("angular", _checked("angular", self.angular, 3))
        if self.cutoff_function not in cutoffs.KINDS:
            raise ValueError(f"cutoff_function must be one of {sorted(cutoffs.KINDS)}, "
                             f"received {self.cutoff_function!r}")

    @property
    def n_features(self) -> int:
        return 1 + len(self.pair_radial) + len(self.elements) * (len(self.radial) + len(self.angular))

    @property
    def n_pair_types(self) -> int:
        """Unordered element pairs, E (E + 1) / 2."""
        n = len(self.elements)
        return n * (n + 1) // 2

    def pair_type(self, e1, e2):
        """Index of the unordered element pair of element indices ``e1``, ``e2`` (arrays or
        ints), in the order (0, 0), (0, 1), ..., (0, E-1), (1, 1), ... (as ACSF's pairs)."""
        lo, hi = np.minimum(e1, e2), np.maximum(e1, e2)
        return lo * len(self.elements) - lo * (lo - 1) // 2 + hi - lo

    def feature_names(self) -> list[str]:
        names = ["fp(rij)"] + [f"Gpair(eta={eta:g},rs={rs:g})" for eta, rs in self.pair_radial]
        for z in self.elements:
            s = chemical_symbols[z]
            names += [f"Grad[{s}](eta={eta:g},rs={rs:g})" for eta, rs in self.radial]
            names += [f"Gang[{s}](eta={eta:g},zeta={zeta:g},lambda={lam:g})" for eta, zeta, lam in self.angular]
        return names

    def to_dict(self) -> dict:
        return {"elements": list(self.elements), "pair_cutoff": self.pair_cutoff, "cutoff": self.cutoff,
                "pair_radial": [list(s) for s in self.pair_radial], "radial": [list(s) for s in self.radial],
                "angular": [list(s) for s in self.angular], "cutoff_function": self.cutoff_function}

    @classmethod
    def from_dict(cls, d: dict) -> PairSfParams:
        return cls(**d)

    @classmethod
    def auto(cls, elements, pair_cutoff=3.5, cutoff=4.5, n_pair=6, n_radial=6, n_angular_eta=2,
             zetas=(1.0, 4.0), cutoff_function="cos") -> PairSfParams:
        """An automatic grid (ours).

        Pair radial: ``n_pair`` Gaussians evenly spaced on [0.5 Å, r_p] with eta =
        1 / spacing^2. Environment radial: ``n_radial`` shifted Gaussians evenly spaced on
        [0.5 Å, r_c], same width rule. Angular: r_s-free, eta_k = (m^(k/(m-1)) / r_c)^2 for
        m = ``n_angular_eta`` (as ACSF's automatic grid), times ``zetas`` times lambda = +-1.
        """
        numbers = sorted({z if isinstance(z, (int, np.integer)) else chemical_symbols.index(z) for z in elements})
        if n_pair < 2 or n_radial < 2 or n_angular_eta < 1:
            raise ValueError(f"n_pair and n_radial must be >= 2 and n_angular_eta >= 1, "
                             f"received {n_pair}, {n_radial}, {n_angular_eta}")
        pair = np.linspace(0.5, pair_cutoff, n_pair)
        radial = np.linspace(0.5, cutoff, n_radial)
        m = n_angular_eta
        etas = [(m ** (k / (m - 1)) / cutoff) ** 2 if m > 1 else 1.0 / cutoff**2 for k in range(m)]
        return cls(tuple(numbers), pair_cutoff, cutoff,
                   tuple((1.0 / (pair[1] - pair[0]) ** 2, float(r)) for r in pair),
                   tuple((1.0 / (radial[1] - radial[0]) ** 2, float(r)) for r in radial),
                   tuple((eta, float(z), lam) for eta in etas for z in zetas for lam in (-1.0, 1.0)),
                   cutoff_function)


def _checked(name, sets, n) -> tuple[tuple[float, ...], ...]:
    try:
        out = tuple(tuple(float(x) for x in s) for s in sets)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of {n}-tuples of numbers, received {sets!r}") from None
    for s in out:
        if len(s) != n or not all(math.isfinite(x) for x in s):
            raise ValueError(f"{name} entries must be {n} finite numbers, received {s}")
        if s[0] < 0:
            raise ValueError(f"{name} eta must be >= 0 1/Å^2, received eta={s[0]} in {s}")
        if n == 3 and (s[1] < 1 or s[2] not in (-1.0, 1.0)):
            raise ValueError(f"{name} needs zeta >= 1 and lambda = -1 or +1, received {s}")
    return out


# --- dispatcher ----------------------------------------------------------------------------


def pair_rows(neighbors: Neighbors, pair_cutoff: float) -> np.ndarray:
    """int64 [n_pairs]: the entries of ``neighbors`` that are pair rows (one per unordered
    pair closer than ``pair_cutoff``: i < j, or i == j with a lexicographically positive shift)."""
    i, j, shift = np.asarray(neighbors.i), np.asarray(neighbors.j), np.asarray(neighbors.shift)
    first = np.where(shift[:, 0] != 0, shift[:, 0], np.where(shift[:, 1] != 0, shift[:, 1], shift[:, 2]))
    keep = (np.asarray(neighbors.distance) < pair_cutoff) & ((i < j) | ((i == j) & (first > 0)))
    return np.flatnonzero(keep)


def pair_sf(positions, numbers, cell, pbc, neighbors: Neighbors, params: PairSfParams,
            device: str = "cpu") -> tuple[np.ndarray, Jacobian, Neighbors]:
    """Pair symmetry functions of every unordered pair closer than ``params.pair_cutoff``.

    Args:
        positions: float [n_atoms, 3], Å (only its length is used).
        numbers: int [n_atoms], atomic numbers, all in ``params.elements``.
        cell, pbc: unused (periodicity is in ``neighbors``).
        neighbors: full neighbour list with a cutoff >= max(pair_cutoff, cutoff), sorted
            by centre.
        params: the functions.
        device: "cpu" or "cuda" (:mod:`descriptors.cuda_target`).

    Returns:
        values: float64 [n_pairs, K] (columns in the module docstring);
        jac: :class:`Jacobian` (layout in the module docstring);
        pairs: the rows as a :class:`Neighbors` record (i, j, shift, vector r_ij, distance).

    Raises:
        ValueError: unknown element, inconsistent shapes, atoms at zero distance.
        CudaUnavailableError: ``device="cuda"`` without a GPU or the simulator.
    """
    on_gpu = cuda_target.use_cuda(device, "pair_sf")
    n_atoms = len(positions)
    element = element_index(numbers, params.elements, n_atoms, "PairSfParams")
    nb = _within(neighbors, n_atoms, max(params.pair_cutoff, params.cutoff))
    offsets = centre_offsets(nb.i, n_atoms)
    rows = pair_rows(nb, params.pair_cutoff)
    counts = _third_atom_counts(rows, nb.i, offsets, nb.vector, nb.distance, params.cutoff)
    block_offsets = np.concatenate(([0], np.cumsum(counts + 2))).astype(np.int64)
    n_blocks = int(block_offsets[-1])
    third = np.full(n_blocks, -1, dtype=np.int64)
    _third_atoms(rows, nb.i, offsets, nb.vector, nb.distance, params.cutoff, block_offsets, third)
    inputs = (rows, nb.i, nb.j, nb.vector, nb.distance, element, params.pair_cutoff, params.cutoff,
              cutoffs.KINDS[params.cutoff_function], np.array(((0.0, 0.0),) + params.pair_radial),
              np.array(params.radial).reshape(-1, 2), np.array(params.angular).reshape(-1, 3), block_offsets, third)
    if on_gpu:
        values, atom, displacement, value = _pair_sf_on_gpu(inputs, params.n_features, n_blocks)
    else:
        values = np.zeros((len(rows), params.n_features))
        atom = np.empty(n_blocks, dtype=np.int64)
        displacement = np.empty((n_blocks, 3))
        value = np.zeros((n_blocks, params.n_features, 3))
        _pair_sf_cpu(*inputs, values, atom, displacement, value)
    item = np.repeat(np.arange(len(rows)), counts + 2)
    pairs = Neighbors(nb.i[rows], nb.j[rows], np.asarray(nb.shift)[rows], nb.vector[rows], nb.distance[rows])
    return values, Jacobian(item, atom, value, displacement), pairs


# --- scalar math and the row body (compiled for both targets) ------------------------------


def distance_between(vector, p, q):
    """|vector[q] - vector[p]|: r_jk of the third atom of entry q for the row of entry p
    (one expression, so that counting and filling decide the cutoff identically)."""
    dx, dy, dz = vector[q, 0] - vector[p, 0], vector[q, 1] - vector[p, 1], vector[q, 2] - vector[p, 2]
    return math.sqrt(dx * dx + dy * dy + dz * dz)


def pair_cosines(ux, uy, uz, ru, vx, vy, vz, rv, rw):
    """cos theta_i between u = r_ij and v = r_ik, and cos theta_j between -u and w = v - u."""
    uv = ux * vx + uy * vy + uz * vz
    return uv / (ru * rv), (ru * ru - uv) / (ru * rw)


def angular_gradient(u_c, v_c, ru, rv, rw, ci, cj, ai, aj, sv, sw):
    """Component c of the gradient of one angular summand with respect to u = r_ij (atom j)
    and v = r_ik (atom k), given ai = d/dcos_i, aj = d/dcos_j, and sv, sw = (1/r) d/dr of
    the radial factors along v and w = v - u."""
    w_c = v_c - u_c
    # cos_i = u.v / (|u||v|)
    dci_du = v_c / (ru * rv) - ci * u_c / (ru * ru)
    dci_dv = u_c / (ru * rv) - ci * v_c / (rv * rv)
    # cos_j = a.w / (|a||w|), a = -u: d/da and d/dw, then a = -u, w = v - u
    dcj_da = w_c / (ru * rw) + cj * u_c / (ru * ru)
    dcj_dw = -u_c / (ru * rw) - cj * w_c / (rw * rw)
    g_u = ai * dci_du + aj * (-dcj_da - dcj_dw) - sw * w_c
    g_v = ai * dci_dv + aj * dcj_dw + sv * v_c + sw * w_c
    return g_u, g_v


def pair_row(r, rows, centre, neighbor, vector, distance, element, rp, rc, kind, pair_radial, radial, angular,
             block_offsets, third, values, atom, displacement, jac):
    """Row r and its blocks ``block_offsets[r]:block_offsets[r+1]`` (``values[r]`` and the
    blocks' ``jac`` zero on entry): i, j, then the third atoms ``third[b]`` (neighbour entries)."""
    n_pr, n_rad, n_ang = pair_radial.shape[0], radial.shape[0], angular.shape[0]
    per_element = n_rad + n_ang
    first_env = n_pr
    p = rows[r]
    i = centre[p]
    b_i = block_offsets[r]
    b_j = b_i + 1
    ux, uy, uz, ru = vector[p, 0], vector[p, 1], vector[p, 2], distance[p]
    atom[b_i] = i
    atom[b_j] = neighbor[p]
    displacement[b_i, 0] = displacement[b_i, 1] = displacement[b_i, 2] = 0.0
    displacement[b_j, 0], displacement[b_j, 1], displacement[b_j, 2] = ux, uy, uz
    fp, dfp = cutoff_of_kind(ru, rp, kind)
    for m in range(n_pr):
        g, dg = radial_term(ru, pair_radial[m, 0], pair_radial[m, 1], fp, dfp)
        values[r, m] = g
        jac[b_j, m, 0] += dg * ux / ru
        jac[b_j, m, 1] += dg * uy / ru
        jac[b_j, m, 2] += dg * uz / ru
    end = block_offsets[r + 1]  # locals: stores into jac may alias any array (no noalias here)
    u = (ux, uy, uz)
    for b in range(b_j + 1, end):
        q = third[b]
        vx, vy, vz, rv = vector[q, 0], vector[q, 1], vector[q, 2], distance[q]
        wx, wy, wz = vx - ux, vy - uy, vz - uz
        rw = distance_between(vector, p, q)
        atom[b] = neighbor[q]
        displacement[b, 0], displacement[b, 1], displacement[b, 2] = vx, vy, vz
        col0 = first_env + element[neighbor[q]] * per_element
        fv, dfv = cutoff_of_kind(rv, rc, kind)
        fw, dfw = cutoff_of_kind(rw, rc, kind)
        for m in range(n_rad):
            av, dav = radial_term(rv, radial[m, 0], radial[m, 1], fv, dfv)
            aw, daw = radial_term(rw, radial[m, 0], radial[m, 1], fw, dfw)
            col = col0 + m
            values[r, col] += av * aw
            sv = dav * aw / rv  # along v, for d/dv
            sw = av * daw / rw  # along w = v - u: + for d/dv, - for d/du
            jac[b, col, 0] += sv * vx + sw * wx
            jac[b, col, 1] += sv * vy + sw * wy
            jac[b, col, 2] += sv * vz + sw * wz
            jac[b_j, col, 0] -= sw * wx
            jac[b_j, col, 1] -= sw * wy
            jac[b_j, col, 2] -= sw * wz
        if n_ang == 0:
            continue
        # theta_i between u and v; theta_j between -u and w
        ci, cj = pair_cosines(ux, uy, uz, ru, vx, vy, vz, rv, rw)
        v = (vx, vy, vz)
        for m in range(n_ang):
            eta, zeta, lam = angular[m, 0], angular[m, 1], angular[m, 2]
            pref = 2.0 ** (1.0 - zeta)
            cv, dcv = radial_term(rv, eta, 0.0, fv, dfv)
            cw, dcw = radial_term(rw, eta, 0.0, fw, dfw)
            pi, dpi = angular_power(ci, zeta, lam)
            pj, dpj = angular_power(cj, zeta, lam)
            col = col0 + n_rad + m
            rad = cv * cw
            ang = pref * (pi + pj)
            values[r, col] += ang * rad
            ai = pref * dpi * rad  # d/dcos_i
            aj = pref * dpj * rad  # d/dcos_j
            sv = ang * dcv * cw / rv
            sw = ang * cv * dcw / rw
            for c in range(3):
                g_u, g_v = angular_gradient(u[c], v[c], ru, rv, rw, ci, cj, ai, aj, sv, sw)
                jac[b_j, col, c] += g_u
                jac[b, col, c] += g_v
    for m in range(values.shape[1]):  # translation invariance: block of i is minus the others
        for c in range(3):
            total = 0.0
            for bb in range(b_j, end):
                total += jac[bb, m, c]
            jac[b_i, m, c] = -total


_SCALAR_FUNCTIONS = tuple(SCALAR_FUNCTIONS) + (distance_between, pair_cosines, angular_gradient, pair_row)
# inlined into the prange loop, where Numba marks arrays noalias: as fast as the former
# loop-body code (a called body reloads its inputs after every store, up to 2x slower)
_cpu = cutoffs.compile_scalar(_SCALAR_FUNCTIONS, numba.njit(error_model="numpy", inline="always"))
_distance_between = _cpu["distance_between"]
_pair_row = _cpu["pair_row"]


# --- loop kernels ----------------------------------------------------------------------------


@numba.njit(parallel=True, cache=True)
def _third_atom_counts(rows, centre, offsets, vector, distance, rc):
    """int64 [n_pairs]: third atoms k of each row with r_ik < r_c and r_jk < r_c."""
    counts = np.zeros(rows.shape[0], dtype=np.int64)
    for r in numba.prange(rows.shape[0]):
        p = rows[r]
        i = centre[p]
        for q in range(offsets[i], offsets[i + 1]):
            if q == p or distance[q] >= rc:
                continue
            counts[r] += _distance_between(vector, p, q) < rc
    return counts


@numba.njit(parallel=True, cache=True)
def _third_atoms(rows, centre, offsets, vector, distance, rc, block_offsets, third):
    """``third[block_offsets[r] + 2 + t]`` = neighbour entry of the t-th third atom of row r
    (the test of ``_third_atom_counts``, so the counts and the entries agree)."""
    for r in numba.prange(rows.shape[0]):
        p = rows[r]
        i = centre[p]
        b = block_offsets[r] + 2
        for q in range(offsets[i], offsets[i + 1]):
            if q == p or distance[q] >= rc:
                continue
            if _distance_between(vector, p, q) < rc:
                third[b] = q
                b += 1


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _pair_sf_cpu(rows, centre, neighbor, vector, distance, element, rp, rc, kind, pair_radial, radial, angular,
                 block_offsets, third, values, atom, displacement, jac):
    """Fill the rows of ``values`` and their blocks; ``prange`` over pair rows (row r writes
    only ``values[r]`` and blocks ``block_offsets[r]:block_offsets[r+1]``)."""
    for r in numba.prange(rows.shape[0]):
        _pair_row(r, rows, centre, neighbor, vector, distance, element, rp, rc, kind, pair_radial, radial, angular,
                  block_offsets, third, values, atom, displacement, jac)


def _pair_sf_cuda(rows, centre, neighbor, vector, distance, element, rp, rc, kind, pair_radial, radial, angular,
                  block_offsets, third, values, atom, displacement, jac):
    """CUDA loop kernel: one thread per pair row."""
    r = thread_index()
    if r < rows.shape[0]:
        pair_row(r, rows, centre, neighbor, vector, distance, element, rp, rc, kind, pair_radial, radial, angular,
                 block_offsets, third, values, atom, displacement, jac)


def _pair_sf_on_gpu(inputs, n_features, n_blocks):
    """The outputs of ``_pair_sf_cpu`` (values, atom, displacement, value) from the device."""
    arrays = [cuda_target.to_device(x)[0] if isinstance(x, np.ndarray) else x for x in inputs]
    outputs = (cuda_target.zeros((len(inputs[0]), n_features)), cuda_target.empty(n_blocks, np.int64),
               cuda_target.empty((n_blocks, 3)), cuda_target.zeros((n_blocks, n_features, 3)))
    kernels = cuda_target.compile_kernels((_pair_sf_cuda,), _SCALAR_FUNCTIONS)
    cuda_target.launch(kernels._pair_sf_cuda, len(inputs[0]), *arrays, *outputs)
    return cuda_target.to_host(*outputs)
