"""Fourth-generation HDNNP: charges from global charge equilibration, charge-aware short range."""

from __future__ import annotations

import tensorflow as tf

from zoo import keys
from zoo.gaussian_charges import GaussianChargePotential
from zoo.layers import ElementMLP
from zoo.layers.qeq import qeq_charges
from zoo.registry import register


@register("hdnnp4g", generation="4G", descriptor="predefined", long_range=True, nonlocal_charge_transfer=True,
          paper="T. W. Ko, J. A. Finkler, S. Goedecker, J. Behler, Nat. Commun. 12, 398 (2021)")
class HDNNP4G(GaussianChargePotential):
    """4G-HDNNP: electronegativity networks, Qeq charges, electrostatics and a short range
    that sees the charges (review section 5, Eq. 11).

    1. Per-element networks give electronegativities ``chi_i = X_{Z_i}(G_i)`` (eV/e) from
       the standardized ACSFs.
    2. The charges minimise the Qeq energy ``sum_i (chi_i q_i + 1/2 (J_i + k_e/(sqrt(pi)
       s_i)) q_i²) + 1/2 sum_{i != j} q_i q_j A_ij`` of Gaussian charges at the structure's
       total charge (one linear solve per structure, :mod:`zoo.layers.qeq`): a change of
       chemistry at one end of a molecule moves charge to the other end, however far.
    3. ``E = E_elec(q) + sum_i E_{Z_i}(G_i, q_i)``: the electrostatic energy of the Gaussian
       charges (``keys.PHYSICAL_ENERGIES``) and short-range networks whose inputs are the
       ACSFs and the atom's charge, so that the same geometry in two charge states has two
       energies.

    Forces are complete: the energy depends on positions through the ACSFs (short range,
    and the electronegativities, hence the charges) and through the Coulomb matrix (the
    electrostatic energy and, through the solve, the charges); both Jacobians are
    contracted with the gradient of the energy, which TensorFlow takes through the solve.

    Training: Ko et al. fit the electronegativities (and hardness) to reference charges
    first, then the short range to the remaining energy and the forces. Here the default
    trains everything at once with ``charges_weight`` 1 when the data have reference
    charges (Hirshfeld charges in the paper; the built-in GFN2-xTB sets have Mulliken
    charges); the two steps are plain Keras, as for
    :class:`~zoo.models.hdnnp3g.HDNNP3G`::

        model = zoo.create("hdnnp4g", elements=data.elements, energy_weight=0, forces_weight=0,
                           charges_weight=1)
        model.short_range_network.trainable = False            # step 1: charges
        model.compile(optimizer=keras.optimizers.Adam(1e-3)); model.fit(train, epochs=100)
        model.electronegativity_network.trainable = False       # step 2: short range
        model.raw_hardness.trainable = False                    # (a Keras variable)
        model.short_range_network.trainable = True
        model.energy_weight, model.forces_weight, model.charges_weight = 1.0, 0.1, 0.0
        model.compile(optimizer=keras.optimizers.Adam(1e-3)); model.fit(train, epochs=200)

    Deviations: the charges enter the short-range networks unscaled (they are O(0.1-1) e,
    like the standardized ACSFs); the electronegativity networks' output layers start at
    zero (uniform charges Q/N at the start, as the 3G models here).

    Args:
        elements, cutoff, acsf, widths, accuracy, charges_weight, dipole_weight: see
            :class:`zoo.gaussian_charges.GaussianChargePotential`.
        hidden: hidden widths of each element's short-range network.
        electronegativity_hidden: hidden widths of each element's electronegativity network.
        activation: hidden activation.
        **kwargs: loss weights and Keras options, see :class:`zoo.Potential`.
    """

    def __init__(self, elements, hidden=(25, 25), electronegativity_hidden=(15, 15), activation="tanh", **kwargs):
        super().__init__(elements, **kwargs)
        self.hidden = tuple(int(h) for h in hidden)
        self.electronegativity_hidden = tuple(int(h) for h in electronegativity_hidden)
        self.activation = activation
        n_elements = len(self.elements)
        self.electronegativity_network = ElementMLP(n_elements, self.n_features, self.electronegativity_hidden, 1,
                                                    activation, dtype=self.dtype_policy,
                                                    name="electronegativity_networks")
        self.short_range_network = ElementMLP(n_elements, self.n_features + 1, self.hidden, 1, activation,
                                              dtype=self.dtype_policy, name="short_range_networks")
        for layers in self.electronegativity_network.networks:  # start from uniform charges
            layers[-1].kernel.assign(tf.zeros_like(layers[-1].kernel))

    def atomic_outputs(self, inputs, training=False):
        element = inputs[keys.ELEMENT]
        scaled = self.scaled_descriptors(inputs)
        chi = tf.squeeze(self.electronegativity_network(scaled, element), axis=-1)
        charges = qeq_charges(chi, self.hardness(element) + self.self_energy_diagonal(element), inputs)
        short = self.short_range_network(tf.concat([scaled, charges[:, None]], axis=1), element)
        return {keys.ATOMIC_ENERGIES: tf.squeeze(short, axis=-1),
                keys.PHYSICAL_ENERGIES: self.electrostatic_energies(charges, inputs), keys.CHARGES: charges}

    def get_config(self):
        return {**super().get_config(), "hidden": list(self.hidden),
                "electronegativity_hidden": list(self.electronegativity_hidden), "activation": self.activation}
