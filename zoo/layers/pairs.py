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


#: the slot count of :func:`pair_outer_sum` is rounded up to a multiple of this, so that its
#: batched product sees few shapes (oneDNN keeps a primitive per shape, docs/DESIGN.md "Memory")
SLOT_QUANTUM = 8


def pair_outer_sum(left, right, centre, slot, n_atoms, n_slots=None):
    """``out[a] = sum_{p: centre[p] = a} left[p] ⊗ right[p]``, as one batched matrix product.

    The rows are scattered into dense [n_atoms, n_slots, .] blocks at (centre, slot) and
    multiplied, ``out[a] = L_a^T R_a``. The same sum as ``pair_sum(left[:, :, None] *
    right[:, None, :])``, but without the [n_pairs, K, M] products, which force training
    materialises in the forward pass and in both backward passes (docs/DESIGN.md, "Pair
    outer sums as batched products": EANN's training step 2.1x faster on Cu-108).

    Args:
        left: float [n_pairs, K]; right: float [n_pairs, M].
        centre: int [n_pairs], atom of each row; slot: int [n_pairs], the row's place
            among its centre's rows (unique per centre, 0 .. n_slots - 1).
        n_atoms: scalar int, atoms in the batch.
        n_slots: slots per atom; None: the largest slot + 1, rounded up to a multiple of
            :data:`SLOT_QUANTUM`.

    Returns:
        float [n_atoms, K, M].
    """
    layout = slot_layout(centre, slot, n_atoms, n_slots)
    return tf.einsum("isk,ism->ikm", to_slots(left, layout), to_slots(right, layout))


def slot_layout(centre, slot, n_atoms, n_slots=None):
    """Where :func:`to_slots` puts each row: its (centre, slot) index and the dense block
    size [n_atoms, n_slots] (``n_slots`` None: the largest slot + 1, rounded up to a multiple
    of :data:`SLOT_QUANTUM`). Computed once, it serves every product over the same rows."""
    centre, slot = tf.cast(centre, tf.int32), tf.cast(slot, tf.int32)
    if n_slots is None:
        n_slots = (tf.maximum(tf.reduce_max(slot), 0) // SLOT_QUANTUM + 1) * SLOT_QUANTUM  # max of no rows: 0
    return tf.stack([centre, slot], axis=1), tf.stack([tf.cast(n_atoms, tf.int32), tf.cast(n_slots, tf.int32)])


def to_slots(rows, layout):
    """float [n_atoms, n_slots, ...]: ``rows`` [n_rows, ...] at their places of ``layout``
    (:func:`slot_layout`), zeros elsewhere."""
    index, size = layout
    return tf.scatter_nd(index, rows, tf.concat([size, tf.shape(rows)[1:]], axis=0))


def contiguous_slots(centre, n_atoms):
    """A slot for every row, for :func:`pair_outer_sum` on inputs that have none: the row's
    distance from its centre's first row. The slots of one centre are unique in any order of
    the rows; when each centre's rows are contiguous (as the featurizers and the flat-batch
    collation give them) they are 0, 1, ..., so the blocks are as small as they can be.

    Args:
        centre: int [n_rows], atom of each row.
        n_atoms: scalar int, atoms in the batch.

    Returns:
        int32 [n_rows].
    """
    centre = tf.cast(centre, tf.int32)
    rows = tf.range(tf.shape(centre)[0])
    return rows - tf.gather(tf.math.unsorted_segment_min(rows, centre, n_atoms), centre)


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
