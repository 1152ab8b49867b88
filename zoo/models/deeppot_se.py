"""Deep Potential Smooth Edition (DeepPot-SE): embedding networks on the environment matrix."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from descriptors.deeppot_se import DeepPotSeParams
from zoo import keys
from zoo.featurizers import DeepPotSeFeaturizer
from zoo.layers import ElementMLP, pair_outer_sum
from zoo.potential import Potential
from zoo.registry import register

#: statistics with a smaller spread are left unscaled
MIN_STD = 1e-6


@register("deeppot_se", generation="2G", descriptor="predefined",
          paper="L. Zhang, J. Han, H. Wang, W. A. Saidi, R. Car, W. E, NeurIPS 31 (2018), "
                "End-to-end symmetry preserving inter-atomic potential energy model")
class DeepPotSE(Potential):
    """DeepPot-SE: a smooth, symmetry-preserving descriptor from learned embeddings (review 3.2).

    For atom i with environment-matrix rows R̃_ij = (s, s x/r, s y/r, s z/r)
    (:mod:`descriptors.deeppot_se`; NeurIPS 2018, Eqs. 2-6):

        G_ij = G_{Z_j}(s(r_ij))            embedding network, [M] per row (per (Z_i, Z_j)
                                            when ``type_one_side=False``)
        T_i  = (1 / N_c) sum_j G_ij ⊗ R̃_ij     [M, 4]   (= (G^i)^T R̃^i / N_c)
        D_i  = T_i (T_i^<)^T                    [M, M2],  T^< the first M2 rows of T
        E_i  = F_{Z_i}(D_i)                    fitting network per element

    with N_c = sum(sel). T is the paper's product over the padded matrix: the filled rows
    go to their slots (the others are zero) and one batched product per atom sums them
    (:func:`zoo.layers.pair_outer_sum`). Forces come only from the Jacobian
    of R̃: the embedding input s is column 0 of the differentiated values, so dE/ds through
    G is part of dE/dR̃.

    Input scaling (DeePMD-kit's davg/dstd, restricted so that smoothness is kept): the
    embedding input is (s - mean)/std per centre element (harmless: G multiplies R̃, which
    vanishes at r_c); R̃ is divided by its per-centre-element spread (s column; x, y, z
    columns together) but not shifted, so a neighbour still enters at r_c with a zero row.
    (DeePMD-kit also shifts the s column; emulating its padded rows in closed form was
    tried and made ethanol with sel = 30 train worse: 80 of 90 rows are padding there.)

    The descriptor D is centred per element and column and divided by one spread per
    element (the RMS over columns of the column standard deviations), with statistics of
    the training split taken with the initial embedding weights: a fixed affine map (like
    HDNNP's input scaling; without it the fitting network sees nearly constant inputs).
    Per-column spreads would amplify nearly constant columns (spreads down to 1e-4 of the
    column mean on Cu), so that small embedding updates move those inputs by many units.

    Deviations from the paper: the standardization of D; the last embedding layer is
    linear (``zoo.layers.ElementMLP``); no ResNet-style doubling in the embedding; smaller
    default networks. With the switch over the last 1 Å only (r_cs = r_c - 1 Å) forces
    barely trained; the default r_cs is 0.5 Å (``DeepPotSeParams.auto``).

    Args:
        elements: atomic numbers the model handles.
        cutoff, cutoff_smooth, sel: the environment matrix (``DeepPotSeParams.auto``), used
            when ``env`` is not given.
        env: explicit environment matrix (``DeepPotSeParams.to_dict()``).
        embedding: widths of the embedding network; the last is M.
        axis_neurons: M2 (<= M).
        hidden: hidden-layer widths of each element's fitting network.
        type_one_side: embeddings per neighbour element only (True) or per (centre,
            neighbour) element pair.
        activation: activation of embedding and fitting networks.
        **kwargs: loss weights and Keras options, see :class:`zoo.Potential`.
    """

    def __init__(self, elements, cutoff=6.0, cutoff_smooth=None, sel=None, env=None, embedding=(16, 32, 64),
                 axis_neurons=8, hidden=(120, 120, 120), type_one_side=True, activation="tanh", **kwargs):
        params = (DeepPotSeParams.from_dict(env) if env
                  else DeepPotSeParams.auto(tuple(elements), cutoff, cutoff_smooth, sel))
        super().__init__(featurizer=DeepPotSeFeaturizer(params), **kwargs)
        self.embedding = tuple(int(h) for h in embedding)
        self.axis_neurons = int(axis_neurons)
        self.hidden = tuple(int(h) for h in hidden)
        self.type_one_side = bool(type_one_side)
        self.activation = activation
        m = self.embedding[-1]
        if not 1 <= self.axis_neurons <= m:
            raise ValueError(f"axis_neurons (M2) must be in 1..{m} (the last embedding width M), "
                             f"received {axis_neurons}")
        n = len(self.elements)
        self.n_groups = n if self.type_one_side else n * n
        self.s_mean = self.add_weight(shape=(n,), initializer="zeros", trainable=False, name="s_mean")
        self.s_std = self.add_weight(shape=(n,), initializer="ones", trainable=False, name="s_std")
        self.row_std = self.add_weight(shape=(n, 4), initializer="ones", trainable=False, name="row_std")
        width = m * self.axis_neurons
        self.d_mean = self.add_weight(shape=(n, width), initializer="zeros", trainable=False, name="d_mean")
        self.d_std = self.add_weight(shape=(n, width), initializer="ones", trainable=False, name="d_std")
        self.embedding_net = ElementMLP(self.n_groups, 1, self.embedding[:-1], m, activation,
                                        dtype=self.dtype_policy, name="embedding_networks")
        self.network = ElementMLP(n, m * self.axis_neurons, self.hidden, 1, activation,
                                  dtype=self.dtype_policy, name="fitting_networks")

    def descriptor(self, inputs):
        """[n_atoms, M * M2] descriptor D of every atom of a flat batch."""
        element = inputs[keys.ELEMENT]
        n_atoms = tf.shape(element)[0]
        rows = inputs[keys.ENV_MATRIX]
        centre = inputs[keys.ENV_MATRIX_CENTRE]
        centre_element = tf.gather(element, centre)
        s = (rows[:, :1] - tf.gather(self.s_mean, centre_element)[:, None]) / tf.gather(
            self.s_std, centre_element)[:, None]
        group = inputs[keys.ENV_MATRIX_NEIGHBOR_ELEMENT]
        if not self.type_one_side:
            group = centre_element * len(self.elements) + group
        g = self.embedding_net(s, group)  # [n_rows, M]
        scaled = rows / tf.gather(self.row_std, centre_element)
        n_c = tf.cast(self.featurizer.params.n_slots, rows.dtype)
        t = pair_outer_sum(g, scaled, centre, inputs[keys.ENV_MATRIX_SLOT], n_atoms,
                           self.featurizer.params.n_slots) / n_c
        d = tf.einsum("imc,inc->imn", t, t[:, :self.axis_neurons, :])
        return tf.reshape(d, [-1, self.embedding[-1] * self.axis_neurons])

    def atomic_outputs(self, inputs, training=False):
        element = inputs[keys.ELEMENT]
        d = (self.descriptor(inputs) - tf.gather(self.d_mean, element)) / tf.gather(self.d_std, element)
        return {keys.ATOMIC_ENERGIES: tf.squeeze(self.network(d, element), axis=-1)}

    def adapt_inputs(self, batch):
        rows = np.asarray(batch[keys.ENV_MATRIX], np.float64)
        centre_element = np.asarray(batch[keys.ELEMENT])[np.asarray(batch[keys.ENV_MATRIX_CENTRE])]
        n = len(self.elements)
        s_mean, s_std, row_std = np.zeros(n), np.ones(n), np.ones((n, 4))
        for e in np.unique(centre_element):
            mine = rows[centre_element == e]
            s_mean[e] = mine[:, 0].mean()
            s_std[e] = max(mine[:, 0].std(), MIN_STD)
            row_std[e, 0] = max(np.sqrt(np.mean(mine[:, 0] ** 2)), MIN_STD)
            row_std[e, 1:] = max(np.sqrt(np.mean(mine[:, 1:] ** 2)), MIN_STD)
        self.s_mean.assign(s_mean)
        self.s_std.assign(s_std)
        self.row_std.assign(row_std)
        element = np.asarray(batch[keys.ELEMENT])
        inputs = {k: tf.convert_to_tensor(batch[k]) for k in
                  (keys.ELEMENT, keys.ENV_MATRIX_CENTRE, keys.ENV_MATRIX_NEIGHBOR_ELEMENT, keys.ENV_MATRIX_SLOT)}
        inputs[keys.ENV_MATRIX] = tf.cast(batch[keys.ENV_MATRIX], self.compute_dtype)
        d = np.asarray(self.descriptor(inputs), np.float64)
        d_mean, d_std = np.zeros(self.d_mean.shape), np.ones(self.d_std.shape)
        for e in np.unique(element):
            d_mean[e] = d[element == e].mean(axis=0)
            # one spread per element (the RMS over all columns), not per column: a column
            # that is nearly constant at the initial embedding would otherwise be amplified
            # so much that the first embedding updates saturate the fitting network
            d_std[e] = max(float(np.sqrt(np.mean(d[element == e].var(axis=0)))), MIN_STD)
        self.d_mean.assign(d_mean)
        self.d_std.assign(d_std)

    def get_config(self):
        params = self.featurizer.params
        return {**super().get_config(), "elements": list(self.elements), "cutoff": params.cutoff,
                "env": params.to_dict(), "embedding": list(self.embedding), "axis_neurons": self.axis_neurons,
                "hidden": list(self.hidden), "type_one_side": self.type_one_side, "activation": self.activation}
