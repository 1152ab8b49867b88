"""Long-range electrostatics and dispersion kernels of 3G/4G potentials (review section 4).

The public entry points of three modules, gathered under the name the design uses; each
is implemented once, in its own module:

- :func:`coulomb_matrix` (:mod:`descriptors.coulomb`): the Coulomb matrix A(R) of point,
  Gaussian (erf-screened) or PhysNet-shielded charges, for molecules and clusters, with its
  COO position Jacobian; ``E = 1/2 q^T A q``.
- :func:`ewald_matrix` (:mod:`descriptors.ewald`): the same matrix of a 3-d periodic
  (triclinic) cell by Ewald summation, splitting parameter and cut-offs chosen from a
  requested accuracy; charged cells get a uniform neutralising background.
- :func:`d2` (:mod:`descriptors.d2`): Grimme's D2 dispersion as per-atom energies with
  their Jacobian.

Scaling: A is dense in atom pairs, O(n^2) memory and time per structure (O(n^2 (n_images +
n_k)) for Ewald), practical up to about a thousand atoms; see :mod:`descriptors.coulomb` for
figures and what to use beyond. D2 works on a neighbour list: O(n) at fixed density.
"""

from descriptors.coulomb import K_E, CoulombParams, coulomb_matrix, n_entries, triangle_indices
from descriptors.d2 import C6, R0, D2Params, d2
from descriptors.ewald import ewald_matrix, ewald_setup

__all__ = ["K_E", "CoulombParams", "coulomb_matrix", "n_entries", "triangle_indices", "ewald_matrix",
           "ewald_setup", "C6", "R0", "D2Params", "d2"]
