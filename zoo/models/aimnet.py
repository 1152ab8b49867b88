"""AIMNet: atoms-in-molecules networks with learnable element embeddings on ANI AEV terms
(2G, learnable descriptors), predicting atomic energies and conserved partial charges."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from descriptors.ani import AniParams
from zoo import keys
from zoo.featurizers import AniTermsFeaturizer
from zoo.layers import contiguous_slots, neutralize, slot_layout, to_slots
from zoo.layers.celu import activation_identifier
from zoo.potential import Potential
from zoo.registry import register


#: charge loss weight (1/e²) when the training data have charges. GFN2-xTB charges of
#: ethanol spread ~0.2-0.4 e and an AIMNet reaches ~0.01 e, a charge MSE of ~1e-4 e²; energy
#: MSEs (eV²/atom²) of ~1e-5 and force terms (0.1 x ~1e-3 eV²/Å²) are of that order, so a
#: weight of 1 lets charges shape the shared AIM vectors without dominating the energy.
DEFAULT_CHARGES_WEIGHT = 1.0


def _mlp(widths, n_inputs, activation, dtype, name, last_initializer="glorot_uniform"):
    """Dense layers of ``widths`` (activation on all but the last), built for ``n_inputs``."""
    layers, width = [], n_inputs
    for k, units in enumerate(widths):
        last = k == len(widths) - 1
        layer = keras.layers.Dense(units, activation=None if last else activation, name=f"{name}{k}", dtype=dtype,
                                   kernel_initializer=last_initializer if last else "glorot_uniform")
        layer.build((None, width))
        layers.append(layer)
        width = units
    return layers


def _apply(layers, x):
    for layer in layers:
        x = layer(x)
    return x


@register("aimnet", generation="2G", descriptor="learnable",
          paper="R. Zubatyuk, J. S. Smith, J. Leszczynski, O. Isayev, Sci. Adv. 5, eaav6490 (2019)")
class AIMNet(Potential):
    """AIMNet: iterated atoms-in-molecules layers on ANI AEV terms weighted by learnable
    atomic feature vectors; outputs atomic energies and charges (review 3.3).

    Zubatyuk et al. 2019 (Fig. 1 and "AIMNet architecture"): every atom carries an atomic
    feature vector (AFV) a_i in R^F, initialised from a learnable embedding of its element.
    One pass of the AIM layer builds the embedded environment of atom i from the ANI terms
    (:func:`descriptors.ani.ani_terms`: radial g_ij [R] per neighbour entry, angular
    g_ijk [A Z] per unordered pair of neighbour entries, not element-resolved) weighted by
    the neighbours' AFVs,

        G^R_i = sum_j g_ij ⊗ a_j   [R, F],     G^A_i = sum_{j<k} g_ijk ⊗ (a_j ⊙ a_k)   [A Z, F],

    maps them with the embedding network to the AIM vector m_i = phi([G^R_i, G^A_i]) and
    updates the AFVs, a_i <- a_i + psi([m_i, a_i, q_i]), so the next pass sees information
    from twice as far. After ``passes`` passes (3 in the paper) output networks give the
    atomic energy E_i = e(m_i) and a raw charge q̃_i = c(m_i); the charges are then shifted
    uniformly within each structure so that they sum exactly to its total charge
    (:func:`zoo.layers.neutralize`). The charges of one pass are an input of the next AFV
    update, so the total charge of a structure reaches its energy. The charge network's
    last kernel starts at zero (initial charges: the uniform share of the total charge), and
    so does the update network's (the passes start as one pass repeated and learn to differ;
    with Glorot-initialised updates the model did not learn forces here). All
    networks are shared between passes. Forces come only from the Jacobians of g_ij and
    g_ijk (everything else is a function of these and of the elements).

    Deviations from the paper: the ANI-1x functions (5.2/3.5 Å) instead of AIMNet's own
    (4.6/3.1 Å, smaller grids); a_j ⊙ a_k (element-wise product) for the angular
    weighting of the pair (j, k); terms divided by fixed scales of their per-atom sums on
    the training split (``adapt_inputs``); the loss is taken on the last pass only (the
    paper sums it over passes); no volumes or other AIM properties; any elements.

    Args:
        elements: atomic numbers the model handles.
        aev: explicit AEV parameters (``AniParams.to_dict()``); default ANI-1x for ``elements``.
        n_features: F, length of the AFVs.
        passes: AIM passes (the paper's "iterations": 3).
        embedding: hidden widths of the embedding network phi (its last width is the AIM
            vector length).
        update: hidden widths of the AFV update network psi.
        output: hidden widths of the energy and charge output networks.
        activation: hidden activation ("celu_ani": CELU with alpha = 0.1, as ANI/AIMNet).
        charges_weight: weight of the charge MSE (e²) in the loss. None (default): fixed by
            :meth:`adapt` from the training data, :data:`DEFAULT_CHARGES_WEIGHT` when every
            structure has charges, else 0 (so the model trains on data without charges).
        dipole_weight: weight of the dipole MSE (e²Å²).
        **kwargs: energy/force loss weights and Keras options, see :class:`zoo.Potential`.
    """

    structure_inputs = (keys.TOTAL_CHARGE, keys.POSITIONS)

    def __init__(self, elements, aev=None, n_features=16, passes=3, embedding=(128, 64), update=(64,),
                 output=(64,), activation="celu_ani", charges_weight=None, dipole_weight=0.0, **kwargs):
        params = AniParams.from_dict(aev) if aev else AniParams.like_ani1x(tuple(elements))
        super().__init__(featurizer=AniTermsFeaturizer(params),
                         charges_weight=0.0 if charges_weight is None else charges_weight,
                         dipole_weight=dipole_weight, **kwargs)
        self.charges_weight_from_data = charges_weight is None
        if int(passes) < 1 or int(n_features) < 1:
            raise ValueError(f"passes and n_features must be >= 1, received passes={passes}, "
                             f"n_features={n_features}")
        self.n_features = int(n_features)
        self.passes = int(passes)
        self.embedding_widths = tuple(int(w) for w in embedding)
        self.update_widths = tuple(int(w) for w in update)
        self.output_widths = tuple(int(w) for w in output)
        self.activation = activation
        act, dtype = activation_identifier(activation), self.dtype_policy
        n_radial, n_angular = len(params.radial_shifts), params.n_angular_terms
        f = self.n_features
        self.element_features = self.add_weight(shape=(len(self.elements), f), name="element_features",
                                                initializer=keras.initializers.RandomNormal(stddev=1.0))
        self.pair_scale = self.add_weight(shape=(n_radial,), initializer="ones", trainable=False, name="pair_scale")
        self.triplet_scale = self.add_weight(shape=(n_angular,), initializer="ones", trainable=False,
                                             name="triplet_scale")
        self.embedding_net = _mlp(self.embedding_widths, (n_radial + n_angular) * f, act, dtype, "embedding")
        width = self.embedding_widths[-1]
        # the AFVs after the last pass are not used: no update network for a single pass. Its
        # last kernel starts at zero, so the passes start as one pass repeated: with random
        # updates the later passes' inputs were noise and training diverged (ethanol-1000 at
        # standard.toml's budget: force RMSE 828 meV/Å, about the force spread, see DESIGN.md)
        self.update_net = (_mlp((*self.update_widths, f), width + f + 1, act, dtype, "update",
                                last_initializer="zeros") if self.passes > 1 else [])
        self.energy_head = _mlp((*self.output_widths, 1), width, act, dtype, "energy")
        # charges start at the uniform share of the total charge (a zero last kernel): random
        # initial charges of ~1 e would first have to be unlearned
        self.charge_head = _mlp((*self.output_widths, 1), width, act, dtype, "charge", last_initializer="zeros")

    def term_blocks(self, inputs, n_atoms):
        """The scaled radial and angular terms in per-atom blocks, with where their weights go
        (:func:`zoo.layers.slot_layout`): built once per batch, used by every pass."""
        blocks = []
        for terms, centre, scale in ((keys.ANI_PAIR, keys.ANI_PAIR_CENTRE, self.pair_scale),
                                     (keys.ANI_TRIPLET, keys.ANI_TRIPLET_CENTRE, self.triplet_scale)):
            layout = slot_layout(inputs[centre], contiguous_slots(inputs[centre], n_atoms), n_atoms)
            blocks.append((to_slots(inputs[terms] / scale, layout), layout))
        return blocks

    def environments(self, inputs, afv, blocks):
        """[n_atoms, (R + A Z) F]: the neighbour-weighted radial and angular sums of one pass,
        as batched products of each atom's term block with its neighbours' weights. Summing
        the [rows, R or A Z, F] outer products instead made the environments 95 % of the
        forward pass and the training step 2.3-3.3x slower on an ethanol batch of 8, 4.8x on
        Cu-108 (docs/DESIGN.md, "Pair outer sums as batched products")."""
        (pair, pair_layout), (triplet, triplet_layout) = blocks
        neighbour = tf.gather(afv, inputs[keys.ANI_PAIR_NEIGHBOR])
        radial = tf.einsum("isr,isf->irf", pair, to_slots(neighbour, pair_layout))
        weight = tf.gather(afv, inputs[keys.ANI_TRIPLET_J]) * tf.gather(afv, inputs[keys.ANI_TRIPLET_K])
        angular = tf.einsum("isa,isf->iaf", triplet, to_slots(weight, triplet_layout))
        f = self.n_features
        return tf.concat([tf.reshape(radial, [-1, radial.shape[1] * f]),
                          tf.reshape(angular, [-1, angular.shape[1] * f])], axis=1)

    def charges(self, inputs, aim):
        """Charges [n_atoms] (e) from AIM vectors, summing to each structure's total charge."""
        raw = tf.squeeze(_apply(self.charge_head, aim), axis=-1)
        return neutralize(raw, inputs[keys.STRUCTURE], inputs[keys.N_ATOMS], inputs[keys.TOTAL_CHARGE])

    def atomic_outputs(self, inputs, training=False):
        afv = tf.gather(self.element_features, inputs[keys.ELEMENT])
        blocks = self.term_blocks(inputs, tf.shape(afv)[0])
        for t in range(self.passes):
            if t:
                afv = afv + _apply(self.update_net, tf.concat([aim, afv, charges[:, None]], axis=1))
            aim = _apply(self.embedding_net, self.environments(inputs, afv, blocks))
            charges = self.charges(inputs, aim)
        return {keys.ATOMIC_ENERGIES: tf.squeeze(_apply(self.energy_head, aim), axis=-1), keys.CHARGES: charges}

    def adapt(self, dataset, *args, **kwargs):
        """:meth:`zoo.Potential.adapt`, and the charge loss weight when it comes from the
        data (``charges_weight=None``)."""
        if self.charges_weight_from_data:
            self.charges_weight = DEFAULT_CHARGES_WEIGHT if dataset.has_label(keys.CHARGES) else 0.0
            self.charges_weight_from_data = False
        return super().adapt(dataset, *args, **kwargs)

    def adapt_inputs(self, batch):
        """Scale each term column by the standard deviation of its per-atom sum (the
        unweighted AEV part), so the environments start at unit scale."""
        n_atoms = len(batch[keys.ELEMENT])
        for values, centre, scale in ((batch[keys.ANI_PAIR], batch[keys.ANI_PAIR_CENTRE], self.pair_scale),
                                      (batch[keys.ANI_TRIPLET], batch[keys.ANI_TRIPLET_CENTRE], self.triplet_scale)):
            sums = np.zeros((n_atoms, values.shape[1]))
            np.add.at(sums, np.asarray(centre), np.asarray(values, np.float64))
            spread = sums.std(axis=0)
            scale.assign(np.where(spread > 1e-6, spread, 1.0))

    def get_config(self):
        return {**super().get_config(), "elements": list(self.elements), "aev": self.featurizer.params.to_dict(),
                "n_features": self.n_features, "passes": self.passes, "embedding": list(self.embedding_widths),
                "update": list(self.update_widths), "output": list(self.output_widths),
                "activation": self.activation,
                "charges_weight": None if self.charges_weight_from_data else self.charges_weight}
