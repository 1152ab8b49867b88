"""Deep tensor neural network (DTNN): atom coefficients refined by pairwise interactions
(2G, learnable descriptors)."""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo import keys
from zoo.featurizers import DistanceFeaturizer
from zoo.layers import CosineCutoff, GaussianExpansion, built_dense, pair_sum
from zoo.potential import Potential
from zoo.registry import register

#: upper end (Å) of the Gaussian grid when the model uses all pairs (cutoff=None)
ALL_PAIRS_MU_MAX = 10.0


@register("dtnn", generation="2G", descriptor="learnable",
          paper="K. T. Schütt, F. Arbabzadah, S. Chmiela, K.-R. Müller, A. Tkatchenko, "
                "Nat. Commun. 8, 13890 (2017)")
class DTNN(Potential):
    """DTNN: coefficient vectors of atoms refined T times by a tensor layer (review 3.3).

    Schütt et al. 2017; review Kocer, Ko, Behler 2022, Eqs. 7 and 8. Atom i starts from
    the embedding of its nuclear charge, ``c_i^(0) = C_{Z_i}`` (B features). The distances
    are expanded on Gaussians ``d̂_ij = exp(-(d_ij - μ_k)² / (2σ²))``, μ_k = μ_min + k Δμ
    (:meth:`zoo.layers.GaussianExpansion.dtnn`), and each refinement t adds the
    interactions with all neighbours (review Eq. 7)

        c_i^(t+1) = c_i^(t) + sum_{j != i} v_ij^(t) f_c(d_ij),
        v_ij^(t) = tanh(W^fc ((W^cf c_j^(t) + b^f1) ∘ (W^df d̂_ij + b^f2)))   (review Eq. 8),

    the factorized tensor layer with C hidden factors. The atomic energy is
    ``E_i = W^out2 tanh(W^out1 c_i^(T) + b^out1) + b^out2``, and E = sum_i E_i.

    Spatial cutoff: the original DTNN sums over *all* atom pairs of a molecule. Here the
    sum runs over a neighbour list within ``cutoff`` and every interaction is multiplied
    by the cosine cutoff f_c, which vanishes with zero slope at r_c, so the energy stays
    continuous (with continuous forces) when pairs cross the cutoff; this also makes the
    model usable for periodic crystals. ``cutoff=None`` restores the original: all pairs,
    f_c = 1, molecules only, with the Gaussian grid up to ``mu_max`` (default 10 Å).

    Deviations from the paper: the cutoff (above, optional); atomic energies are scaled by
    the energy scale and shifted by the least-squares element baseline of the training
    split (the base class) instead of the per-element mean and standard deviation of the
    paper's energy normalization. Whether the T refinements share one set of weights is
    ``shared_interactions`` (default: each has its own).

    Args:
        elements: atomic numbers the model handles.
        cutoff: r_c (Å), or None for all pairs (molecules only).
        n_basis: B, size of the atom coefficient vectors.
        n_factors: C, hidden factors of the tensor layer.
        n_interactions: T, refinements.
        mu_min, delta_mu, sigma: the Gaussian grid (Å); it ends at ``mu_max`` (Å;
            default: the cutoff, or 10 Å for all pairs).
        n_output_hidden: width of the output layer W^out1 (default B / 2).
        shared_interactions: one set of interaction weights for all T refinements.
        **kwargs: loss weights and Keras options, see :class:`zoo.Potential`.
    """

    def __init__(self, elements, cutoff=5.0, n_basis=30, n_factors=60, n_interactions=3, mu_min=-1.0,
                 delta_mu=0.2, sigma=0.2, mu_max=None, n_output_hidden=None, shared_interactions=False, **kwargs):
        super().__init__(featurizer=DistanceFeaturizer(elements, cutoff), **kwargs)
        self.cutoff = None if cutoff is None else float(cutoff)
        self.n_basis, self.n_factors, self.n_interactions = int(n_basis), int(n_factors), int(n_interactions)
        if min(self.n_basis, self.n_factors, self.n_interactions) < 1:
            raise ValueError(f"n_basis, n_factors and n_interactions must be >= 1, received "
                             f"{n_basis}, {n_factors}, {n_interactions}")
        self.mu_min, self.delta_mu, self.sigma = float(mu_min), float(delta_mu), float(sigma)
        default_max = ALL_PAIRS_MU_MAX if self.cutoff is None else self.cutoff
        self.mu_max = float(default_max if mu_max is None else mu_max)
        self.n_output_hidden = int(n_output_hidden or max(self.n_basis // 2, 1))
        self.shared_interactions = bool(shared_interactions)
        dtype = self.dtype_policy
        self.embedding = self.add_weight(shape=(len(self.elements), self.n_basis), name="embedding",
                                         initializer=keras.initializers.RandomNormal(stddev=1.0))
        self.expansion = GaussianExpansion.dtnn(self.mu_min, self.mu_max, self.delta_mu, self.sigma, dtype=dtype,
                                                name="gaussians")
        self.cutoff_function = None if self.cutoff is None else CosineCutoff(self.cutoff, dtype=dtype, name="cutoff")
        n_distinct = 1 if self.shared_interactions else self.n_interactions
        self.interactions = [self._tensor_layer(t) for t in range(n_distinct)]
        self.output_network = [built_dense(self.n_basis, self.n_output_hidden, "tanh", name="out1", dtype=dtype),
                               built_dense(self.n_output_hidden, 1, name="out2", dtype=dtype)]

    def _tensor_layer(self, t):
        """W^cf (with b^f1), W^df (with b^f2) and W^fc of review Eq. 8."""
        b, c, dtype = self.n_basis, self.n_factors, self.dtype_policy
        return [built_dense(b, c, name=f"t{t}_cf", dtype=dtype),
                built_dense(self.expansion.n_basis, c, name=f"t{t}_df", dtype=dtype),
                built_dense(c, b, use_bias=False, name=f"t{t}_fc", dtype=dtype)]

    def atomic_outputs(self, inputs, training=False):
        distance = inputs[keys.PAIR_DISTANCE]
        centre, neighbor = inputs[keys.PAIR_CENTRE], inputs[keys.PAIR_NEIGHBOR]
        n_atoms = tf.shape(inputs[keys.ELEMENT])[0]
        d_hat = self.expansion(distance)                                    # [n_pairs, K]
        c = tf.gather(self.embedding, inputs[keys.ELEMENT])                 # [n_atoms, B]
        for t in range(self.n_interactions):
            cf, df, fc = self.interactions[0 if self.shared_interactions else t]
            v = tf.tanh(fc(tf.gather(cf(c), neighbor) * df(d_hat)))         # review Eq. 8
            if self.cutoff_function is not None:
                v = v * self.cutoff_function(distance)
            c = c + pair_sum(v, centre, n_atoms)                            # review Eq. 7
        out1, out2 = self.output_network
        return {keys.ATOMIC_ENERGIES: tf.squeeze(out2(out1(c)), axis=-1)}

    def get_config(self):
        return {**super().get_config(), "elements": list(self.elements), "cutoff": self.cutoff,
                "n_basis": self.n_basis, "n_factors": self.n_factors, "n_interactions": self.n_interactions,
                "mu_min": self.mu_min, "delta_mu": self.delta_mu, "sigma": self.sigma, "mu_max": self.mu_max,
                "n_output_hidden": self.n_output_hidden, "shared_interactions": self.shared_interactions}
