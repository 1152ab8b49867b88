"""Element-resolved atom-centred symmetry functions (ACSF) with their analytic Jacobian.

Equations (J. Behler, J. Chem. Phys. 134, 074106 (2011); review Kocer, Ko, Behler,
Annu. Rev. Phys. Chem. 73, 163 (2022), Eqs. 2-4), for a centre i with neighbour entries j, k
(periodic images are separate entries), bond vectors r_ij = r_j - r_i and
cos theta_ijk = r_ij . r_ik / (r_ij r_ik):

    G2_i = sum_j  exp(-eta (r_ij - r_s)^2) f_c(r_ij)
    G4_i = 2^(1-zeta) sum_{j != k} (1 + lambda cos theta_ijk)^zeta
                      exp(-eta (r_ij^2 + r_ik^2 + r_jk^2)) f_c(r_ij) f_c(r_ik) f_c(r_jk)
    G5_i = 2^(1-zeta) sum_{j != k} (1 + lambda cos theta_ijk)^zeta
                      exp(-eta (r_ij^2 + r_ik^2)) f_c(r_ij) f_c(r_ik)

Sum convention: G4 and G5 sum over all *ordered* pairs of neighbour entries (j, k), j != k,
as written in Behler 2011, so each unordered pair counts twice. dscribe 2.1
(``dscribe/ext/acsf.cpp``) and n2p2 sum each unordered pair once (dscribe: ``k < j`` over
atoms of its periodically extended system) with the same per-pair term
(dscribe writes 2 (0.5 (1 + lambda cos))^zeta = 2^(1-zeta) (1 + lambda cos)^zeta) and no
r_s in G4/G5. Hence, with the same cutoff function (dscribe has only "cos"):

    ours G2 = dscribe G2,    ours G4 = 2 x dscribe G4,    ours G5 = 2 x dscribe G5.

Column order (``AcsfParams.feature_names()`` spells it out), with ``elements`` sorted
ascending (E of them), R = len(radial) and A = len(g4) + len(g5):

    column e * R + m            G2 with radial[m] over neighbours of element elements[e]
    column E * R + s * A + m    angular set m (the g4 sets, then the g5 sets) over pairs of
                                neighbours of the s-th unordered element pair (e1 <= e2),
                                in the order (0, 0), (0, 1), ..., (0, E-1), (1, 1), ...

dscribe's columns differ: per element a G1 column (sum f_c) precedes its G2 block, and its
pair blocks (e1 <= e2) are ordered by e2 (e2 + 1) / 2 + e1 (the tests map them).

Jacobian (:mod:`descriptors.jacobian`): centre i owns the blocks ``offsets[i] + i`` (item i,
atom i; minus the sum of the others, by translation invariance) and ``p + i + 1`` for each
of its pairs p within the cutoff (item i, atom j[p]); ``offsets`` are the CSR offsets of
those pairs, so B = n_atoms + n_pairs and every centre knows its blocks in advance.

Layers (docs/STYLE.md, item 4): scalar ``math`` bodies (below, and :mod:`descriptors.cutoffs`)
-> compiled names (:func:`descriptors.cutoffs.compile_scalar`) -> loop kernel (``prange``
over centres) -> the dispatcher :func:`acsf`. The kernel notes (before ``_acsf_cpu``) explain
how it is organised for speed. The CUDA target (``device="cuda"``) compiles the same scalar
bodies into a plain per-centre body, :func:`acsf_centre` (one thread per centre, same sums
and block layout; notes before it), whose pieces the wACSF kernels share.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numba
import numpy as np
from ase.data import chemical_symbols

from descriptors import cuda_target, cutoffs
from descriptors.cuda_target import thread_index
from descriptors.cutoffs import cutoff_of_kind  # noqa: F401  (called by the CUDA bodies as plain Python)
from descriptors.jacobian import Jacobian
from descriptors.neighbors import Neighbors, centre_offsets

# --- scalar math (plain bodies: math only, compiled for each target) -----------------------


_LN2_HI = 0.6931471806019545  # ln 2 to 32 significant bits (0x1.62e42ffp-1): n * _LN2_HI is exact
_LN2_LO = -4.2009150726810846e-11  # ln 2 - _LN2_HI


#: exp_nonpositive returns 0 below this: products of the tiny values below it would be
#: subnormal, and subnormal arithmetic is ~100x slower on x86 (exp(-600) ~ 3e-261)
_EXP_ZERO_BELOW = -600.0


def exp_nonpositive(x):
    """exp(x) for x <= 0 by arithmetic only (no libm call), so that loops calling it vectorise.

    Range reduction x = n ln 2 + r with |r| <= ln 2 / 2 (two-constant split of ln 2, so
    r is exact to rounding), the Taylor series of exp(r) to r^13 (truncation below 5e-18
    relative), and 2^-m (m = -n) from exact powers of two made by integer shifts:
    2^-(m mod 16) = 2^(52 - m mod 16) / 2^52 times (2^(62 - m div 16) / 2^62)^16, the
    16th power by four squarings (m div 16 <= 54 because arguments below -600 give 0).
    Relative error a few ulp (2.2e-16 measured against numpy on [-600, 0]).
    """
    x = max(x, _EXP_ZERO_BELOW - 1.0)  # keeps m <= 868; the result there is 0 anyway
    n = math.floor(x * 1.4426950408889634 + 0.5)  # round(x / ln 2), in [-867, 0]
    r = (x - n * _LN2_HI) - n * _LN2_LO
    p = 1.0 / 6227020800.0  # 1/13!
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    m = -n
    p *= float(1 << (52 - (m & 15))) * 2.220446049250313e-16  # 2^-(m mod 16); 2^-52
    high = float(1 << (62 - (m >> 4))) * 2.168404344971009e-19  # 2^-(m div 16); 2^-62
    high *= high
    high *= high
    high *= high
    high *= high  # 2^-16 (m div 16): five multiplications instead of a loop over bits of m
    return p * high if x > _EXP_ZERO_BELOW else 0.0


def radial_term(r, eta, rs, fc, dfc):
    """One G2 summand exp(-eta (r - r_s)^2) f_c(r) (review Eq. 2).

    Args:
        r: distance (Å); eta (1/Å^2); rs (Å); fc, dfc: f_c(r) and d f_c / d r (1/Å).

    Returns:
        (g, dg/dr).
    """
    d = r - rs
    g = exp_nonpositive(-eta * d * d)
    return g * fc, g * (dfc - 2.0 * eta * d * fc)


def gaussian_cutoff(r2, eta, fc, dfc_r):
    """The per-distance factor of G4/G5, a = exp(-eta r^2) f_c(r), and (1/r) da/dr.

    exp(-eta (r_ij^2 + r_ik^2 + r_jk^2)) f_c f_c f_c factorises into a(r_ij) a(r_ik) a(r_jk)
    (G4, review Eq. 3; G5 without a(r_jk), Eq. 4). Derivatives come divided by r because the
    gradient of a(|v|) with respect to the vector v is (1/r) da/dr v.

    Args:
        r2: r^2 (Å^2); eta (1/Å^2); fc: f_c(r); dfc_r: (1/r) d f_c / d r (1/Å^2).

    Returns:
        (a, (1/r) da/dr) in (1, 1/Å^2).
    """
    g = exp_nonpositive(-eta * r2)
    return g * fc, g * (dfc_r - 2.0 * eta * fc)


def integer_power(x, n):
    """x^n for an integer 0 <= n < 16 in 4 fixed squaring steps (no data-dependent branch,
    so a loop calling it vectorises)."""
    result = 1.0
    for _ in range(4):
        result *= x if n & 1 else 1.0
        x *= x
        n >>= 1
    return result


def angular_power(cos_theta, zeta, lam):
    """The angular factor (1 + lambda cos theta)^zeta of G4/G5 (review Eqs. 3-4) and its
    cos theta-derivative.

    The normalisation 2^(1-zeta) is applied by the caller. Integer zeta <= 16 uses
    :func:`integer_power`, others ``**``; zeta >= 1 keeps the derivative finite at
    1 + lambda cos = 0, which is clamped at 0 against rounding (|cos| may exceed 1 by an ulp).

    Returns:
        (p, dp/dcos).
    """
    base = max(1.0 + lam * cos_theta, 0.0)
    n = int(zeta) - 1
    if n + 1 == zeta and n < 16:
        lower = integer_power(base, n)
    else:
        lower = base ** (zeta - 1.0)
    return lower * base, zeta * lam * lower


_SCALAR_FUNCTIONS = [cutoffs.sin_cos_half_pi, cutoffs.cos_cutoff, cutoffs.tanh_cutoff,
                     cutoffs.poly_cutoff, exp_nonpositive, radial_term, gaussian_cutoff,
                     integer_power, angular_power]

# --- compiled names (CPU) ------------------------------------------------------------------

# Not inlined by Numba (LLVM inlines them): their arithmetic keeps strict IEEE semantics
# (no fastmath reassociation, which would undo the exact range reduction of exp).
_cpu = cutoffs.compile_scalar(_SCALAR_FUNCTIONS, numba.njit(error_model="numpy"))
_cos_cutoff = _cpu["cos_cutoff"]
_tanh_cutoff = _cpu["tanh_cutoff"]
_poly_cutoff = _cpu["poly_cutoff"]
_radial_term = _cpu["radial_term"]
_gaussian_cutoff = _cpu["gaussian_cutoff"]
_angular_power = _cpu["angular_power"]

# Only the dot-product loops (_dots_*) allow reassociation: it lets LLVM vectorise their
# sums over neighbours k, which changes rounding only. Elsewhere it would, for instance,
# undo the exact range reduction of exp, so other loops allow only FMA contraction.
# error_model="numpy": a division by zero gives inf instead of raising, which lets loops
# with divisions vectorise (inputs are checked before the kernel runs).
_FASTMATH = {"reassoc", "contract", "arcp", "nsz"}
_CONTRACT = {"contract", "arcp", "nsz"}  # fused multiply-add etc., no reassociation


# --- parameters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AcsfParams:
    """A set of element-resolved symmetry functions.

    Attributes:
        elements: atomic numbers, sorted ascending and unique.
        cutoff: r_c in Å.
        radial: G2 sets (eta [1/Å^2], r_s [Å]).
        g4: G4 sets (eta [1/Å^2], zeta >= 1, lambda = +-1).
        g5: G5 sets (eta [1/Å^2], zeta >= 1, lambda = +-1).
        cutoff_function: "cos", "tanh" or "poly" (:mod:`descriptors.cutoffs`).
    """

    elements: tuple[int, ...]
    cutoff: float
    radial: tuple[tuple[float, float], ...]
    g4: tuple[tuple[float, float, float], ...] = ()
    g5: tuple[tuple[float, float, float], ...] = ()
    cutoff_function: str = "cos"

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731  frozen
        set_("elements", _checked_elements(self.elements))
        if not (isinstance(self.cutoff, (int, float)) and math.isfinite(self.cutoff) and self.cutoff > 0):
            raise ValueError(f"cutoff must be a finite number > 0 Å, received {self.cutoff!r}")
        set_("cutoff", float(self.cutoff))
        set_("radial", _checked_sets("radial", self.radial, ("eta", "rs")))
        set_("g4", _checked_sets("g4", self.g4, ("eta", "zeta", "lambda")))
        set_("g5", _checked_sets("g5", self.g5, ("eta", "zeta", "lambda")))
        if self.cutoff_function not in cutoffs.KINDS:
            raise ValueError(f"cutoff_function must be one of {sorted(cutoffs.KINDS)}, "
                             f"received {self.cutoff_function!r}")

    @property
    def n_features(self) -> int:
        """K = E R + E (E + 1) / 2 (len(g4) + len(g5)) columns."""
        n = len(self.elements)
        return n * len(self.radial) + n * (n + 1) // 2 * (len(self.g4) + len(self.g5))

    def element_pairs(self) -> list[tuple[int, int]]:
        """Unordered element-index pairs (e1 <= e2) in angular column order."""
        n = len(self.elements)
        return [(a, b) for a in range(n) for b in range(a, n)]

    def feature_names(self) -> list[str]:
        """Readable column names, e.g. ``G2[Cu](eta=0.5,rs=0)``, ``G4[C,H](eta=0.1,zeta=1,lambda=-1)``."""
        symbols = [chemical_symbols[z] for z in self.elements]
        names = [f"G2[{s}](eta={eta:g},rs={rs:g})" for s in symbols for eta, rs in self.radial]
        for a, b in self.element_pairs():
            for kind, sets in (("G4", self.g4), ("G5", self.g5)):
                names += [f"{kind}[{symbols[a]},{symbols[b]}](eta={eta:g},zeta={zeta:g},lambda={lam:g})"
                          for eta, zeta, lam in sets]
        return names

    def to_dict(self) -> dict:
        """JSON-serialisable dict (lists, floats, ints, strings); inverse of :meth:`from_dict`."""
        return {"elements": list(self.elements), "cutoff": self.cutoff,
                "radial": [list(s) for s in self.radial], "g4": [list(s) for s in self.g4],
                "g5": [list(s) for s in self.g5], "cutoff_function": self.cutoff_function}

    @classmethod
    def from_dict(cls, d: dict) -> AcsfParams:
        return cls(**d)

    @classmethod
    def auto(cls, elements, cutoff, n_radial=8, n_angular_eta=2, zetas=(1.0, 4.0),
             angular=("g4", "g5"), radial_mode="shift", cutoff_function="cos") -> AcsfParams:
        """An automatic n2p2-style grid (G. Imbalzano et al., J. Chem. Phys. 148, 241730
        (2018), "Automatic selection of atomic fingerprints", as implemented by n2p2's
        ``sfparamgen`` rule "imbalzano2018").

        Radial, ``radial_mode="shift"`` (default): N = n_radial Gaussians centred on the
        geometric grid r_k = r_c / N^(k/N), k = 1..N, each with width set by the spacing to
        its outer neighbour, eta_k = 1 / (r_{k-1} - r_k)^2 (dense near the centre).
        ``radial_mode="center"``: r_s = 0 and eta_k = (N'^(k/N') / r_c)^2, k = 0..N', with
        N' = n_radial - 1.
        Angular: r_s-free G4/G5 with eta_k = (m^(k/(m-1)) / r_c)^2, k = 0..m-1, m =
        n_angular_eta (widths r_c down to r_c/m; the published centred rule spans a factor
        m - 1, which collapses for m = 2), times ``zetas`` times lambda = -1, +1.
        The default gives 8 + 8 + 8 functions per element (pair): 8 G2, 8 G4, 8 G5.

        Args:
            elements: atomic numbers or chemical symbols (sorted and deduplicated here).
            cutoff: r_c, Å.
            n_radial: number of G2 per neighbour element (>= 2).
            n_angular_eta: number of angular etas (>= 1).
            zetas: angular zeta values (>= 1; integers are fastest).
            angular: which angular families to include, a subset of ("g4", "g5").
            radial_mode: "shift" or "center".
            cutoff_function: "cos", "tanh" or "poly".
        """
        numbers = sorted({z if isinstance(z, (int, np.integer)) else chemical_symbols.index(z)
                          for z in elements})
        if n_radial < 2:
            raise ValueError(f"n_radial must be >= 2, received {n_radial}")
        if n_angular_eta < 1:
            raise ValueError(f"n_angular_eta must be >= 1, received {n_angular_eta}")
        unknown = set(angular) - {"g4", "g5"}
        if unknown:
            raise ValueError(f"angular must be a subset of ('g4', 'g5'), received {tuple(angular)}")
        if radial_mode == "shift":
            grid = cutoff / n_radial ** (np.arange(n_radial + 1) / n_radial)
            radial = [(1.0 / (grid[k - 1] - grid[k]) ** 2, grid[k]) for k in range(n_radial, 0, -1)]
        elif radial_mode == "center":
            n = n_radial - 1
            radial = [((n ** (k / n) / cutoff) ** 2, 0.0) for k in range(n_radial)]
        else:
            raise ValueError(f"radial_mode must be 'shift' or 'center', received {radial_mode!r}")
        m = n_angular_eta
        etas = [(m ** (k / (m - 1)) / cutoff) ** 2 if m > 1 else 1.0 / cutoff**2 for k in range(m)]
        sets = [(eta, float(zeta), lam) for eta in etas for zeta in zetas for lam in (-1.0, 1.0)]
        return cls(tuple(numbers), cutoff, tuple(radial), tuple(sets) if "g4" in angular else (),
                   tuple(sets) if "g5" in angular else (), cutoff_function)


def _checked_elements(elements) -> tuple[int, ...]:
    try:
        out = tuple(int(z) for z in elements)
    except (TypeError, ValueError):
        raise ValueError(f"elements must be atomic numbers, received {elements!r}") from None
    if not out or any(not 1 <= z < len(chemical_symbols) for z in out) or list(out) != sorted(set(out)):
        raise ValueError(f"elements must be a non-empty ascending tuple of unique atomic numbers "
                         f"in 1..{len(chemical_symbols) - 1}, received {elements!r}")
    return out


def _checked_sets(name, sets, fields) -> tuple[tuple[float, ...], ...]:
    """Parameter sets as float tuples, checked: finite, eta (first field) >= 0, zeta >= 1 and
    lambda = ±1 where ``fields`` name them (shared by ACSF and wACSF)."""
    try:
        out = tuple(tuple(float(x) for x in s) for s in sets)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of ({', '.join(fields)}) tuples, "
                         f"received {sets!r}") from None
    for s in out:
        if len(s) != len(fields) or not all(math.isfinite(x) for x in s):
            raise ValueError(f"{name} entries must be finite ({', '.join(fields)}), received {s}")
        if s[0] < 0:
            raise ValueError(f"{name} eta must be >= 0 1/Å^2, received eta={s[0]} in {s}")
        value = dict(zip(fields, s))
        if "zeta" in value and value["zeta"] < 1:
            raise ValueError(f"{name} zeta must be >= 1, received zeta={value['zeta']} in {s}")
        if "lambda" in value and value["lambda"] not in (-1.0, 1.0):
            raise ValueError(f"{name} lambda must be -1 or +1, received lambda={value['lambda']} in {s}")
    return out


# --- dispatcher ----------------------------------------------------------------------------


def acsf(positions, numbers, cell, pbc, neighbors: Neighbors, params: AcsfParams,
         device: str = "cpu") -> tuple[np.ndarray, Jacobian]:
    """ACSF values and their Jacobian with respect to the positions.

    Args:
        positions: float [n_atoms, 3], Å (only its length is used: the geometry comes from
            ``neighbors.vector``, which must belong to these positions).
        numbers: int [n_atoms], atomic numbers, all in ``params.elements``.
        cell: float [3, 3], Å; pbc: bool [3] (unused: periodicity is in ``neighbors``).
        neighbors: full neighbour list built with a cutoff >= ``params.cutoff`` (pairs
            beyond ``params.cutoff`` are skipped), sorted by centre.
        params: the symmetry functions.
        device: "cpu" or "cuda" (:mod:`descriptors.cuda_target`; the same values and layout,
            from the per-centre bodies at the end of this module).

    Returns:
        values: float64 [n_atoms, K] (column order in the module docstring);
        jac: :class:`Jacobian` with B = n_atoms + n_pairs blocks, value float64 [B, K, 3]
            in 1/Å (the symmetry functions are dimensionless), displacement the pair
            vector of each neighbour block.

    Raises:
        ValueError: an element outside ``params.elements``, inconsistent shapes, or two
            atoms at zero distance.
        CudaUnavailableError: ``device="cuda"`` without a GPU or the simulator.
    """
    on_gpu = cuda_target.use_cuda(device, "acsf")
    n_atoms = len(positions)
    element = _element_index(numbers, params.elements, n_atoms)
    nb = _within(neighbors, n_atoms, params.cutoff)
    offsets = centre_offsets(nb.i, n_atoms)
    n_blocks = n_atoms + len(nb.i)
    if on_gpu:
        values, value = _acsf_on_gpu(offsets, nb, element, params)
        item, atom = _block_indices(nb.i, nb.j, offsets)
        return values, Jacobian(item, atom, value, _block_displacements(nb.i, nb.vector, n_blocks))
    tables = _kernel_tables(params)
    values = np.empty((n_atoms, params.n_features))
    item = np.empty(n_blocks, dtype=np.int64)
    atom = np.empty(n_blocks, dtype=np.int64)
    value = np.empty((n_blocks, params.n_features, 3))
    n_max = int(np.diff(offsets).max()) if n_atoms else 0
    _acsf_cpu(offsets, nb.j, nb.vector, nb.distance, element, len(params.elements), params.cutoff,
              cutoffs.KINDS[params.cutoff_function], *tables, n_max, values, item, atom, value)
    return values, Jacobian(item, atom, value, _block_displacements(nb.i, nb.vector, n_blocks))


def _acsf_on_gpu(offsets, nb: Neighbors, element, params: AcsfParams):
    """``values`` and the Jacobian values of :func:`acsf` from the device (one thread per centre)."""
    n_atoms = len(offsets) - 1
    n_features = params.n_features
    outputs = cuda_target.empty((n_atoms, n_features)), cuda_target.empty((n_atoms + len(nb.i), n_features, 3))
    inputs = cuda_target.to_device(offsets, nb.j, nb.vector, nb.distance, element)
    tables = cuda_target.to_device(np.array(params.radial, dtype=np.float64).reshape(-1, 2), _angular_table(params))
    kernels = cuda_target.compile_kernels((_acsf_cuda,), _CUDA_FUNCTIONS)
    cuda_target.launch(kernels._acsf_cuda, n_atoms, *inputs, len(params.elements), params.cutoff,
                       cutoffs.KINDS[params.cutoff_function], *tables, *outputs)
    return cuda_target.to_host(*outputs)


def _angular_table(params: AcsfParams) -> np.ndarray:
    """float64 [A, 5]: (eta, zeta, lambda, 2^(1 - zeta), 1 for G4 / 0 for G5) of each angular
    set in column order (the g4 sets, then the g5 sets), for :func:`acsf_triplet`."""
    sets = [(*s, 1.0) for s in params.g4] + [(*s, 0.0) for s in params.g5]
    table = np.array(sets, dtype=np.float64).reshape(-1, 4)
    return np.column_stack([table[:, :3], 2.0 ** (1.0 - table[:, 1]), table[:, 3]])


def _block_indices(i, j, offsets) -> tuple[np.ndarray, np.ndarray]:
    """int64 item [B] and atom [B] of the block layout of :func:`_store_centre` for pairs
    (i [P], j [P]) sorted by centre with CSR ``offsets``: centre c's own block
    ``offsets[c] + c`` (item c, atom c), then pair p's block ``p + i[p] + 1`` (item i[p],
    atom j[p]) (shared by the wACSF kernel and the CUDA target)."""
    n_atoms = len(offsets) - 1
    item = np.repeat(np.arange(n_atoms, dtype=np.int64), np.diff(offsets) + 1)
    atom = np.empty(n_atoms + len(i), dtype=np.int64)
    atom[offsets[:-1] + np.arange(n_atoms)] = np.arange(n_atoms)
    atom[np.arange(len(i)) + i + 1] = j
    return item, atom


def _block_displacements(i, vector, n_blocks) -> np.ndarray:
    """float64 [B, 3] for pairs (i [P], vector [P, 3]) sorted by centre: zero for centre c's
    own block ``offsets[c] + c``, the pair vector for pair p's block ``p + i[p] + 1`` (the
    block layout of :func:`_store_centre`, shared by the wACSF and ANI kernels)."""
    displacement = np.zeros((n_blocks, 3))
    displacement[np.arange(len(i)) + i + 1] = vector
    return displacement


def _element_index(numbers, elements, n_atoms, what="descriptor's", params_name="AcsfParams") -> np.ndarray:
    """int64 [n_atoms]: index of each atom's element in ``elements`` (``what`` and
    ``params_name`` name the descriptor and its parameter class in the error message)."""
    numbers = np.asarray(numbers)
    if numbers.shape != (n_atoms,) or numbers.dtype.kind not in "iu":
        raise ValueError(f"numbers must be integers of shape [{n_atoms}] (one per position), "
                         f"received {numbers.dtype} of shape {numbers.shape}")
    table = np.full(len(chemical_symbols), -1, dtype=np.int64)
    table[list(elements)] = np.arange(len(elements))
    known = (numbers > 0) & (numbers < len(chemical_symbols))
    element = np.where(known, table[np.where(known, numbers, 0)], -1)
    if np.any(element < 0):
        z = int(numbers[element < 0][0])
        symbol = chemical_symbols[z] if 0 < z < len(chemical_symbols) else "not an element"
        raise ValueError(f"element {z} ({symbol}) is not in the {what} elements {tuple(elements)}; "
                         f"build {params_name} with elements that include it")
    return element


def _within(nb: Neighbors, n_atoms, cutoff) -> Neighbors:
    """The pairs of ``nb`` closer than ``cutoff``, after checking what the kernel relies on
    (it does no bounds checks): shapes, j in range, distances > 0. i is checked by
    :func:`descriptors.neighbors.centre_offsets`."""
    i, j = np.asarray(nb.i), np.asarray(nb.j)
    vector, distance = np.asarray(nb.vector, dtype=np.float64), np.asarray(nb.distance, dtype=np.float64)
    n_pairs = len(i)
    if j.shape != (n_pairs,) or vector.shape != (n_pairs, 3) or distance.shape != (n_pairs,):
        raise ValueError(f"neighbors must have i, j, distance of shape [P] and vector of shape [P, 3], "
                         f"received {i.shape}, {j.shape}, {distance.shape}, {vector.shape}")
    if n_pairs and (j.min() < 0 or j.max() >= n_atoms):
        raise ValueError(f"neighbors.j must index atoms in [0, {n_atoms}), received values in "
                         f"[{j.min()}, {j.max()}]")
    if n_pairs and not distance.min() > 0.0:  # also catches NaN
        p = int(np.argmin(np.where(np.isnan(distance), -1.0, distance)))
        raise ValueError(f"atoms {int(i[p])} and {int(j[p])} are at distance {distance[p]} Å; "
                         f"ACSF need distinct, finite positions")
    keep = distance < cutoff
    if keep.all():
        return Neighbors(i.astype(np.int64, copy=False), j.astype(np.int64, copy=False), nb.shift, vector, distance)
    return Neighbors(i[keep].astype(np.int64), j[keep].astype(np.int64), np.asarray(nb.shift)[keep], vector[keep],
                     distance[keep])


@functools.lru_cache(maxsize=64)
def _kernel_tables(params: AcsfParams):
    """``params`` as the kernel's flat tables (cached: building them costs ~0.1 ms of Python,
    as much as featurizing a small molecule; the kernel only reads them).

    Angular sets m (g4 first, then g5, A in all) are processed in blocks of up to four sets
    of one type and one eta, in one pass over the neighbours per block.

    Returns:
        radial: float [R, 2], (eta, r_s).
        eta_tab: float [3, U]: unique angular etas; 1.0 where a G4 uses it; 1.0 where a G5 does.
        q_tab: float [3, Q]: unique (zeta, lambda) pairs and the prefactor 2^(1 - zeta).
        blocks: int [NB, 10]: (is G4, eta index, 4 set indices m (-1: unused), 4 q indices).
        n_angular: A.
    """
    angular = [(1, *s) for s in params.g4] + [(0, *s) for s in params.g5]
    etas = sorted({s[1] for s in angular})
    zl = sorted({(s[2], s[3]) for s in angular})
    blocks = []
    for kind in (1, 0):
        for e, eta in enumerate(etas):
            sets = [(m, zl.index(s[2:])) for m, s in enumerate(angular) if s[:2] == (kind, eta)]
            for b in range(0, len(sets), 4):
                chunk = sets[b:b + 4] + [(-1, 0)] * (4 - len(sets[b:b + 4]))
                blocks.append([kind, e] + [m for m, _ in chunk] + [q for _, q in chunk])
    eta_tab = np.array([etas, [any(s[0] == e for s in params.g4) for e in etas],
                        [any(s[0] == e for s in params.g5) for e in etas]], dtype=np.float64)
    zetas = np.array([q[0] for q in zl], dtype=np.float64)
    q_tab = np.array([zetas, [q[1] for q in zl], 2.0 ** (1.0 - zetas)], dtype=np.float64).reshape(3, -1)
    return (np.array(params.radial, dtype=np.float64).reshape(-1, 2), eta_tab.reshape(3, -1), q_tab,
            np.array(blocks, dtype=np.int64).reshape(-1, 10), len(angular), *_moment_tables(params, etas))


#: G5 takes the moment path when every G5 zeta is an integer up to this (M = (D + 1)(D + 2)
#: (D + 3) / 6 monomials of degree <= D) ...
MAX_MOMENT_DEGREE = 4
#: ... and the centre has at least this many neighbours per monomial: a row costs ~M by
#: moments and ~n by pairs. Measured on Cu-108 at 6 Å (n = 78), the default 8 G5 sets with
#: zeta 1 and D, one thread, µs/atom of the G5 part by moments / by pairs: D = 2 17 / 44,
#: D = 4 28 / 44, D = 6 42 / 43; so at D = 4 moments win from n ~ 1.4 M = 49.
MOMENT_NEIGHBOURS_PER_MONOMIAL = 1.4


def _moment_tables(params: AcsfParams, etas):
    """Tables of the moment path for G5 (kernel notes); empty (M = 0) when it does not apply.

    Returns:
        mom_int: int [M, 6]: per monomial u^a of degree <= D (a = (ax, ay, az), by degree):
            degree, parent (the monomial u^(a - e_c) for the first axis c with a_c > 0),
            that axis c, and for each axis c the index of u^(a - e_c) (0 if a_c = 0: its
            factor a_c is 0 then, so the kernel needs no branch).
        mom_flt: float [M, 4]: the multinomial n! / (ax! ay! az!), and ax, ay, az.
        g5_poly: float [n_g5, D + 2]: coefficients b_n of 2^(1-zeta) (1 + lambda c)^zeta =
            sum_n b_n c^n, then its value at c = 1.
        g5_eta: int [n_g5]: the eta index (into ``etas``) of each G5 set.
        min_neighbours: centres with fewer neighbours take the pair loops.
    """
    zetas = [zeta for _, zeta, _ in params.g5]
    if not zetas or any(z != int(z) or z > MAX_MOMENT_DEGREE for z in zetas):
        return np.zeros((0, 6), np.int64), np.zeros((0, 4)), np.zeros((0, 2)), np.zeros(0, np.int64), 0
    degree = int(max(zetas))
    exponents = [(ax, ay, n - ax - ay) for n in range(degree + 1) for ax in range(n, -1, -1)
                 for ay in range(n - ax, -1, -1)]
    index = {a: m for m, a in enumerate(exponents)}
    mom_int = np.zeros((len(exponents), 6), np.int64)
    mom_flt = np.zeros((len(exponents), 4))
    for m, a in enumerate(exponents):
        lower = [index[tuple(a[i] - (i == c) for i in range(3))] if a[c] > 0 else 0 for c in range(3)]
        axis = next((c for c in range(3) if a[c] > 0), 0)
        mom_int[m] = (sum(a), lower[axis], axis, *lower)
        mom_flt[m] = (math.factorial(sum(a)) / math.prod(math.factorial(x) for x in a), *a)
    g5_poly = np.zeros((len(zetas), degree + 2))
    for i, (_, zeta, lam) in enumerate(params.g5):
        z = int(zeta)
        g5_poly[i, :z + 1] = [2.0 ** (1 - z) * math.comb(z, n) * lam ** n for n in range(z + 1)]
        g5_poly[i, -1] = 2.0 ** (1 - z) * (1.0 + lam) ** z
    return (mom_int, mom_flt, g5_poly, np.array([etas.index(eta) for eta, _, _ in params.g5], np.int64),
            math.ceil(MOMENT_NEIGHBOURS_PER_MONOMIAL * len(exponents)))


# --- loop kernel (CPU) ---------------------------------------------------------------------
#
# Per centre i, in one thread (prange over chunks of centres):
#   _load_centre   puts the neighbours into local "slots" grouped by element, each group
#                  padded to a multiple of _LANES slots with fillers that contribute nothing
#                  (so vector loops over a group have no scalar remainder); G2 and its
#                  gradient; a_e(r) = exp(-eta r^2) f_c(r) per angular eta.
#   _angular       one "row" per neighbour j and element group of k: every ordered pair
#                  (j, k), k != j, once. The row adds its terms to the values and their
#                  gradient with respect to j; the pair term is symmetric in j and k, so
#                  the full gradient with respect to j is twice the row's j-side part. Per
#                  row, vectorised loops over k compute cos, r_jk, f_c(r_jk), the powers
#                  (1 + lambda cos)^zeta and per-eta weights; then _dots_g4 / _dots_g5 sum
#                  four angular sets per pass (20 running sums in registers).
#   _store_centre  the values row and the Jacobian blocks.
# G5 with integer zeta <= MAX_MOMENT_DEGREE (the default grid's 1 and 4) at centres with many
# neighbours (MOMENT_NEIGHBOURS_PER_MONOMIAL) skips the pairs:
#   2^(1-zeta) (1 + lambda c)^zeta = sum_n b_n c^n, and (u . w)^n = sum_|a|=n n!/a! u^a w^a,
#   so the sum over k of a(r_k) P(r_j^ . r_k^) is sum_n b_n p_n(r_j^) with the homogeneous
#   polynomials p_n(u) = sum_|a|=n C_a u^a, C_a = n!/a! sum_k a(r_k) r_k^a, built once per
#   centre, element group and eta (_g5_moments). Row j then costs O(monomials), not O(k):
#     value            a_j P - [same group] P(1) a_j^2        (k = j: cos = 1)
#     d/dr_j           r_j (da_j P - a_j sum_n n b_n p_n / r_j^2) + (a_j / r_j) sum_n b_n grad p_n
#                      - [same group] 2 P(1) a_j da_j r_j
#   (Euler: r^ . grad p_n(r^) = n p_n(r^) removes the radial part of grad p_n.)
# Why it is written this way (each point measured, see benchmarks/descriptor_speed.py):
#   - scratch arrays are passed one by one: a tuple of arrays makes Numba reference-count
#     every member at each call, and hot helpers have no branch around a call with arrays;
#   - loops over k use unsigned indices, so Numba emits no negative-index wraparound;
#   - exp, cos and the integer powers are arithmetic (no libm call) and the cutoff kind is
#     chosen outside the loops, so those loops vectorise (AVX2 / AVX-512);
#   - only the sums in _dots_* allow reassociation (_FASTMATH, needed to vectorise them);
#     other loops allow contraction only (_CONTRACT).

# rows of the per-centre geometry scratch ``geo`` [15, slots]: bond vector and 1 / length;
# for the current row j: cos theta_jk, 1 / (r_j r_k), -cos / r_j^2, 0 at k == j else 1,
# and r_jk^2 with f_c(r_jk), (1/r_jk) d f_c / d r_jk (r_jk := r_c at k == j: no term)
_X, _Y, _Z, _IR, _COS, _INV, _CJ, _MASK, _RJK, _FC, _DFC = range(11)
# ... and r, f_c(r), d f_c / d r of the bond, and a temporary row
_R, _FCI, _DFCI, _TMP = range(11, 15)
# element groups of neighbour slots are padded to a multiple of this (8 doubles = AVX-512)
_LANES = 8


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _acsf_cpu(offsets, neighbor, vector, distance, element, n_elements, rc, kind, radial,
              eta_tab, q_tab, blocks, n_angular, mom_int, mom_flt, g5_poly, g5_eta, min_neighbours, n_max,
              values, item, atom, jac):
    """Fill ``values`` [n_atoms, K] and the Jacobian; ``prange`` over chunks of centres.

    Centre i reads its pairs ``offsets[i]:offsets[i+1]`` and writes only row i of
    ``values`` and its own blocks, so chunks never race; scratch is allocated per chunk.
    """
    n_atoms = offsets.shape[0] - 1
    n_feat = values.shape[1]
    n_eta, n_q = eta_tab.shape[1], q_tab.shape[1]
    size = n_max + _LANES * n_elements  # local slots, element groups padded to _LANES
    chunk = 4
    for c in numba.prange((n_atoms + chunk - 1) // chunk):
        real = np.empty(n_max, np.int64)        # local slot of the t-th neighbour
        loc = np.empty(size, np.int64)          # pair index of the neighbour in slot q
        elem = np.empty(size, np.int64)         # its element index
        group = np.empty(n_elements + 1, np.int64)  # slots of element e: group[e]:group[e+1]
        fill = np.empty(n_elements, np.int64)
        geo = np.empty((15, size))              # rows _X .. _TMP
        fac = np.empty((2, n_eta, size))        # a_e(r_q), (1/r) da_e/dr
        pq = np.empty((2, n_q, size))           # 2^(1-zeta) (1 + lambda cos)^zeta, d/dcos
        near = np.empty(size, np.int64)         # slots k with r_jk < r_c of the current row
        cg = np.empty((15, size))               # geo rows of those slots, packed (G4 only)
        cfac = np.empty((n_eta, size))          # their a_e(r_k)
        cpq = np.empty((2, n_q, size))          # their angular powers
        n_mono = mom_int.shape[0] if n_max >= min_neighbours else 0  # moment path scratch, if used:
        mono = np.empty((size, n_mono))         # monomials u^a of each slot's r^
        coef = np.empty((n_eta, n_elements, n_mono))  # C_a per eta and element group
        rows = np.empty((n_elements, n_mono, g5_eta.shape[0] * 5))  # per G5 set: P, sum n b_n p_n, grad P
        row_out = np.empty(g5_eta.shape[0] * 5)  # ... at the current row's r_j^
        wt = np.empty((9, size))                # weights of a row's dot products
        s = np.empty((n_feat + 1, size))        # gradient of column k wrt neighbour q:
        v = np.empty((3, n_feat + 1, size))     #   s[k, q] * r_q + v[:, k, q]
        val = np.empty(n_feat + 1)              # (column n_feat: a sink for unused lanes)
        for i in range(c * chunk, min(n_atoms, (c + 1) * chunk)):
            n = _load_centre(i, offsets, neighbor, vector, distance, element, rc, kind, radial,
                             eta_tab, real, loc, elem, group, fill, geo, fac, s, v, val)
            moments = mom_int.shape[0] > 0 and n >= min_neighbours  # G5 by moments (kernel notes)
            if n_angular > 0:
                _angular(n, n_elements, n_elements * radial.shape[0], n_angular, rc, kind, q_tab,
                         eta_tab, blocks, real, elem, group, geo, fac, pq, wt, s, v, val,
                         near, cg, cfac, cpq, moments, mom_int, mom_flt, g5_poly, g5_eta, mono, coef, rows,
                         row_out)
            _store_centre(i, n, offsets[i], neighbor, real, loc, geo, s, v, val, values, item,
                          atom, jac)


@numba.njit(cache=True, fastmath=_CONTRACT, error_model="numpy")
def _load_centre(i, offsets, neighbor, vector, distance, element, rc, kind, radial, eta_tab,
                 real, loc, elem, group, fill, geo, fac, s, v, val):
    """Place centre i's neighbours into local slots grouped by element, each group padded
    to a multiple of _LANES slots with zero-weight fillers (so vector loops over a group
    have no remainder); add G2 with its gradient and compute the per-neighbour angular
    factors. Returns the number of neighbours n."""
    start = offsets[i]
    n = offsets[i + 1] - start
    n_elements = group.shape[0] - 1
    group[:] = 0
    for p in range(start, start + n):
        group[element[neighbor[p]] + 1] += 1
    for e in range(n_elements):  # padded starts
        group[e + 1] = group[e] + (group[e + 1] + _LANES - 1) // _LANES * _LANES
    size = group[n_elements]
    geo[:, :size] = 0.0  # fillers: zero vector (so cos = 0) and 1/r = 0
    elem[:size] = 0
    fill[:] = group[:n_elements]
    for p in range(start, start + n):
        e = element[neighbor[p]]
        real[p - start] = fill[e]
        loc[fill[e]] = p
        elem[fill[e]] = e
        fill[e] += 1
    val[:] = 0.0
    s[:, :size] = 0.0
    v[:, :, :size] = 0.0
    geo[_R, :size] = rc  # fillers sit at the cutoff: f_c = 0, so they add nothing
    for t in range(n):
        q = real[t]
        p = loc[q]
        geo[_X, q], geo[_Y, q], geo[_Z, q] = vector[p, 0], vector[p, 1], vector[p, 2]
        geo[_R, q] = distance[p]
        geo[_IR, q] = 1.0 / distance[p]
    ku = np.uint64(size)
    if kind == cutoffs.COS:  # one loop per kind: each inlines and vectorises
        for q in range(ku):
            geo[_FCI, q], geo[_DFCI, q] = _cos_cutoff(geo[_R, q], rc)
    elif kind == cutoffs.TANH:
        for q in range(ku):
            geo[_FCI, q], geo[_DFCI, q] = _tanh_cutoff(geo[_R, q], rc)
    else:
        for q in range(ku):
            geo[_FCI, q], geo[_DFCI, q] = _poly_cutoff(geo[_R, q], rc)
    for e in range(eta_tab.shape[1]):
        eta = eta_tab[0, e]
        for q in range(ku):
            r = geo[_R, q]
            fac[0, e, q], fac[1, e, q] = _gaussian_cutoff(r * r, eta, geo[_FCI, q], geo[_DFCI, q] / r)
    n_radial = radial.shape[0]
    for grp in range(n_elements):
        q0, q1 = np.uint64(group[grp]), np.uint64(group[grp + 1])
        for m in range(n_radial):
            col = grp * n_radial + m
            for q in range(q0, q1):
                r = geo[_R, q]
                g, dg = _radial_term(r, radial[m, 0], radial[m, 1], geo[_FCI, q], geo[_DFCI, q])
                geo[_TMP, q] = g
                s[col, q] = dg / r
            for q in range(q0, q1):
                val[col] += geo[_TMP, q]
    return n


@numba.njit(cache=True, fastmath=_CONTRACT, error_model="numpy")
def _angular(n, n_elements, col_radial, n_angular, rc, kind, q_tab, eta_tab, blocks, real, elem,
             group, geo, fac, pq, wt, s, v, val, near, cg, cfac, cpq, moments, mom_int, mom_flt,
             g5_poly, g5_eta, mono, coef, rows, row_out):
    """All angular sets of the current centre, one row j at a time.

    Row j covers the ordered pairs (j, k), k != j, with k in one element group at a time
    (columns of that element pair, after the ``col_radial`` G2s): values, and the gradient
    with respect to neighbour j. For a pair term T = P(cos) a(r_j) a(r_k) [a(r_jk)]
    (review Eqs. 3-4), with bond vectors r_j, r_k from the centre:
        dT/dr_j = dT/dcos (r_k / (r_j r_k) - cos r_j / r_j^2) + dT/d|r_j| r_j / |r_j|
                  + dT/dr_jk (r_j - r_k) / r_jk.
    Summed over k, each part is a dot product of per-k weights (``wt``) with P or dP/dcos.
    G4 carries f_c(r_jk), so only the k with r_jk < r_c add to it (about half of them in a
    dense solid); those are packed into ``cg``, ``cfac``, ``cpq`` (``near`` holds their
    slots), padded to _LANES with zero-weight entries, and the G4 loops run over them only.
    G5 takes the moment path with ``moments`` (kernel notes; the caller decides per centre),
    else the pair loops.
    (One function for all rows: Numba then reference-counts the scratch arrays once.)
    """
    n_g4 = int(blocks[:, 0].sum())  # G4 blocks (first), then G5 blocks
    n_g5 = blocks.shape[0] - n_g4
    first_g5 = n_angular - g5_eta.shape[0]  # angular set index of the first G5 set
    if moments:
        _g5_moments(group, geo, fac, eta_tab, mom_int, mom_flt, g5_poly, g5_eta, mono, coef, rows)
    rc2 = rc * rc
    for t in range(n):
        j = real[t]
        for grp in range(n_elements):
            k0, k1 = group[grp], group[grp + 1]
            if k0 == k1:
                continue
            lo, hi = min(elem[j], grp), max(elem[j], grp)
            col0 = col_radial + (lo * n_elements - lo * (lo - 1) // 2 + hi - lo) * n_angular
            ku0, ku1, ju = np.uint64(k0), np.uint64(k1), np.uint64(j)
            xj, yj, zj, irj = geo[_X, j], geo[_Y, j], geo[_Z, j], geo[_IR, j]
            if moments:
                same = elem[j] == grp
                _moment_row(rows, grp, mono, j, row_out)
                for i in range(g5_eta.shape[0]):
                    e = g5_eta[i]
                    aj, daj = fac[0, e, j], fac[1, e, j]
                    pv = row_out[5 * i]
                    value, along = aj * pv, daj * pv - aj * irj * irj * row_out[5 * i + 1]
                    if same:  # the k = j term of the moments (cos = 1)
                        p1 = g5_poly[i, g5_poly.shape[1] - 1]
                        value -= p1 * aj * aj
                        along -= p1 * aj * daj
                    u = aj * irj
                    _add_set(j, col0, first_g5 + i, value, along, u * row_out[5 * i + 2], u * row_out[5 * i + 3],
                             u * row_out[5 * i + 4], s, v, val)
            elif n_g5 > 0:
                for k in range(ku0, ku1):
                    inv = irj * geo[_IR, k]
                    c = (xj * geo[_X, k] + yj * geo[_Y, k] + zj * geo[_Z, k]) * inv
                    geo[_INV, k] = inv
                    geo[_COS, k] = c
                    geo[_CJ, k] = -c * irj * irj  # d cos / d r_j, the part along r_j (over r_j)
                    geo[_MASK, k] = 0.0 if k == ju else 1.0
                _powers(geo, ku0, ku1, q_tab, pq)
                e_done = -1
                for b in range(n_g4, blocks.shape[0]):  # G5 blocks, grouped by eta
                    e = blocks[b, 1]
                    if e != e_done:  # weights of this eta
                        e_done = e
                        for k in range(ku0, ku1):
                            u = fac[0, e, k] * geo[_MASK, k]
                            wt[0, k] = u
                            wt[1, k] = u * geo[_CJ, k]
                            u *= geo[_INV, k]
                            wt[2, k] = u * geo[_X, k]
                            wt[3, k] = u * geo[_Y, k]
                            wt[4, k] = u * geo[_Z, k]
                    _dots_g5(j, k0, k1, col0, blocks, b, fac[0, e, j], fac[1, e, j], pq, wt, s, v, val)
            if n_g4 == 0:
                continue
            for k in range(ku0, ku1):  # r_jk^2, and which k are near j (not j, not a filler)
                dx, dy, dz = geo[_X, k] - xj, geo[_Y, k] - yj, geo[_Z, k] - zj
                r2 = dx * dx + dy * dy + dz * dz
                geo[_RJK, k] = r2
                geo[_TMP, k] = 1.0 if r2 < rc2 and k != ju and geo[_IR, k] > 0.0 else 0.0
            m = 0
            for k in range(ku0, ku1):  # branch-free packing of the near slots
                near[m] = k
                m += geo[_TMP, k] > 0.0
            n_near = (m + _LANES - 1) // _LANES * _LANES
            for i in range(m):
                k = near[i]
                for row in (_X, _Y, _Z, _IR, _RJK):
                    cg[row, i] = geo[row, k]
                for e in range(cfac.shape[0]):
                    cfac[e, i] = fac[0, e, k]
            for i in range(m, n_near):  # padding: at r_jk = r_c with a = 0, so it adds nothing
                for row in (_X, _Y, _Z, _IR):
                    cg[row, i] = 0.0
                cg[_RJK, i] = rc2
                for e in range(cfac.shape[0]):
                    cfac[e, i] = 0.0
            nu = np.uint64(n_near)
            for k in range(nu):
                inv = irj * cg[_IR, k]
                c = (xj * cg[_X, k] + yj * cg[_Y, k] + zj * cg[_Z, k]) * inv
                cg[_INV, k] = inv
                cg[_COS, k] = c
                cg[_CJ, k] = -c * irj * irj
            # one loop per cutoff kind: the cutoff inlines and the loop vectorises
            if kind == cutoffs.COS:
                for k in range(nu):
                    r = math.sqrt(cg[_RJK, k])
                    fc, dfc = _cos_cutoff(r, rc)
                    cg[_FC, k], cg[_DFC, k] = fc, dfc / r
            elif kind == cutoffs.TANH:
                for k in range(nu):
                    r = math.sqrt(cg[_RJK, k])
                    fc, dfc = _tanh_cutoff(r, rc)
                    cg[_FC, k], cg[_DFC, k] = fc, dfc / r
            else:
                for k in range(nu):
                    r = math.sqrt(cg[_RJK, k])
                    fc, dfc = _poly_cutoff(r, rc)
                    cg[_FC, k], cg[_DFC, k] = fc, dfc / r
            _powers(cg, np.uint64(0), nu, q_tab, cpq)
            e_done = -1
            for b in range(n_g4):  # G4 blocks, grouped by eta
                e = blocks[b, 1]
                aj, daj = fac[0, e, j], fac[1, e, j]
                if e != e_done:
                    e_done = e
                    eta = eta_tab[0, e]
                    for k in range(nu):
                        g, h = _gaussian_cutoff(cg[_RJK, k], eta, cg[_FC, k], cg[_DFC, k])
                        u = cfac[e, k] * g
                        h *= cfac[e, k]
                        wt[0, k] = u
                        wt[1, k] = aj * u * cg[_CJ, k]
                        wt[2, k] = daj * u + aj * h
                        u *= cg[_INV, k]
                        wt[3, k] = u * cg[_X, k]
                        wt[4, k] = u * cg[_Y, k]
                        wt[5, k] = u * cg[_Z, k]
                        wt[6, k] = h * cg[_X, k]
                        wt[7, k] = h * cg[_Y, k]
                        wt[8, k] = h * cg[_Z, k]
                _dots_g4(j, 0, n_near, col0, blocks, b, aj, cpq, wt, s, v, val)


@numba.njit(cache=True, fastmath=_CONTRACT, error_model="numpy")
def _g5_moments(group, geo, fac, eta_tab, mom_int, mom_flt, g5_poly, g5_eta, mono, coef, rows):
    """Moment path of G5 (kernel notes), once per centre: ``mono`` [slots, M], the monomials
    u^a of every slot's unit bond vector (fillers: u = 0); ``coef`` [eta, group, M], the
    coefficients C_a = n!/a! sum_k a_e(r_k) u_k^a of each element group and G5 eta; and
    ``rows`` [group, M, 5 set + q], per element group and G5 set the coefficients, over the
    monomials u^a, of P(u) = sum_n b_n p_n(u) (q = 0), of sum_n n b_n p_n(u) (q = 1), and of
    the three components of grad P(u) (q = 2-4; u^a - e_c of a term C_a u^a moves to
    u^(a - e_c) with factor a_c)."""
    size = group[group.shape[0] - 1]
    n_mono = mom_int.shape[0]
    for k in range(size):
        mono[k, 0] = 1.0
        if n_mono > 1:  # degree 1: the unit vector itself
            ir = geo[_IR, k]
            mono[k, 1], mono[k, 2], mono[k, 3] = geo[_X, k] * ir, geo[_Y, k] * ir, geo[_Z, k] * ir
        for a in range(4, n_mono):
            mono[k, a] = mono[k, mom_int[a, 1]] * mono[k, 1 + mom_int[a, 2]]
    for e in range(eta_tab.shape[1]):
        if eta_tab[2, e] == 0.0:
            continue
        for grp in range(group.shape[0] - 1):
            coef[e, grp, :] = 0.0
            for k in range(group[grp], group[grp + 1]):
                w = fac[0, e, k]
                for a in range(n_mono):
                    coef[e, grp, a] += w * mono[k, a]
            for a in range(n_mono):
                coef[e, grp, a] *= mom_flt[a, 0]
    rows[:] = 0.0
    for grp in range(group.shape[0] - 1):
        for i in range(g5_eta.shape[0]):
            for a in range(n_mono):
                d = mom_int[a, 0]
                term = g5_poly[i, d] * coef[g5_eta[i], grp, a]
                rows[grp, a, 5 * i] = term
                rows[grp, a, 5 * i + 1] = d * term
                for axis in range(3):  # a_axis = 0 adds nothing (lower index 0, factor 0)
                    rows[grp, mom_int[a, 3 + axis], 5 * i + 2 + axis] += mom_flt[a, 1 + axis] * term


@numba.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _moment_row(rows, grp, mono, j, out):
    """``out`` [5 set + q]: the five polynomials of every G5 set of ``rows[grp]`` at slot j's
    monomials, accumulated monomial by monomial: vectors over the 5 x sets outputs, without
    the horizontal sums that one dot product per output needs (Cu-108, 8 G5 sets: the whole
    kernel 107 -> 100 µs/atom)."""
    out[:] = 0.0
    for a in range(rows.shape[1]):
        m = mono[j, a]
        for iq in range(rows.shape[2]):
            out[iq] += rows[grp, a, iq] * m


@numba.njit(cache=True, fastmath=_CONTRACT, error_model="numpy")
def _powers(rows, k0, k1, q_tab, out):
    """2^(1-zeta) (1 + lambda cos)^zeta and its cos-derivative for every (zeta, lambda) of
    ``q_tab`` and slots k0..k1 of the cos row of ``rows``, into ``out`` [2, Q, slots]."""
    for q in range(q_tab.shape[1]):
        zeta, lam, pref = q_tab[0, q], q_tab[1, q], q_tab[2, q]
        for k in range(k0, k1):
            pw, dpw = _angular_power(rows[_COS, k], zeta, lam)
            out[0, q, k] = pref * pw
            out[1, q, k] = pref * dpw


@numba.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _dots_g5(j, k0, k1, col0, blocks, b, aj, daj, pq, wt, s, v, val):
    """Up to four G5 sets of one eta (row b of the ``blocks`` table) in one pass.

    Per set: value += a_j sum_k u P; gradient wrt j: 2 (a_j sum u cj dP + da_j sum u P)
    along r_j plus 2 a_j sum u/(r_j r_k) r_k dP (``wt`` rows 0-4; the 2: kernel notes).
    The four sets are written out so that LLVM keeps all 20 sums in registers.
    """
    qa, qb, qc, qd = blocks[b, 6], blocks[b, 7], blocks[b, 8], blocks[b, 9]
    va = vb = vc = vd = 0.0  # sum u P
    ca = cb = cc = cd = 0.0  # sum u cj dP
    xa = xb = xc = xd = 0.0  # sum u inv x dP, and y, z
    ya = yb = yc = yd = 0.0
    za = zb = zc = zd = 0.0
    for k in range(np.uint64(k0), np.uint64(k1)):
        u, uc, ux, uy, uz = wt[0, k], wt[1, k], wt[2, k], wt[3, k], wt[4, k]
        pa, pb, pc, pd = pq[0, qa, k], pq[0, qb, k], pq[0, qc, k], pq[0, qd, k]
        da, db, dc, dd = pq[1, qa, k], pq[1, qb, k], pq[1, qc, k], pq[1, qd, k]
        va += u * pa
        vb += u * pb
        vc += u * pc
        vd += u * pd
        ca += uc * da
        cb += uc * db
        cc += uc * dc
        cd += uc * dd
        xa += ux * da
        xb += ux * db
        xc += ux * dc
        xd += ux * dd
        ya += uy * da
        yb += uy * db
        yc += uy * dc
        yd += uy * dd
        za += uz * da
        zb += uz * db
        zc += uz * dc
        zd += uz * dd
    _add_set(j, col0, blocks[b, 2], aj * va, aj * ca + daj * va, aj * xa, aj * ya, aj * za, s, v, val)
    _add_set(j, col0, blocks[b, 3], aj * vb, aj * cb + daj * vb, aj * xb, aj * yb, aj * zb, s, v, val)
    _add_set(j, col0, blocks[b, 4], aj * vc, aj * cc + daj * vc, aj * xc, aj * yc, aj * zc, s, v, val)
    _add_set(j, col0, blocks[b, 5], aj * vd, aj * cd + daj * vd, aj * xd, aj * yd, aj * zd, s, v, val)


@numba.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _dots_g4(j, k0, k1, col0, blocks, b, aj, pq, wt, s, v, val):
    """Up to four G4 sets of one eta in one pass: as :func:`_dots_g5` with the factor
    a(r_jk) in the weights and the chain rule through r_jk (``wt`` rows 0-8)."""
    qa, qb, qc, qd = blocks[b, 6], blocks[b, 7], blocks[b, 8], blocks[b, 9]
    va = vb = vc = vd = 0.0  # sum u P
    ca = cb = cc = cd = 0.0  # sum (a_j u cj dP + (da_j u + a_j h) P)
    xa = xb = xc = xd = 0.0  # sum (u inv x dP - h x P), and y, z
    ya = yb = yc = yd = 0.0
    za = zb = zc = zd = 0.0
    for k in range(np.uint64(k0), np.uint64(k1)):
        u, uc, us = wt[0, k], wt[1, k], wt[2, k]
        ux, uy, uz, hx, hy, hz = wt[3, k], wt[4, k], wt[5, k], wt[6, k], wt[7, k], wt[8, k]
        pa, pb, pc, pd = pq[0, qa, k], pq[0, qb, k], pq[0, qc, k], pq[0, qd, k]
        da, db, dc, dd = pq[1, qa, k], pq[1, qb, k], pq[1, qc, k], pq[1, qd, k]
        va += u * pa
        vb += u * pb
        vc += u * pc
        vd += u * pd
        ca += uc * da + us * pa
        cb += uc * db + us * pb
        cc += uc * dc + us * pc
        cd += uc * dd + us * pd
        xa += ux * da - hx * pa
        xb += ux * db - hx * pb
        xc += ux * dc - hx * pc
        xd += ux * dd - hx * pd
        ya += uy * da - hy * pa
        yb += uy * db - hy * pb
        yc += uy * dc - hy * pc
        yd += uy * dd - hy * pd
        za += uz * da - hz * pa
        zb += uz * db - hz * pb
        zc += uz * dc - hz * pc
        zd += uz * dd - hz * pd
    _add_set(j, col0, blocks[b, 2], aj * va, ca, aj * xa, aj * ya, aj * za, s, v, val)
    _add_set(j, col0, blocks[b, 3], aj * vb, cb, aj * xb, aj * yb, aj * zb, s, v, val)
    _add_set(j, col0, blocks[b, 4], aj * vc, cc, aj * xc, aj * yc, aj * zc, s, v, val)
    _add_set(j, col0, blocks[b, 5], aj * vd, cd, aj * xd, aj * yd, aj * zd, s, v, val)


@numba.njit(cache=True)
def _add_set(j, col0, m, value, along, gx, gy, gz, s, v, val):
    """Add a row's value and (doubled) gradient wrt neighbour j to column col0 + m; an
    unused lane (m = -1) writes to the sink column (no branch: keeps Numba's reference
    counting out of the hot loop)."""
    used = m >= 0
    col = used * (col0 + m) + (1 - used) * (val.shape[0] - 1)
    val[col] += value
    s[col, j] += 2.0 * along
    v[0, col, j] += 2.0 * gx
    v[1, col, j] += 2.0 * gy
    v[2, col, j] += 2.0 * gz


@numba.njit(cache=True, fastmath=_CONTRACT, error_model="numpy")
def _store_centre(i, n, start, neighbor, real, loc, geo, s, v, val, values, item, atom, jac):
    """Write row i of ``values`` and centre i's blocks: self block ``start + i``, then the
    block ``p + i + 1`` of pair p; the self block is minus the sum of the others."""
    n_feat = values.shape[1]
    b0 = start + i
    item[b0] = i
    atom[b0] = i
    for col in range(n_feat):
        values[i, col] = val[col]
        jac[b0, col, 0] = 0.0
        jac[b0, col, 1] = 0.0
        jac[b0, col, 2] = 0.0
    for t in range(n):
        q = real[t]
        p = loc[q]
        b = p + i + 1
        item[b] = i
        atom[b] = neighbor[p]
        x, y, z = geo[_X, q], geo[_Y, q], geo[_Z, q]
        for col in range(n_feat):
            gx = s[col, q] * x + v[0, col, q]
            gy = s[col, q] * y + v[1, col, q]
            gz = s[col, q] * z + v[2, col, q]
            jac[b, col, 0] = gx
            jac[b, col, 1] = gy
            jac[b, col, 2] = gz
            jac[b0, col, 0] -= gx
            jac[b0, col, 1] -= gy
            jac[b0, col, 2] -= gz


# --- per-centre bodies (plain; ACSF's CUDA kernel, wACSF's CPU and CUDA kernels) -----------
#
# The tuned CPU kernel above keeps its own slot layout and SIMD loops; a CUDA thread has no
# vector lanes to fill and little fast memory for the per-centre slot scratch, so the CUDA
# thread of a centre runs these plain bodies instead: the same scalar math (cutoffs,
# radial_term, gaussian_cutoff, angular_power), the same sums (each unordered pair of
# neighbour entries counted twice) and the same block layout, accumulated in place.


def add_radial(i, b, q, col0, w, r, fc, dfc, radial, vector, values, jac):
    """Add w times every radial set of neighbour entry q (distance r, cutoff fc, dfc) to row
    i, columns col0.., and its gradient to block b."""
    for m in range(radial.shape[0]):
        v, dv = radial_term(r, radial[m, 0], radial[m, 1], fc, dfc)
        values[i, col0 + m] += w * v
        s = w * dv / r
        for c in range(3):
            jac[b, col0 + m, c] += s * vector[q, c]


def triplet_term(p, dp, cos, inv, rt, rk, at, dat, ak, dak, g, dg):
    """One angular term T = P(cos) a(r_t) a(r_k) g(r_tk) of neighbour entries t, k and the
    coefficients of its gradients (review Eqs. 3-4; G5: g = 1, dg = 0).

    With bond vectors r_t, r_k, d = r_k - r_t and d cos / d r_t = r_k / (r_t r_k) - cos r_t / r_t^2:
        dT/dr_t = s_t r_t + c_cos r_k - c_jk d,    dT/dr_k = s_k r_k + c_cos r_t + c_jk d.

    Args:
        p, dp: P(cos) and dP/dcos (prefactors included); cos; inv = 1 / (r_t r_k);
        rt, rk: bond lengths; at, dat, ak, dak: a(r) and (1/r) da/dr of each bond;
        g, dg: g(r_tk) and (1/r_tk) dg/dr_tk.

    Returns:
        (T, s_t, s_k, c_cos, c_jk).
    """
    aa = at * ak
    c_cos = dp * aa * g * inv
    s_t = p * dat * ak * g - dp * aa * g * cos / (rt * rt)
    s_k = p * at * dak * g - dp * aa * g * cos / (rk * rk)
    return p * aa * g, s_t, s_k, c_cos, p * aa * dg


def add_triplet(jac, bt, bk, col, s_t, s_k, c_cos, c_jk, vector, qt, qk, dx, dy, dz):
    """Add the gradients of :func:`triplet_term` to column col of blocks bt (entry qt) and bk
    (entry qk); (dx, dy, dz) = r_k - r_t."""
    xt, yt, zt, xk, yk, zk = vector[qt, 0], vector[qt, 1], vector[qt, 2], vector[qk, 0], vector[qk, 1], vector[qk, 2]
    jac[bt, col, 0] += s_t * xt + c_cos * xk - c_jk * dx
    jac[bt, col, 1] += s_t * yt + c_cos * yk - c_jk * dy
    jac[bt, col, 2] += s_t * zt + c_cos * zk - c_jk * dz
    jac[bk, col, 0] += s_k * xk + c_cos * xt + c_jk * dx
    jac[bk, col, 1] += s_k * yk + c_cos * yt + c_jk * dy
    jac[bk, col, 2] += s_k * zk + c_cos * zt + c_jk * dz


def clear_centre(i, b0, n, values, jac):
    """Zero row i of ``values`` and the blocks b0 .. b0 + n of a centre with n pairs (its
    outputs, before the bodies accumulate into them)."""
    for col in range(values.shape[1]):
        values[i, col] = 0.0
    for b in range(b0, b0 + n + 1):
        for col in range(jac.shape[1]):
            for c in range(3):
                jac[b, col, c] = 0.0


def subtract_neighbour_blocks(jac, b0, n):
    """Translation invariance: subtract the n neighbour blocks b0 + 1 .. b0 + n from the
    centre's block b0 (zero before)."""
    for t in range(n):
        for col in range(jac.shape[1]):
            for c in range(3):
                jac[b0, col, c] -= jac[b0 + 1 + t, col, c]


def acsf_triplet(i, qt, qk, neighbor, vector, distance, element, n_elements, col_radial, rc, kind, angular,
                 values, jac):
    """Add the unordered pair of neighbour entries qt < qk of centre i to every angular set
    (``angular`` rows: eta, zeta, lambda, 2^(1-zeta), 1 for G4 / 0 for G5), counted twice
    (the ordered-pair sum), to row i and blocks qt + i + 1, qk + i + 1."""
    rt, rk = distance[qt], distance[qk]
    dx, dy, dz = vector[qk, 0] - vector[qt, 0], vector[qk, 1] - vector[qt, 1], vector[qk, 2] - vector[qt, 2]
    rjk2 = dx * dx + dy * dy + dz * dz
    rjk = math.sqrt(rjk2)
    inv = 1.0 / (rt * rk)
    cos = (vector[qt, 0] * vector[qk, 0] + vector[qt, 1] * vector[qk, 1] + vector[qt, 2] * vector[qk, 2]) * inv
    fct, dfct = cutoff_of_kind(rt, rc, kind)
    fck, dfck = cutoff_of_kind(rk, rc, kind)
    fjk, dfjk = cutoff_of_kind(rjk, rc, kind)  # 0 beyond r_c: G4 terms vanish there, G5 terms do not
    et, ek = element[neighbor[qt]], element[neighbor[qk]]
    lo, hi = min(et, ek), max(et, ek)
    col0 = col_radial + (lo * n_elements - lo * (lo - 1) // 2 + hi - lo) * angular.shape[0]
    for m in range(angular.shape[0]):
        eta = angular[m, 0]
        at, dat = gaussian_cutoff(rt * rt, eta, fct, dfct / rt)
        ak, dak = gaussian_cutoff(rk * rk, eta, fck, dfck / rk)
        g, dg = 1.0, 0.0
        if angular[m, 4] > 0.0:
            g, dg = gaussian_cutoff(rjk2, eta, fjk, dfjk / rjk)
        pw, dpw = angular_power(cos, angular[m, 1], angular[m, 2])
        pref = 2.0 * angular[m, 3]  # the ordered pairs (t, k) and (k, t)
        v, s_t, s_k, c_cos, c_jk = triplet_term(pref * pw, pref * dpw, cos, inv, rt, rk, at, dat, ak, dak, g, dg)
        values[i, col0 + m] += v
        add_triplet(jac, qt + i + 1, qk + i + 1, col0 + m, s_t, s_k, c_cos, c_jk, vector, qt, qk, dx, dy, dz)


def acsf_centre(i, offsets, neighbor, vector, distance, element, n_elements, rc, kind, radial, angular, values,
                jac):
    """Row i of ``values`` and centre i's blocks (``offsets[i] + i``, then ``p + i + 1`` per
    pair p: the layout of :func:`_store_centre`)."""
    start, stop = offsets[i], offsets[i + 1]
    n_radial = radial.shape[0]
    clear_centre(i, start + i, stop - start, values, jac)
    for q in range(start, stop):
        fc, dfc = cutoff_of_kind(distance[q], rc, kind)
        add_radial(i, q + i + 1, q, element[neighbor[q]] * n_radial, 1.0, distance[q], fc, dfc, radial, vector,
                   values, jac)
    for qt in range(start, stop if angular.shape[0] > 0 else start):
        for qk in range(qt + 1, stop):
            acsf_triplet(i, qt, qk, neighbor, vector, distance, element, n_elements, n_elements * n_radial, rc, kind,
                         angular, values, jac)
    subtract_neighbour_blocks(jac, start + i, stop - start)


#: plain bodies of the CUDA kernel (the CPU kernel compiles ``_SCALAR_FUNCTIONS`` only)
_CUDA_FUNCTIONS = (cutoffs.sin_cos_half_pi, cutoffs.cos_cutoff, cutoffs.tanh_cutoff, cutoffs.poly_cutoff,
                   cutoffs.cutoff_of_kind, exp_nonpositive, radial_term, gaussian_cutoff, integer_power,
                   angular_power, add_radial, triplet_term, add_triplet, clear_centre, subtract_neighbour_blocks,
                   acsf_triplet, acsf_centre)


def _acsf_cuda(offsets, neighbor, vector, distance, element, n_elements, rc, kind, radial, angular, values, jac):
    """CUDA loop kernel: one thread per centre."""
    i = thread_index()
    if i < offsets.shape[0] - 1:
        acsf_centre(i, offsets, neighbor, vector, distance, element, n_elements, rc, kind, radial, angular, values,
                    jac)
