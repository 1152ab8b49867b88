"""Scalar cutoff functions f_c(r) and their derivatives d f_c / d r (plain ``math`` bodies).

Every body here uses only ``math`` and its siblings, so one body serves every Numba target:
:func:`compile_scalar` compiles a family of such functions with ``numba.njit`` (CPU) or,
later, ``numba.cuda.jit(device=True)`` (CUDA), keeping the calls between them. The bodies
have no data-dependent branch a compiler cannot turn into a select, so loops calling them
vectorise (except tanh, which calls libm).

Each ``*_cutoff(r, rc)`` returns ``(f_c(r), d f_c / d r)``: f_c is 0 with zero slope at
r = r_c and 0 beyond. Distances in Å, derivatives in 1/Å.

References:
    J. Behler, J. Chem. Phys. 134, 074106 (2011): the cosine and tanh^3 cutoff functions
    (also in the review Kocer, Ko, Behler, Annu. Rev. Phys. Chem. 73, 163 (2022)).
    A. Singraber et al., J. Chem. Theory Comput. 15, 1827 (2019) and the n2p2 documentation
    (cutoff type ``CT_POLY2``): the quintic polynomial cutoff.
"""

import math

#: integer codes of the cutoff kinds, as passed to compiled kernels
COS = 0
TANH = 1
POLY = 2
KINDS = {"cos": COS, "tanh": TANH, "poly": POLY}


def cos_cutoff(r, rc):
    """Cosine cutoff 0.5 (cos(pi r / r_c) + 1) (Behler 2011); continuous 1st derivative.

    cos and sin of pi r / r_c come from :func:`sin_cos_half_pi` (a polynomial, ~4x faster
    than the two libm calls; this function is evaluated for every neighbour pair of every
    centre in G4).

    Returns:
        (f, df/dr), both 0 for r >= rc.
    """
    if r >= rc:
        return 0.0, 0.0
    # with u = pi (r / rc - 1/2) in [-pi/2, pi/2): cos(pi r/rc) = -sin u, sin(pi r/rc) = cos u
    s, c = sin_cos_half_pi(math.pi * (r / rc - 0.5))
    return 0.5 * (1.0 - s), -0.5 * math.pi / rc * c


def sin_cos_half_pi(u):
    """(sin u, cos u) for |u| <= pi/2 from their Taylor series to u^23 and u^22.

    The first omitted terms are below 1e-19 on this interval, so the result is exact to
    rounding (a few ulp). Horner's scheme in u^2 with the coefficients 1/n! as literals
    (folded at compile time).
    """
    u2 = u * u
    s = 1.0 / 25852016738884976640000.0  # 1/23!
    s = 1.0 / 51090942171709440000.0 - u2 * s
    s = 1.0 / 121645100408832000.0 - u2 * s
    s = 1.0 / 355687428096000.0 - u2 * s
    s = 1.0 / 1307674368000.0 - u2 * s
    s = 1.0 / 6227020800.0 - u2 * s
    s = 1.0 / 39916800.0 - u2 * s
    s = 1.0 / 362880.0 - u2 * s
    s = 1.0 / 5040.0 - u2 * s
    s = 1.0 / 120.0 - u2 * s
    s = 1.0 / 6.0 - u2 * s
    s = 1.0 / 1.0 - u2 * s
    c = 1.0 / 1124000727777607680000.0  # 1/22!
    c = 1.0 / 2432902008176640000.0 - u2 * c
    c = 1.0 / 6402373705728000.0 - u2 * c
    c = 1.0 / 20922789888000.0 - u2 * c
    c = 1.0 / 87178291200.0 - u2 * c
    c = 1.0 / 479001600.0 - u2 * c
    c = 1.0 / 3628800.0 - u2 * c
    c = 1.0 / 40320.0 - u2 * c
    c = 1.0 / 720.0 - u2 * c
    c = 1.0 / 24.0 - u2 * c
    c = 1.0 / 2.0 - u2 * c
    c = 1.0 / 1.0 - u2 * c
    return s * u, c


def tanh_cutoff(r, rc):
    """Hyperbolic-tangent cutoff tanh^3(1 - r / r_c) (Behler 2011), unnormalised.

    f(0) = tanh^3(1) ~= 0.44 as in the paper (n2p2's ``CT_TANHU``); continuous 2nd
    derivative at r_c.

    Returns:
        (f, df/dr), both 0 for r >= rc.
    """
    if r >= rc:
        return 0.0, 0.0
    t = math.tanh(1.0 - r / rc)
    return t * t * t, -3.0 * t * t * (1.0 - t * t) / rc


def poly_cutoff(r, rc):
    """Quintic polynomial cutoff 1 - 10 x^3 + 15 x^4 - 6 x^5 with x = r / r_c.

    n2p2's ``CT_POLY2`` with no inner cutoff, f(x) = ((15 - 6x) x - 10) x^3 + 1: value,
    1st and 2nd derivative are continuous at x = 0 and x = 1.

    Returns:
        (f, df/dr), both 0 for r >= rc.
    """
    if r >= rc:
        return 0.0, 0.0
    x = r / rc
    x2 = x * x
    return ((15.0 - 6.0 * x) * x - 10.0) * x2 * x + 1.0, -30.0 * x2 * (1.0 - x) * (1.0 - x) / rc


def cutoff_of_kind(r, rc, kind):
    """(f_c(r), d f_c / d r) of the cutoff with integer code ``kind`` (COS, TANH or POLY).

    For kernels that are not vectorised over neighbours (where a branch per call costs
    nothing); vectorised loops choose the kind outside the loop instead.
    """
    if kind == COS:
        return cos_cutoff(r, rc)
    if kind == TANH:
        return tanh_cutoff(r, rc)
    return poly_cutoff(r, rc)


def compile_scalar(functions, jit):
    """Compile plain scalar functions that call each other by name, for one Numba target.

    Each function is rebuilt over a shared namespace holding ``math``, the integer and float
    constants of its module and the compiled versions of all ``functions``, then compiled
    with ``jit``. The same bodies can thus be compiled for the CPU (``numba.njit``) and for
    CUDA (``numba.cuda.jit(device=True)``) without copying them.

    Numba's on-disk cache of a kernel calling these keys on the kernel's own source file:
    after editing a body here, delete that module's ``__pycache__/*.nbi`` files.

    Args:
        functions: plain Python functions (from any module) using only ``math``, module
            constants and each other.
        jit: a decorator, e.g. ``numba.njit`` or ``numba.cuda.jit(device=True)``.

    Returns:
        dict name -> compiled function.
    """
    namespace = {"math": math}
    for f in functions:
        namespace.update({k: v for k, v in f.__globals__.items()
                          if isinstance(v, (int, float)) and not isinstance(v, bool)})
    compiled = {}
    for f in functions:
        namespace["__name__"] = f.__module__  # read once, at rebuild: the function's module
        rebuilt = type(f)(f.__code__, namespace, f.__name__, f.__defaults__, f.__closure__)
        rebuilt.__qualname__, rebuilt.__doc__ = f.__qualname__, f.__doc__
        compiled[f.__name__] = jit(rebuilt)
    namespace.update(compiled)  # names are resolved when Numba compiles, i.e. after this
    return compiled
