"""Deep Potential Smooth Edition (DeepPot-SE): embedding networks on the environment matrix."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from descriptors.deeppot_se import DeepPotSeParams
from zoo import keys
from zoo.featurizers import DeepPotSeFeaturizer
from zoo.layers import ElementMLP, ResidualElementMLP, pair_outer_sum
from zoo.potential import Potential
from zoo.registry import register

#: statistics with a smaller spread are left unscaled
MIN_STD = 1e-6
#: smallest spread of an environment-matrix column (DeePMD-kit's protection of dstd)
MIN_ROW_STD = 1e-2


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

    Input scaling as DeePMD-kit's davg/dstd: R̃ is replaced by (R̃ - davg) / dstd per
    centre element, with davg non-zero in the s column only and both moments taken over
    all sum(sel) slots, the empty ones as zero rows; the embedding input is the normalized
    s column. The empty slots of the paper's padded matrix then hold (-davg/dstd, 0, 0, 0),
    and so does a neighbour at r_c (s = 0): the energy stays smooth when a neighbour enters.
    Only filled slots are stored, so their share of G^T R̃ is added in closed form, the
    count of empty slots per (atom, neighbour element) times one embedding of that row.

    The descriptor D is centred per element and column and divided by one spread per
    element (the RMS over columns of the column standard deviations), with statistics of
    the training split taken with the initial embedding weights: a fixed affine map (like
    HDNNP's input scaling; without it the fitting network sees nearly constant inputs).
    Per-column spreads would amplify nearly constant columns (spreads down to 1e-4 of the
    column mean on Cu), so that small embedding updates move those inputs by many units.

    The embedding is DeePMD-kit's (:class:`zoo.layers.ResidualElementMLP`: tanh layers,
    the last one included, with residual doubling). On Cu-200 (40 epochs, batch 4, see
    docs/DESIGN.md) it took the training-set force RMSE from 81 (linear last layer) to
    57 meV/Å, and the s-column shift with its empty slots to 44 meV/Å.

    Deviations from the paper: the standardization of D; smaller default networks; the
    fitting network has no residual connections. With the switch over the last 1 Å only
    (r_cs = r_c - 1 Å) forces barely trained; the default r_cs is 0.5 Å
    (``DeepPotSeParams.auto``).

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
        # DeePMD-kit's davg (s column only) and dstd per centre element
        self.row_mean = self.add_weight(shape=(n,), initializer="zeros", trainable=False, name="row_mean")
        self.row_std = self.add_weight(shape=(n, 4), initializer="ones", trainable=False, name="row_std")
        width = m * self.axis_neurons
        self.d_mean = self.add_weight(shape=(n, width), initializer="zeros", trainable=False, name="d_mean")
        self.d_std = self.add_weight(shape=(n, width), initializer="ones", trainable=False, name="d_std")
        self.embedding_net = ResidualElementMLP(self.n_groups, 1, self.embedding[:-1], m, activation,
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
        normalized = self._normalize(rows, centre_element)
        g = self.embedding_net(normalized[:, :1], self._group(centre_element, inputs[keys.ENV_MATRIX_NEIGHBOR_ELEMENT]))
        n_slots = self.featurizer.params.n_slots
        t = pair_outer_sum(g, normalized, centre, inputs[keys.ENV_MATRIX_SLOT], n_atoms, n_slots)
        t = (t + self._padding_sum(inputs, rows.dtype)) / tf.cast(n_slots, rows.dtype)
        d = tf.einsum("imc,inc->imn", t, t[:, :self.axis_neurons, :])
        return tf.reshape(d, [-1, self.embedding[-1] * self.axis_neurons])

    def _normalize(self, rows, centre_element):
        """(R̃ - davg) / dstd of the centre's element; davg shifts the s column only."""
        shift = tf.gather(self.row_mean, centre_element)[:, None] * tf.one_hot(0, 4, dtype=rows.dtype)
        return (rows - shift) / tf.gather(self.row_std, centre_element)

    def _group(self, centre_element, neighbor_element):
        """Embedding network of each row."""
        if self.type_one_side:
            return neighbor_element
        return centre_element * len(self.elements) + neighbor_element

    def _padding_sum(self, inputs, dtype):
        """[n_atoms, M, 4]: the empty slots' share of G^T R̃ (their normalized rows are
        (-davg/dstd, 0, 0, 0), as a neighbour's at r_c, so the sum stays smooth). The share
        of one empty slot depends only on the (centre, neighbour) elements, so it is embedded
        once per element pair and weighted by each atom's count of empty slots."""
        element = inputs[keys.ELEMENT]
        centre = inputs[keys.ENV_MATRIX_CENTRE]
        n_atoms, n_el, m = tf.shape(element)[0], len(self.elements), self.embedding[-1]
        block = centre * n_el + inputs[keys.ENV_MATRIX_NEIGHBOR_ELEMENT]  # (atom, neighbour element)
        filled = tf.math.unsorted_segment_sum(tf.ones_like(centre), block, n_atoms * n_el)
        empty = tf.cast(tf.tile(tf.constant(self.featurizer.params.sel, tf.int32), [n_atoms]) - filled, dtype)
        centre_element, neighbor_element = tf.repeat(tf.range(n_el), n_el), tf.tile(tf.range(n_el), [n_el])
        empty_row = self._normalize(tf.zeros([n_el * n_el, 4], dtype), centre_element)
        g = self.embedding_net(empty_row[:, :1], self._group(centre_element, neighbor_element))  # [n_el², M]
        share = tf.reshape(g[:, :, None] * empty_row[:, None, :], [n_el, n_el, m * 4])
        per_atom = tf.einsum("ie,iek->ik", tf.reshape(empty, [n_atoms, n_el]), tf.gather(share, element))
        return tf.reshape(per_atom, [n_atoms, m, 4])

    def atomic_outputs(self, inputs, training=False):
        element = inputs[keys.ELEMENT]
        d = (self.descriptor(inputs) - tf.gather(self.d_mean, element)) / tf.gather(self.d_std, element)
        return {keys.ATOMIC_ENERGIES: tf.squeeze(self.network(d, element), axis=-1)}

    def adapt_inputs(self, batch):
        self._adapt_rows(batch)
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

    def _adapt_rows(self, batch):
        """DeePMD-kit's davg/dstd: moments over all sum(sel) slots of each centre, the empty
        ones as zero rows; x, y, z share one spread."""
        rows = np.asarray(batch[keys.ENV_MATRIX], np.float64)
        element = np.asarray(batch[keys.ELEMENT])
        centre_element = element[np.asarray(batch[keys.ENV_MATRIX_CENTRE])]
        n = len(self.elements)
        mean, std = np.zeros(n), np.ones((n, 4))
        for e in np.unique(element):
            mine = rows[centre_element == e]
            n_slots = np.sum(element == e) * self.featurizer.params.n_slots
            mean[e] = mine[:, 0].sum() / n_slots
            std[e, 0] = np.sqrt(max(np.sum(mine[:, 0] ** 2) / n_slots - mean[e] ** 2, 0.0))
            std[e, 1:] = np.sqrt(np.sum(mine[:, 1:] ** 2) / (3 * n_slots))
        self.row_mean.assign(mean)
        self.row_std.assign(np.maximum(std, MIN_ROW_STD))

    def get_config(self):
        params = self.featurizer.params
        return {**super().get_config(), "elements": list(self.elements), "cutoff": params.cutoff,
                "env": params.to_dict(), "embedding": list(self.embedding), "axis_neurons": self.axis_neurons,
                "hidden": list(self.hidden), "type_one_side": self.type_one_side, "activation": self.activation}
