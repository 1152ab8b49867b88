"""Embedded atom neural network (EANN): atomic networks on Gaussian-type-orbital densities."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from descriptors.eann import EannParams
from zoo import keys
from zoo.featurizers import EannFeaturizer
from zoo.layers import ElementMLP, group_statistics, pair_outer_sum
from zoo.potential import Potential
from zoo.registry import register



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

    Deviation from the paper: the standardization of rho (the paper feeds rho directly);
    it only rescales the inputs of the first layer.

    Args:
        elements: atomic numbers the model handles.
        cutoff: r_c (Å); ``n_radial``, ``l_max``: the orbitals of ``EannParams.auto``, used
            when ``eann`` is not given.
        eann: explicit orbitals (``EannParams.to_dict()``).
        hidden: hidden-layer widths of each element network.
        activation: hidden activation.
        **kwargs: loss weights and Keras options, see :class:`zoo.Potential`.
    """

    def __init__(self, elements, cutoff=6.0, n_radial=8, l_max=2, eann=None, hidden=(64, 64),
                 activation="tanh", **kwargs):
        params = EannParams.from_dict(eann) if eann else EannParams.auto(tuple(elements), cutoff, n_radial, l_max)
        super().__init__(featurizer=EannFeaturizer(params), **kwargs)
        self.hidden = tuple(int(h) for h in hidden)
        self.activation = activation
        n_elements, n_radial = len(self.elements), len(params.radial)
        self.n_densities = (params.l_max + 1) * n_radial
        # [L_max + 1, n_angular]: the multinomial weight of component a in the row of its L
        self.collect = np.eye(params.l_max + 1)[params.angular_order()].T * params.multinomial_weights()
        self.coefficients = self.add_weight(shape=(n_elements, n_radial), initializer="ones", name="coefficients")
        self.density_mean = self.add_weight(shape=(n_elements, self.n_densities), initializer="zeros",
                                            trainable=False, name="density_mean")
        self.density_std = self.add_weight(shape=(n_elements, self.n_densities), initializer="ones",
                                           trainable=False, name="density_std")
        self.network = ElementMLP(n_elements, self.n_densities, self.hidden, 1, activation,
                                  dtype=self.dtype_policy, name="element_networks")

    def densities(self, inputs):
        """[n_atoms, (L_max + 1) n_radial] embedded densities, L-major."""
        params = self.featurizer.params
        n_atoms = tf.shape(inputs[keys.ELEMENT])[0]
        factors = inputs[keys.GTO]
        angular, radial = factors[:, :params.n_angular], factors[:, params.n_angular:]
        weighted = radial * tf.gather(self.coefficients, inputs[keys.GTO_NEIGHBOR_ELEMENT])  # c_{Z_j, m} g_m
        orbital = pair_outer_sum(angular, weighted, inputs[keys.GTO_CENTRE], inputs[keys.GTO_SLOT], n_atoms)
        rho = tf.einsum("la,iam->ilm", tf.constant(self.collect, orbital.dtype), tf.square(orbital))
        return tf.reshape(rho, [-1, self.n_densities])

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
                "eann": params.to_dict(), "hidden": list(self.hidden), "activation": self.activation}
