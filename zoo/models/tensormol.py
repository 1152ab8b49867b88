"""TensorMol-0.1: charges learned from dipole moments, damped electrostatics and D2."""

from __future__ import annotations

import tensorflow as tf

from zoo import keys
from zoo.featurizers import D2Featurizer
from zoo.models.hdnnp3g import HDNNP3G
from zoo.registry import register

#: Å, default shielding cutoff of the damped Coulomb term (shielding ends at half of it)
DAMPING_CUTOFF = 6.0


@register("tensormol", generation="3G", descriptor="predefined", long_range=True,
          paper="K. Yao, J. E. Herr, D. W. Toth, R. Mckintyre, J. Parkhill, Chem. Sci. 9, 2261 (2018)")
class TensorMol(HDNNP3G):
    """TensorMol: HDNNP charges fitted to dipoles, damped Coulomb plus D2 plus short-range NN.

    ``E = E_short + E_elec + E_D2`` (Yao et al. 2018): ``E_short`` is a Behler–Parrinello
    network per element; the charges come from a second set of element networks on the
    same descriptors, shifted to the total charge, and are trained only through the
    dipole moment ``mu = sum_i q_i r_i`` (``dipole_weight``; no reference charges are
    used, so ``charges_weight`` defaults to 0 and the charges are whatever reproduces the
    dipoles). ``E_elec = 1/2 qᵀ A q`` with a Coulomb interaction damped at short range,
    where the short-range network describes the interaction; ``E_D2`` is Grimme's D2 with
    the Table 1 C6 and R0 (:mod:`descriptors.d2`) times ``s6``.

    Training: jointly on energy, forces and dipoles (the defaults), or in two steps as the
    paper does (dipoles first, then energies and forces with the charge networks frozen),
    exactly as for :class:`~zoo.models.hdnnp3g.HDNNP3G` with ``dipole_weight`` in place of
    ``charges_weight``.

    Deviations from the paper: TensorMol's descriptor is its own ANI-1-type symmetry
    function set; here the same automatic ACSF set as the HDNNPs is used, so that the
    three models differ only in their energy terms. TensorMol switches the Coulomb term on
    with its own polynomial between two radii; here the short-range damping is the smooth
    shielding of :mod:`descriptors.coulomb` (``"physnet"`` kind, ``1/sqrt(r² + 1)`` inside
    ``damping_cutoff / 2``), so the zoo keeps one damped-Coulomb kernel.

    Args:
        elements: atomic numbers (H to Xe, for D2).
        cutoff: ACSF cutoff radius (Å).
        damping_cutoff: Å, shielding cutoff of the Coulomb term.
        s6: scaling of the D2 energy (1: the bare C6 sum).
        d2_cutoff: Å, pairs beyond it do not enter D2.
        dipole_weight: weight of the dipole MSE (e⁻² Å⁻²); None (default): 1 when every
            training structure has a reference dipole, else 0 (decided by ``adapt``).
        charges_weight: weight of a charge MSE (0: charges are not fitted to charges).
        coulomb: explicit :class:`descriptors.coulomb.CoulombParams` dict (overrides
            ``damping_cutoff``).
        **kwargs: see :class:`~zoo.models.hdnnp3g.HDNNP3G`.
    """

    def __init__(self, elements, cutoff=6.0, damping_cutoff=DAMPING_CUTOFF, s6=1.0, d2_cutoff=15.0,
                 dipole_weight=None, charges_weight=0.0, coulomb=None, **kwargs):
        self.s6 = float(s6)
        self.d2_cutoff = float(d2_cutoff)
        self.damping_cutoff = float(damping_cutoff)
        coulomb = coulomb or {"damping": "physnet", "damping_cutoff": self.damping_cutoff}
        super().__init__(elements, cutoff=cutoff, coulomb=coulomb, dipole_weight=dipole_weight,
                         charges_weight=charges_weight, **kwargs)

    def extra_parts(self, params):
        return [D2Featurizer(params.elements, cutoff=self.d2_cutoff)]

    def long_range_energies(self, inputs, charges):
        d2 = tf.cast(self.s6, charges.dtype) * tf.squeeze(inputs[keys.D2_ENERGIES], axis=-1)
        return super().long_range_energies(inputs, charges) + d2

    def get_config(self):
        return {**super().get_config(), "damping_cutoff": self.damping_cutoff, "s6": self.s6,
                "d2_cutoff": self.d2_cutoff}
