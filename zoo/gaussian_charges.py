"""What the 4G models share: ACSFs plus the Coulomb matrix of Gaussian charges, learned
per-element hardness, and the electrostatic energy of Gaussian charges (review section 5).

CENT, 4G-HDNNP and BpopNN all describe atoms by standardized ACSFs and interact through
Gaussian charges of fixed per-element widths s_Z (Å; covalent radii by default, as
Ko et al., Nat. Commun. 12, 398 (2021)): the featurizer is an
:class:`~zoo.featurizers.AcsfFeaturizer` plus a :class:`~zoo.featurizers.CoulombFeaturizer`
with ``damping="gaussian"``, whose Jacobian gives the explicit position dependence of the
electrostatics. The electrostatic energy of Gaussian charges, self-energy included, is

    E_elec = 1/2 qᵀ A q + sum_i k_e q_i² / (2 sqrt(pi) s_i)

(Ko 2021, Eq. 5), and the Qeq energy adds ``sum_i chi_i q_i + 1/2 J_i q_i²`` with
per-element hardness J_Z = softplus(w_Z) >= 0 (eV/e², trained), which keeps the Qeq matrix
positive definite. Not registered itself.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from ase.data import covalent_radii

from descriptors.acsf import AcsfParams
from descriptors.coulomb import CoulombParams
from descriptors.qeq import self_energy_diagonal
from zoo import keys
from zoo.featurizers import AcsfFeaturizer, CompositeFeaturizer, CoulombFeaturizer
from zoo.layers import coulomb_atomic_energies, group_statistics, standardize, statistics_weights
from zoo.models.hdnnp3g import label_weights_config, no_stress, pending_label_weights, resolve_label_weights
from zoo.potential import Potential

#: eV/e², the hardness every element starts from
INITIAL_HARDNESS = 1.0


def default_widths(elements) -> tuple[float, ...]:
    """Å, covalent radii (ASE's table) of ``elements``: the Gaussian widths of Ko 2021."""
    return tuple(float(covalent_radii[z]) for z in elements)


def inverse_softplus(x: float) -> float:
    return float(np.log(np.expm1(x)))


class GaussianChargePotential(Potential):
    """ACSF + Gaussian-charge Coulomb inputs, hardness and electrostatics of the 4G models.

    Args:
        elements: atomic numbers the model handles.
        cutoff: ACSF cutoff radius (Å), used when ``acsf`` is not given.
        acsf: explicit symmetry-function set (``AcsfParams.to_dict()``).
        widths: Å, Gaussian width per element (``elements`` order); default covalent radii.
        accuracy: Ewald truncation target for periodic cells.
        charges_weight, dipole_weight: as :class:`zoo.models.hdnnp3g.HDNNP3G` (None: decided
            on the training data).
        **kwargs: other loss weights and Keras options, see :class:`zoo.Potential`.
    """

    structure_inputs = (keys.TOTAL_CHARGE, keys.POSITIONS)

    def __init__(self, elements, cutoff=6.0, acsf=None, widths=None, accuracy=1e-8, charges_weight=None,
                 dipole_weight=0.0, **kwargs):
        params = AcsfParams.from_dict(acsf) if acsf else AcsfParams.auto(tuple(elements), cutoff)
        widths = tuple(float(w) for w in widths) if widths is not None else default_widths(params.elements)
        coulomb = CoulombParams(damping="gaussian", accuracy=accuracy)
        parts = [AcsfFeaturizer(params), CoulombFeaturizer(params.elements, coulomb, widths)]
        super().__init__(featurizer=CompositeFeaturizer(parts), charges_weight=charges_weight or 0.0,
                         dipole_weight=dipole_weight or 0.0, **kwargs)
        self.pending_label_weights = pending_label_weights(charges_weight, dipole_weight)
        self.acsf_params, self.widths, self.accuracy = params, widths, float(accuracy)
        n_elements = len(self.elements)
        statistics_weights(self, n_elements, params.n_features)  # feature_mean, feature_std
        self.self_diagonal = tf.constant(self_energy_diagonal(widths), self.compute_dtype)
        self.raw_hardness = self.add_weight(shape=(n_elements,), name="raw_hardness",
                                            initializer=keras.initializers.Constant(inverse_softplus(INITIAL_HARDNESS)))

    @property
    def n_features(self) -> int:
        return self.acsf_params.n_features

    def scaled_descriptors(self, inputs):
        """float [n_atoms, K]: the ACSFs standardized per element."""
        return standardize(inputs[keys.DESCRIPTORS], inputs[keys.ELEMENT], self.feature_mean, self.feature_std)

    def hardness(self, element):
        """eV/e² [n_atoms]: J_Z of each atom (trained, >= 0)."""
        return tf.gather(tf.nn.softplus(self.raw_hardness), element)

    def self_energy_diagonal(self, element):
        """eV/e² [n_atoms]: k_e / (sqrt(pi) s_Z), twice a unit Gaussian charge's self-energy."""
        return tf.gather(self.self_diagonal, element)

    def electrostatic_energies(self, charges, inputs):
        """eV [n_atoms]: E_elec per atom (module docstring), Coulomb split between pairs."""
        self_energy = 0.5 * self.self_energy_diagonal(inputs[keys.ELEMENT]) * tf.square(charges)
        return coulomb_atomic_energies(charges, inputs) + self_energy

    def energy_forces_and_stress(self, inputs, training=False):
        """Not available (see :func:`zoo.models.hdnnp3g.no_stress`): raises NotImplementedError."""
        raise no_stress(self)

    def adapt(self, dataset, *args, **kwargs):
        """:meth:`zoo.Potential.adapt`, and the charge/dipole loss weights left to the data."""
        resolve_label_weights(self, dataset)
        return super().adapt(dataset, *args, **kwargs)

    def adapt_inputs(self, batch):
        mean, std = group_statistics(batch[keys.DESCRIPTORS], batch[keys.ELEMENT], len(self.elements))
        self.feature_mean.assign(mean)
        self.feature_std.assign(std)

    def get_config(self):
        return {**super().get_config(), "elements": list(self.elements), "cutoff": self.acsf_params.cutoff,
                "acsf": self.acsf_params.to_dict(), "widths": list(self.widths), "accuracy": self.accuracy,
                **label_weights_config(self)}
