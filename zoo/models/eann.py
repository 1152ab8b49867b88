"""Embedded atom neural network (EANN): atomic networks on Gaussian-type-orbital densities."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from descriptors.eann import EannParams
from zoo import keys
from zoo.featurizers import EannFeaturizer
from zoo.layers import ElementMLP, group_statistics, pair_outer_sum
from zoo.potential import Potential
from zoo.registry import register


def _radial_sets_with_noise(n_radial):
    """Initializer of the mixing coefficients [elements, radial sets, orbitals]: orbital o
    starts as radial set o (the paper's orbitals with c = 1) plus noise of 0.1 / sqrt(n_radial).
    Random coefficients (unit variance over the radial sets) trained worse on Cu-800, 33.1
    against 21.2 meV/Å (8 sets, 8 orbitals, standard.toml's budget, seed 0)."""
    noise = keras.initializers.RandomNormal(stddev=0.1 * n_radial ** -0.5)
    return lambda shape, dtype=None: noise(shape, dtype) + keras.ops.eye(shape[1], shape[2], dtype=dtype)[None]


@register("eann", generation="2G", descriptor="predefined",
          paper="Y. Zhang, C. Hu, B. Jiang, J. Phys. Chem. Lett. 10, 4962 (2019)")
class EANN(Potential):
    """EANN: element networks on embedded densities of Gaussian-type orbitals (review 3.2).

    For atom i (Zhang, Hu, Jiang 2019, Eqs. 2-4; orbitals phi from :mod:`descriptors.eann`)

        rho_i[L, m] = sum_{l_x+l_y+l_z=L} L!/(l_x! l_y! l_z!) (sum_j c_{Z_j, m} phi_j[l, m])^2,

    with learnable coefficients c per neighbour element and radial set m, and
    ``E = sum_i E_{Z_i}(rho_i)`` with one network per element. The densities are
    standardized with per-element statistics of the training split, taken with the initial
    coefficients (a fixed affine map; c and the networks then train together). The kernel
    gives the orbitals' angular and radial factors, phi[l, m] = M_l g_m, and the model
    multiplies them (18 differentiated columns per pair instead of 80 at L_max 2 with 8
    radial sets); forces come from the Jacobian of the factors, the only differentiable input.

    With ``n_orbitals`` set, each orbital is a learned combination of all radial sets,
    ``sum_m c_{Z_j, m, o} g_m`` for o = 1 ... n_orbitals (an extension, not in the paper),
    instead of one radial set scaled per element: with one element the paper's c only
    scales each density column by c^2, which the first layer's weights do as well, so on a
    metal its densities are fixed descriptors.

    Deviation from the paper: the standardization of rho (the paper feeds rho directly);
    it only rescales the inputs of the first layer.

    Args:
        elements: atomic numbers the model handles.
        cutoff: r_c (Å); ``n_radial``, ``l_max``: the orbitals of ``EannParams.auto``, used
            when ``eann`` is not given.
        eann: explicit orbitals (``EannParams.to_dict()``).
        hidden: hidden-layer widths of each element network.
        activation: hidden activation.
        n_orbitals: None (default): the paper's c_{Z_j, m}, one orbital per radial set; an
            integer: that many orbitals, each a learned combination of the radial sets.
        **kwargs: loss weights and Keras options, see :class:`zoo.Potential`.
    """

    def __init__(self, elements, cutoff=6.0, n_radial=8, l_max=2, eann=None, hidden=(64, 64),
                 activation="tanh", n_orbitals=None, **kwargs):
        params = EannParams.from_dict(eann) if eann else EannParams.auto(tuple(elements), cutoff, n_radial, l_max)
        super().__init__(featurizer=EannFeaturizer(params), **kwargs)
        self.hidden = tuple(int(h) for h in hidden)
        self.activation = activation
        n_elements, n_radial = len(self.elements), len(params.radial)
        self.n_orbitals = None if n_orbitals is None else int(n_orbitals)
        if self.n_orbitals is not None and self.n_orbitals < 1:
            raise ValueError(f"n_orbitals must be None (the paper's orbitals) or >= 1, received {n_orbitals}")
        n_out = n_radial if self.n_orbitals is None else self.n_orbitals
        self.n_densities = (params.l_max + 1) * n_out
        # [L_max + 1, n_angular]: the multinomial weight of component a in the row of its L
        self.collect = np.eye(params.l_max + 1)[params.angular_order()].T * params.multinomial_weights()
        if self.n_orbitals is None:
            self.coefficients = self.add_weight(shape=(n_elements, n_radial), initializer="ones", name="coefficients")
        else:
            self.coefficients = self.add_weight(shape=(n_elements, n_radial, n_out), name="coefficients",
                                                initializer=_radial_sets_with_noise(n_radial))
        self.density_mean = self.add_weight(shape=(n_elements, self.n_densities), initializer="zeros",
                                            trainable=False, name="density_mean")
        self.density_std = self.add_weight(shape=(n_elements, self.n_densities), initializer="ones",
                                           trainable=False, name="density_std")
        self.network = ElementMLP(n_elements, self.n_densities, self.hidden, 1, activation,
                                  dtype=self.dtype_policy, name="element_networks")

    def densities(self, inputs):
        """[n_atoms, (L_max + 1) n_orbitals] embedded densities, L-major (n_orbitals =
        n_radial for the paper's orbitals)."""
        params = self.featurizer.params
        n_atoms = tf.shape(inputs[keys.ELEMENT])[0]
        factors = inputs[keys.GTO]
        angular, radial = factors[:, :params.n_angular], factors[:, params.n_angular:]
        neighbour = inputs[keys.GTO_NEIGHBOR_ELEMENT]
        if self.n_orbitals is None:
            weighted = radial * tf.gather(self.coefficients, neighbour)  # c_{Z_j, m} g_m
        else:
            weighted = self.mixed_orbitals(radial, neighbour)
        orbital = pair_outer_sum(angular, weighted, inputs[keys.GTO_CENTRE], inputs[keys.GTO_SLOT], n_atoms)
        rho = tf.einsum("la,iam->ilm", tf.constant(self.collect, orbital.dtype), tf.square(orbital))
        return tf.reshape(rho, [-1, self.n_densities])

    def mixed_orbitals(self, radial, neighbour):
        """[n_pairs, n_orbitals]: sum_m c_{Z_j, m, o} g_m, as one product with the
        coefficients of every element and a pick of the neighbour's: gathering a
        [n_radial, n_orbitals] block per pair made the Cu-108 training step 3x slower
        (docs/DESIGN.md, "Mixed EANN orbitals")."""
        n_elements, n_radial, n_out = self.coefficients.shape
        every = tf.matmul(radial, tf.reshape(tf.transpose(self.coefficients, [1, 0, 2]), [n_radial, -1]))
        if n_elements == 1:
            return every
        pick = tf.one_hot(neighbour, n_elements, dtype=radial.dtype)[:, :, None]
        return tf.reduce_sum(tf.reshape(every, [-1, n_elements, n_out]) * pick, axis=1)

    def atomic_outputs(self, inputs, training=False):
        element = inputs[keys.ELEMENT]
        rho = self.densities(inputs)
        scaled = (rho - tf.gather(self.density_mean, element)) / tf.gather(self.density_std, element)
        return {keys.ATOMIC_ENERGIES: tf.squeeze(self.network(scaled, element), axis=-1)}

    def adapt_inputs(self, batch):
        element = batch[keys.ELEMENT]
        inputs = {k: tf.convert_to_tensor(batch[k]) for k in
                  (keys.ELEMENT, keys.GTO, keys.GTO_CENTRE, keys.GTO_NEIGHBOR_ELEMENT, keys.GTO_SLOT)}
        inputs[keys.GTO] = tf.cast(inputs[keys.GTO], self.compute_dtype)
        rho = np.asarray(self.densities(inputs), np.float64)
        mean, std = group_statistics(rho, element, len(self.elements))
        self.density_mean.assign(mean)
        self.density_std.assign(std)

    def get_config(self):
        params = self.featurizer.params
        return {**super().get_config(), "elements": list(self.elements), "cutoff": params.cutoff,
                "eann": params.to_dict(), "hidden": list(self.hidden), "activation": self.activation,
                "n_orbitals": self.n_orbitals}
