"""Charge equilibration via neural network technique (CENT): the Qeq energy is the energy."""

from __future__ import annotations

import tensorflow as tf

from zoo import keys
from zoo.gaussian_charges import GaussianChargePotential
from zoo.layers import ElementMLP
from zoo.layers.qeq import qeq_charges
from zoo.registry import register


@register("cent", generation="4G", descriptor="predefined", long_range=True, nonlocal_charge_transfer=True,
          paper="S. A. Ghasemi, A. Hofstetter, S. Saha, S. Goedecker, Phys. Rev. B 92, 045131 (2015)")
class CENT(GaussianChargePotential):
    """CENT: environment-dependent electronegativities, Qeq charges, and the total energy
    as the Qeq energy at those charges (review section 5, Eq. 11).

    ``E = sum_i [E_{Z_i}^0 + chi_i q_i + 1/2 J_{Z_i} q_i²] + E_elec(q)`` with
    ``chi_i = X_{Z_i}(G_i)`` from per-element networks on the standardized ACSFs,
    per-element hardness J_Z, the electrostatic energy of Gaussian charges E_elec
    (self-energy included) and the charges q that minimise E at the structure's total
    charge. E_Z^0 is the per-element energy baseline fitted on the training data. There is
    no separate short-range energy: every interaction beyond the baseline goes through
    the electronegativities, so CENT suits ionic systems (Ghasemi et al. built it for
    CaF2 clusters) more than covalent ones.

    Because q minimises E, ``dE/dq`` is a constant per structure and the forces are the
    explicit derivative at fixed charges (through chi(G(R)) and A(R)); TensorFlow's
    gradient through the solve gives the same and is what is used. Trained on energies
    and forces; reference charges are not needed (``charges_weight`` None uses them with
    weight 1 when every structure has them; 0 fits CENT as in the paper).

    Deviations: Ghasemi et al. train on energies of small clusters only and use Gaussian
    widths per element fitted with the networks; here the widths are fixed (covalent radii,
    as Ko et al. 2021) and forces are in the loss by default. Unlike the 4G-HDNNP here,
    the electronegativity networks start from random output layers: CENT's energy gradient
    with respect to chi_i is q_i (the charges are a minimum), which vanishes at the uniform
    charges of a neutral structure, so a zero start would never move.

    Args:
        elements, cutoff, acsf, widths, accuracy, charges_weight, dipole_weight: see
            :class:`zoo.gaussian_charges.GaussianChargePotential`.
        hidden: hidden widths of each element's electronegativity network.
        activation: hidden activation.
        **kwargs: loss weights and Keras options, see :class:`zoo.Potential`.
    """

    def __init__(self, elements, hidden=(25, 25), activation="tanh", **kwargs):
        super().__init__(elements, **kwargs)
        self.hidden = tuple(int(h) for h in hidden)
        self.activation = activation
        self.electronegativity_network = ElementMLP(len(self.elements), self.n_features, self.hidden, 1, activation,
                                                    dtype=self.dtype_policy, name="electronegativity_networks")

    def atomic_outputs(self, inputs, training=False):
        element = inputs[keys.ELEMENT]
        chi = tf.squeeze(self.electronegativity_network(self.scaled_descriptors(inputs), element), axis=-1)
        hardness = self.hardness(element)
        charges = qeq_charges(chi, hardness + self.self_energy_diagonal(element), inputs)
        qeq_terms = chi * charges + 0.5 * hardness * tf.square(charges)
        return {keys.ATOMIC_ENERGIES: tf.zeros_like(chi),
                keys.PHYSICAL_ENERGIES: qeq_terms + self.electrostatic_energies(charges, inputs),
                keys.CHARGES: charges}

    def get_config(self):
        return {**super().get_config(), "hidden": list(self.hidden), "activation": self.activation}
