"""ANI: element networks on ANI-1x atomic environment vectors (2G, predefined descriptors)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from descriptors.ani import AniParams
from zoo import keys
from zoo.featurizers import AniFeaturizer
from zoo.atomwise import AtomwisePotential
from zoo.layers.celu import activation_identifier
from zoo.registry import register


@register("ani", generation="2G", descriptor="predefined",
          paper="J. S. Smith, O. Isayev, A. E. Roitberg, Chem. Sci. 8, 3192 (2017); ANI-1x parameters: "
                "J. S. Smith et al., J. Chem. Phys. 148, 241733 (2018)")
class ANI(AtomwisePotential):
    """ANI: one CELU network per element on ANI-1x AEVs (Smith et al. 2017; review 3.2).

    ``E = sum_i E_{Z_i}(G_i)`` with G_i the AEV of atom i (Smith et al. 2017, Eqs. 3-4:
    element-resolved radial terms within 5.2 Å and element-pair-resolved angular terms
    within 3.5 Å, :mod:`descriptors.ani`) and ANI-1x's functions (16 radial shifts, 4 x 8
    angular; :meth:`descriptors.ani.AniParams.like_ani1x`). The networks use CELU with
    alpha = 0.1 as ANI-1x does; forces come from the Jacobians of the two AEV parts.

    The preset is element-generic: any ``elements`` get the ANI-1x functions (H, C, N, O
    give ANI-1x's 384 columns; Cu alone gives 16 + 32), so the model also runs on metals.

    Deviations from ANI-1x: one hidden-layer shape for all elements (ANI-1x uses
    160-128-96 for H, 144-112-96 for C, 128-112-96 for N and O), AEV columns standardized
    per element on the training split (ANI feeds raw AEVs; this only rescales the first
    layer), a single network instead of ANI-1x's ensemble of 8, and no L2 decay.

    Args:
        elements: atomic numbers the model handles.
        aev: explicit AEV parameters (``AniParams.to_dict()``); default ANI-1x for ``elements``.
        hidden: hidden-layer widths of each element network.
        activation: hidden activation ("celu_ani": CELU with alpha = 0.1; or a Keras name).
        **kwargs: loss weights and Keras options, see :class:`zoo.Potential`.
    """

    def __init__(self, elements, aev=None, hidden=(160, 128, 96), activation="celu_ani", **kwargs):
        params = AniParams.from_dict(aev) if aev else AniParams.like_ani1x(tuple(elements))
        super().__init__(AniFeaturizer(params), params.n_features, hidden, activation, **kwargs)

    def network_activation(self):
        return activation_identifier(self.activation)

    def descriptor_rows(self, inputs):
        return tf.concat([inputs[keys.ANI_RADIAL], inputs[keys.ANI_ANGULAR]], axis=1)

    def descriptor_array(self, batch):
        return np.concatenate([np.asarray(batch[keys.ANI_RADIAL], np.float64),
                               np.asarray(batch[keys.ANI_ANGULAR], np.float64)], axis=1)

    def get_config(self):
        return {**super().get_config(), "aev": self.featurizer.params.to_dict()}
