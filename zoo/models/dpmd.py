"""Deep Potential Molecular Dynamics (DPMD): fitting networks on the local-frame descriptor."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from descriptors.dpmd import DpmdParams
from zoo import keys
from zoo.featurizers import DpmdFeaturizer
from zoo.atomwise import AtomwisePotential
from zoo.registry import register


@register("dpmd", generation="2G", descriptor="predefined",
          paper="L. Zhang, J. Han, H. Wang, R. Car, W. E, Phys. Rev. Lett. 120, 143001 (2018)")
class DPMD(AtomwisePotential):
    """DPMD: element-specific fitting networks on the sorted local-frame descriptor (review 3.2).

    ``E = sum_i E_{Z_i}(D_i)``: D_i holds, per neighbour element and nearest first,
    (1/R, x/R², y/R², z/R²) of the first ``n_full`` neighbours and 1/R of the next ones, in
    the local frame of atom i's two nearest neighbours (:mod:`descriptors.dpmd`; zeros for
    empty slots). The dense K columns of each atom are standardized with the per-element
    mean and standard deviation of the training split, then fed to the network of the
    atom's element. Energies and forces jump where the descriptor does (a neighbour
    crossing r_c, two neighbours swapping order, a new frame atom): the method's known
    drawback, which DeepPot-SE (``deeppot_se``) removes.

    Deviations from the paper: the frame atoms are the two nearest neighbours of any element
    (DeePMD-kit lets the user pick them by element); the default fitting network
    (120, 60, 30) is smaller than the paper's (240, 120, 60, 30, 10), for the benchmark
    budget.

    Args:
        elements: atomic numbers the model handles.
        cutoff: r_c (Å), used when ``dpmd`` is not given.
        n_full: full-information slots per element; ``n_max``: all slots per element
            (``DpmdParams.auto``), used when ``dpmd`` is not given.
        dpmd: explicit slots (``DpmdParams.to_dict()``).
        hidden: hidden-layer widths of each element's fitting network.
        activation: hidden activation (tanh as in the paper).
        **kwargs: loss weights and Keras options, see :class:`zoo.Potential`.
    """

    def __init__(self, elements, cutoff=6.0, n_full=16, n_max=96, dpmd=None, hidden=(120, 60, 30),
                 activation="tanh", **kwargs):
        params = DpmdParams.from_dict(dpmd) if dpmd else DpmdParams.auto(tuple(elements), cutoff, n_full, n_max)
        super().__init__(DpmdFeaturizer(params), params.n_features, hidden, activation,
                         network_name="fitting_networks", **kwargs)
        self.columns = params.dense_columns()

    def descriptor_rows(self, inputs):
        """[n_atoms * n_slots, 4] slot rows -> [n_atoms, K] dense columns."""
        rows = tf.reshape(inputs[keys.DPMD_SLOTS], [-1, 4 * self.featurizer.params.n_slots])
        return tf.gather(rows, self.columns, axis=1)

    def descriptor_array(self, batch):
        slots = np.asarray(batch[keys.DPMD_SLOTS], np.float64)
        return slots.reshape(len(batch[keys.ELEMENT]), -1)[:, self.columns]

    def get_config(self):
        return {**super().get_config(), "cutoff": self.featurizer.params.cutoff,
                "dpmd": self.featurizer.params.to_dict()}
