"""Message passing on a flat batch: gather by pair index, segment-sum back to atoms.

Pairs are the entries of a full neighbour list (``keys.PAIR_CENTRE`` i and
``keys.PAIR_NEIGHBOR`` j, offset into the batch by :func:`zoo.batch.collate`), so one
``tf.gather`` and one ``tf.math.unsorted_segment_sum`` pass messages for every structure of
a batch at once, whatever its size; no loop runs over atoms or structures.
"""

import keras
import tensorflow as tf


def pair_sum(messages, centre, n_atoms):
    """``out[a] = sum_{p: centre[p] = a} messages[p]``.

    Args:
        messages: float [n_pairs, ...], one message per neighbour entry.
        centre: int [n_pairs], the receiving atom of each message.
        n_atoms: scalar int, atoms in the batch (atoms without neighbours get zeros).

    Returns:
        float [n_atoms, ...].
    """
    return tf.math.unsorted_segment_sum(messages, centre, n_atoms)


@keras.saving.register_keras_serializable(package="zoo")
class PairSum(keras.layers.Layer):
    """:func:`pair_sum` as a layer: ``call(messages, centre, n_atoms)``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True

    def call(self, messages, centre, n_atoms):
        return pair_sum(messages, centre, n_atoms)


def built_dense(n_inputs, units, activation=None, use_bias=True, name=None, dtype=None):
    """A ``keras.layers.Dense`` built for ``n_inputs`` features, so that its weights exist
    when the model that owns it is constructed (docs/DESIGN.md, "Model configuration")."""
    layer = keras.layers.Dense(units, activation=activation, use_bias=use_bias, name=name, dtype=dtype)
    layer.build((None, int(n_inputs)))
    return layer
