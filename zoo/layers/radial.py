"""Radial functions of pair distances for message-passing models (review 3.3).

Each is a pure TensorFlow function of a distance tensor plus a thin Keras layer holding its
parameters. Distances arrive as ``keys.PAIR_DISTANCE`` [n_pairs, 1] (Å), so broadcasting
against the basis parameters [K] gives [n_pairs, K] directly. These are model-side
functions (differentiated by ``tf.GradientTape`` down to the distance input, from which the
Jacobian contraction takes the forces), not descriptor kernels.

References:
    K. T. Schütt et al., Nat. Commun. 8, 13890 (2017) (DTNN): Gaussian expansion
    exp(-(d - μ_k)² / (2σ²)) on a grid μ_k = μ_min + k Δμ.
    K. T. Schütt et al., J. Chem. Phys. 148, 241722 (2018) (SchNet): radial basis
    exp(-γ (d - μ_k)²), μ_k every 0.1 Å, γ = 10 Å⁻²; cosine cutoff for periodic systems.
    N. Lubbers, J. S. Smith, K. Barros, J. Chem. Phys. 148, 241715 (2018) (HIP-NN):
    sensitivities exp(-(d⁻¹ - μ_ν⁻¹)² / (2 σ_ν⁻²)) times the cutoff cos²(π d / (2 r_c)).
    J. Behler, J. Chem. Phys. 134, 074106 (2011): the cosine cutoff 0.5 (cos(π d/r_c) + 1),
    which equals HIP-NN's cos²(π d / (2 r_c)).
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

#: SchNet's basis overlap: γ Δμ² = 10 Å⁻² × (0.1 Å)² (paper values), kept on any grid
SCHNET_GAMMA_SPACING2 = 0.1


def gaussian_expansion(distance, centres, gamma):
    """``exp(-γ (d - μ_k)²)``: a distance expanded on Gaussians (DTNN, SchNet).

    Args:
        distance: float [n_pairs, 1], Å.
        centres: float [K], Å, the μ_k.
        gamma: float scalar or [K], 1/Å², the widths γ = 1 / (2σ²).

    Returns:
        float [n_pairs, K].
    """
    centres = tf.cast(centres, distance.dtype)
    return tf.exp(-tf.cast(gamma, distance.dtype) * tf.square(distance - centres))


@keras.saving.register_keras_serializable(package="zoo")
class GaussianExpansion(keras.layers.Layer):
    """Fixed Gaussian basis :func:`gaussian_expansion` (no trainable weights).

    Args:
        centres: the μ_k (Å).
        gamma: γ (1/Å²), one for all Gaussians.
    """

    def __init__(self, centres, gamma, **kwargs):
        super().__init__(**kwargs)
        self.centres = tuple(float(c) for c in centres)
        self.gamma = float(gamma)
        if not self.centres or not self.gamma > 0:
            raise ValueError(f"a Gaussian expansion needs at least one centre and gamma > 0 1/Å², received "
                             f"{len(self.centres)} centres and gamma={gamma}")
        self.built = True

    @classmethod
    def schnet(cls, cutoff, n_rbf, **kwargs) -> GaussianExpansion:
        """SchNet's basis: ``n_rbf`` centres evenly on [0, cutoff] (spacing Δ), γ = 0.1 / Δ²
        (the paper's 0.1 Å grid with γ = 10 Å⁻², rescaled to a coarser grid)."""
        if int(n_rbf) < 2:
            raise ValueError(f"n_rbf must be >= 2, received {n_rbf}")
        spacing = cutoff / (int(n_rbf) - 1)
        return cls(np.linspace(0.0, cutoff, int(n_rbf)), SCHNET_GAMMA_SPACING2 / spacing**2, **kwargs)

    @classmethod
    def dtnn(cls, mu_min, mu_max, delta_mu, sigma, **kwargs) -> GaussianExpansion:
        """DTNN's basis: centres μ_min + k Δμ up to μ_max, γ = 1 / (2σ²)."""
        if not (delta_mu > 0 and sigma > 0 and mu_max > mu_min):
            raise ValueError(f"need delta_mu > 0, sigma > 0 and mu_max > mu_min (Å), received "
                             f"delta_mu={delta_mu}, sigma={sigma}, mu_min={mu_min}, mu_max={mu_max}")
        n = int(math.floor((mu_max - mu_min) / delta_mu + 1e-9)) + 1
        return cls(mu_min + delta_mu * np.arange(n), 0.5 / sigma**2, **kwargs)

    @property
    def n_basis(self) -> int:
        return len(self.centres)

    def call(self, distance):
        """distance float [n_pairs, 1] (Å) -> float [n_pairs, K]."""
        return gaussian_expansion(distance, self.centres, self.gamma)

    def get_config(self):
        return {**super().get_config(), "centres": list(self.centres), "gamma": self.gamma}


def cosine_cutoff(distance, cutoff):
    """``0.5 (cos(π d / r_c) + 1)`` for d < r_c, else 0 (Behler 2011; HIP-NN's cos²(π d / 2r_c)).

    Value and slope vanish at r_c, so pairs entering or leaving the neighbour list change
    the energy continuously, with continuous forces.

    Args:
        distance: float [n_pairs, 1] (or any shape), Å.
        cutoff: r_c, Å.

    Returns:
        float, the shape of ``distance``.
    """
    inside = distance < cutoff
    safe = tf.where(inside, distance, tf.zeros_like(distance))  # no gradient leaks from outside
    return tf.where(inside, 0.5 * (tf.cos(math.pi / cutoff * safe) + 1.0), tf.zeros_like(distance))


@keras.saving.register_keras_serializable(package="zoo")
class CosineCutoff(keras.layers.Layer):
    """:func:`cosine_cutoff` with a fixed r_c (Å)."""

    def __init__(self, cutoff, **kwargs):
        super().__init__(**kwargs)
        if not float(cutoff) > 0:
            raise ValueError(f"cutoff must be > 0 Å, received {cutoff}")
        self.cutoff = float(cutoff)
        self.built = True

    def call(self, distance):
        return cosine_cutoff(distance, self.cutoff)

    def get_config(self):
        return {**super().get_config(), "cutoff": self.cutoff}


def inverse_gaussian_sensitivity(distance, inverse_mu, inverse_sigma):
    """HIP-NN's sensitivity ``exp(-(1/d - 1/μ_ν)² / (2 σ_ν⁻²))`` (without the cutoff).

    Parametrised by the inverse centre and width, the variables it depends on linearly.

    Args:
        distance: float [n_pairs, 1], Å.
        inverse_mu: float [n_sensitivities], 1/Å, the 1/μ_ν.
        inverse_sigma: float [n_sensitivities], 1/Å, the 1/σ_ν (width in inverse distance).

    Returns:
        float [n_pairs, n_sensitivities].
    """
    z = (1.0 / distance - inverse_mu) / inverse_sigma
    return tf.exp(-0.5 * tf.square(z))


@keras.saving.register_keras_serializable(package="zoo")
class InverseGaussianSensitivity(keras.layers.Layer):
    """HIP-NN sensitivities with learnable centres and widths, times the cosine cutoff.

    ``s_ν(d) = exp(-(d⁻¹ - μ_ν⁻¹)² / (2 σ_ν⁻²)) f_c(d)``. Initialisation (ours; the paper
    learns them): 1/μ_ν evenly spaced between 1/max_distance and 1/min_distance, each 1/σ_ν
    equal to that spacing, so neighbouring sensitivities overlap.

    Args:
        n_sensitivities: number of functions ν.
        min_distance, max_distance: Å, range of the initial centres.
        cutoff: Å, r_c of the cosine cutoff.
    """

    def __init__(self, n_sensitivities, min_distance, max_distance, cutoff, **kwargs):
        super().__init__(**kwargs)
        if not (0 < min_distance < max_distance <= cutoff) or int(n_sensitivities) < 2:
            raise ValueError(f"need n_sensitivities >= 2 and 0 < min_distance < max_distance <= cutoff (Å), "
                             f"received {n_sensitivities}, {min_distance}, {max_distance}, {cutoff}")
        self.n_sensitivities = int(n_sensitivities)
        self.min_distance, self.max_distance, self.cutoff = float(min_distance), float(max_distance), float(cutoff)
        inverse = np.linspace(1.0 / self.max_distance, 1.0 / self.min_distance, self.n_sensitivities)
        spacing = inverse[1] - inverse[0]
        self.inverse_mu = self.add_weight(shape=(self.n_sensitivities,), name="inverse_mu",
                                          initializer=keras.initializers.Constant(inverse))
        self.inverse_sigma = self.add_weight(shape=(self.n_sensitivities,), name="inverse_sigma",
                                             initializer=keras.initializers.Constant(spacing))
        self.built = True

    def call(self, distance):
        """distance float [n_pairs, 1] (Å) -> float [n_pairs, n_sensitivities]."""
        return inverse_gaussian_sensitivity(distance, self.inverse_mu, self.inverse_sigma) * cosine_cutoff(
            distance, self.cutoff)

    def get_config(self):
        return {**super().get_config(), "n_sensitivities": self.n_sensitivities,
                "min_distance": self.min_distance, "max_distance": self.max_distance, "cutoff": self.cutoff}
