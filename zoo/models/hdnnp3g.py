"""Third-generation HDNNP: environment-dependent charges plus long-range electrostatics."""

from __future__ import annotations

import tensorflow as tf

from descriptors.acsf import AcsfParams
from descriptors.coulomb import CoulombParams
from zoo import keys
from zoo.featurizers import AcsfFeaturizer, CompositeFeaturizer, CoulombFeaturizer
from zoo.layers import ElementMLP, coulomb_atomic_energies, group_statistics, neutralize, standardize, statistics_weights
from zoo.potential import Potential
from zoo.registry import register

#: loss weight of the charges (1/e²) or dipoles (1/(e Å)²) when fixed by the data
DEFAULT_LABEL_WEIGHT = 1.0


def pending_label_weights(charges_weight, dipole_weight) -> tuple[str, ...]:
    """The labels (``keys.CHARGES``, ``keys.DIPOLE``) whose loss weight is None, i.e. left to
    :func:`resolve_label_weights` on the training data."""
    return tuple(key for key, weight in ((keys.CHARGES, charges_weight), (keys.DIPOLE, dipole_weight))
                 if weight is None)


def resolve_label_weights(model, dataset) -> None:
    """Set each pending charge/dipole weight of ``model`` to :data:`DEFAULT_LABEL_WEIGHT`
    when every structure of ``dataset`` has that label, else 0 (so a 3G model also trains
    on data without charges, e.g. a metal: its charges are then fitted through the energy)."""
    for key in model.pending_label_weights:
        setattr(model, f"{key}_weight", DEFAULT_LABEL_WEIGHT if dataset.has_label(key) else 0.0)
    model.pending_label_weights = ()


def no_stress(model):
    """The error of ``energy_forces_and_stress`` for models with an Ewald energy."""
    return NotImplementedError(
        f"{type(model).__name__} gives no stress: its Ewald Coulomb matrix depends on the cell explicitly "
        f"(reciprocal lattice, volume), which the Jacobian blocks' displacements do not carry, so the virial "
        f"would be wrong; use energies and forces (fixed-cell MD), or a 2G model where stress is needed")


def label_weights_config(model) -> dict:
    """The charge and dipole weights for ``get_config`` (None where still pending)."""
    return {f"{key}_weight": None if key in model.pending_label_weights else getattr(model, f"{key}_weight")
            for key in (keys.CHARGES, keys.DIPOLE)}


@register("hdnnp3g", generation="3G", descriptor="predefined", long_range=True,
          paper="N. Artrith, T. Morawietz, J. Behler, Phys. Rev. B 83, 153101 (2011)")
class HDNNP3G(Potential):
    """3G-HDNNP: per-element charge networks on ACSFs, Coulomb/Ewald energy, short-range HDNNP.

    Review Eq. 10, ``E = E_short + E_elec``: ``E_short = sum_i E_{Z_i}(G_i)`` as in the 2G
    HDNNP, and ``E_elec = 1/2 qᵀ A(R) q`` with charges ``q_i = Q_{Z_i}(G_i)`` from a second
    set of element networks on the same standardized ACSFs, shifted uniformly so that each
    structure has its total charge (``keys.TOTAL_CHARGE``, 0 where the data do not give
    it). A is the Coulomb matrix of point charges for molecules and the Ewald matrix for
    periodic cells (:mod:`descriptors.coulomb`); both enter through a
    :class:`~zoo.featurizers.CoulombFeaturizer` whose Jacobian gives the forces, including
    the ``dq/dR`` terms through the ACSF Jacobian (the charges depend on the ACSFs).

    Two-step training (Artrith et al. 2011; review section 4), in plain Keras::

        model = zoo.create("hdnnp3g", elements=data.elements,
                           energy_weight=0, forces_weight=0, charges_weight=1)
        model.short_range_network.trainable = False      # step 1: charges only
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        model.fit(train, epochs=100)
        model.charge_network.trainable = False            # step 2: freeze the charges,
        model.short_range_network.trainable = True        # fit energies and forces of
        model.energy_weight, model.forces_weight, model.charges_weight = 1.0, 0.1, 0.0
        model.compile(optimizer=keras.optimizers.Adam(1e-3))   # compile again (new step)
        model.fit(train, epochs=200)

    In step 2 the short-range networks learn the reference minus the (fixed) electrostatic
    energy, and the forces they are fitted to include the electrostatic forces with the
    charge-gradient terms. Training all networks at once (charges_weight > 0 together with
    the energy and force weights, the default) is also possible.

    The electrostatic energy per atom (``1/2 q_i sum_j A_ij q_j``, eV) is returned as
    ``keys.PHYSICAL_ENERGIES``, which the base class adds after scaling the networks'
    atomic energies; ``atomic_energies`` in the output are thus short-range plus
    electrostatic parts, in eV.

    Deviations from the paper: Artrith et al. do not constrain the total charge of the
    network charges; here the uniform shift makes it exact (as PhysNet and TensorMol do).
    The output layers of the charge networks start at zero, so every structure starts
    from uniform charges Q/N: with random initial charges the Coulomb energy of close
    atoms dominated the first epochs (water_xtb, 200 training structures, 15 epochs:
    test charge RMSE 0.42 e with random, 0.09 e with zero start; energy RMSE 87 and
    32 meV/atom).

    Args:
        elements: atomic numbers the model handles.
        cutoff: ACSF cutoff radius (Å), used when ``acsf`` is not given.
        acsf: explicit symmetry-function set (``AcsfParams.to_dict()``).
        hidden: hidden widths of each element's short-range network.
        charge_hidden: hidden widths of each element's charge network.
        activation: hidden activation.
        coulomb: :class:`descriptors.coulomb.CoulombParams` as a dict (damping kind, Ewald
            accuracy); default point charges.
        charges_weight: weight of the charge MSE (e⁻²); None (default): decided by
            :meth:`adapt` on the training data, 1 when every structure has reference
            charges, else 0 (the charges are then free and fitted through the energy).
        dipole_weight: weight of the dipole MSE (e⁻² Å⁻²), default 0; None: like
            ``charges_weight``.
        **kwargs: other loss weights and Keras options, see :class:`zoo.Potential`.
    """

    structure_inputs = (keys.TOTAL_CHARGE, keys.POSITIONS)

    def __init__(self, elements, cutoff=6.0, acsf=None, hidden=(25, 25), charge_hidden=(15, 15),
                 activation="tanh", coulomb=None, charges_weight=None, dipole_weight=0.0, **kwargs):
        params = AcsfParams.from_dict(acsf) if acsf else AcsfParams.auto(tuple(elements), cutoff)
        coulomb = CoulombParams.from_dict(coulomb) if coulomb else CoulombParams()
        parts = [AcsfFeaturizer(params), CoulombFeaturizer(params.elements, coulomb), *self.extra_parts(params)]
        super().__init__(featurizer=CompositeFeaturizer(parts), charges_weight=charges_weight or 0.0,
                         dipole_weight=dipole_weight or 0.0, **kwargs)
        self.pending_label_weights = pending_label_weights(charges_weight, dipole_weight)
        self.acsf_params, self.coulomb_params = params, coulomb
        self.hidden = tuple(int(h) for h in hidden)
        self.charge_hidden = tuple(int(h) for h in charge_hidden)
        self.activation = activation
        n_elements, n_features = len(self.elements), params.n_features
        statistics_weights(self, n_elements, n_features)  # feature_mean, feature_std
        self.short_range_network = ElementMLP(n_elements, n_features, self.hidden, 1, activation,
                                              dtype=self.dtype_policy, name="short_range_networks")
        self.charge_network = ElementMLP(n_elements, n_features, self.charge_hidden, 1, activation,
                                         dtype=self.dtype_policy, name="charge_networks")
        for layers in self.charge_network.networks:  # start from uniform charges Q/N (class docstring)
            layers[-1].kernel.assign(tf.zeros_like(layers[-1].kernel))

    def extra_parts(self, params) -> list:
        """Further featurizer parts of subclasses (TensorMol adds D2)."""
        return []

    def charges(self, inputs, scaled):
        """Charges (e) of a flat batch from the standardized ACSFs, total charge enforced."""
        raw = tf.squeeze(self.charge_network(scaled, inputs[keys.ELEMENT]), axis=-1)
        return neutralize(raw, inputs[keys.STRUCTURE], inputs[keys.N_ATOMS],
                          tf.cast(inputs[keys.TOTAL_CHARGE], raw.dtype))

    def long_range_energies(self, inputs, charges):
        """eV [n_atoms]: the electrostatic energy per atom."""
        return coulomb_atomic_energies(charges, inputs)

    def atomic_outputs(self, inputs, training=False):
        element = inputs[keys.ELEMENT]
        scaled = standardize(inputs[keys.DESCRIPTORS], element, self.feature_mean, self.feature_std)
        short = tf.squeeze(self.short_range_network(scaled, element), axis=-1)
        charges = self.charges(inputs, scaled)
        return {keys.ATOMIC_ENERGIES: short, keys.PHYSICAL_ENERGIES: self.long_range_energies(inputs, charges),
                keys.CHARGES: charges}

    def energy_forces_and_stress(self, inputs, training=False):
        """Not available (see :func:`no_stress`): raises NotImplementedError."""
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
                "acsf": self.acsf_params.to_dict(), "hidden": list(self.hidden),
                "charge_hidden": list(self.charge_hidden), "activation": self.activation,
                "coulomb": self.coulomb_params.to_dict(), **label_weights_config(self)}
