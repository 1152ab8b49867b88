"""pair_outer_sum (the batched product behind EANN's orbitals and DeepPot-SE's T) against the
segment sum of per-pair outer products, and the slots the EANN featurizer gives it or that
are computed in the graph (AIMNet, HIP-NN)."""

import numpy as np
import tensorflow as tf

from zoo.featurizers.eann import rank_within
from zoo.layers import contiguous_slots, pair_outer_sum, pair_sum, slot_layout, to_slots


def test_rank_within_counts_each_group_in_order():
    groups = np.array([2, 0, 2, 1, 0, 2])
    np.testing.assert_array_equal(rank_within(groups), [0, 0, 1, 0, 1, 2])
    assert rank_within(np.array([], np.int64)).shape == (0,)


def test_equals_the_segment_sum_of_outer_products_and_its_gradients():
    rng = np.random.default_rng(0)
    n_atoms, n_pairs = 7, 40
    centre = rng.integers(0, n_atoms - 1, n_pairs)  # unsorted; the last atom has no rows
    slot = rank_within(centre)
    left, right = (tf.constant(rng.normal(size=(n_pairs, k))) for k in (3, 5))
    weight = tf.constant(rng.normal(size=(n_atoms, 3, 5)))
    results = []
    for outer_sum in (lambda l, r: pair_outer_sum(l, r, centre, slot, n_atoms),
                      lambda l, r: pair_sum(l[:, :, None] * r[:, None, :], centre, n_atoms)):
        with tf.GradientTape() as tape:
            tape.watch([left, right])
            out = outer_sum(left, right)
            energy = tf.reduce_sum(tf.tanh(out) * weight)
        results.append([out, *tape.gradient(energy, [left, right])])
    for ours, reference in zip(*results):
        np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-12)
    assert not np.any(results[0][0][n_atoms - 1])


def test_fixed_slot_count_and_no_rows():
    centre, slot = np.array([1, 1]), np.array([3, 0])  # DeepPot-SE: slots of a padded matrix
    left, right = tf.ones((2, 2), tf.float64), tf.constant([[1.0], [2.0]], tf.float64)
    np.testing.assert_allclose(pair_outer_sum(left, right, centre, slot, 2, n_slots=5), [[[0], [0]], [[3], [3]]])
    empty = tf.zeros((0, 2), tf.float64)
    out = pair_outer_sum(empty, empty, np.zeros(0, np.int64), np.zeros(0, np.int64), 3)
    np.testing.assert_array_equal(out, np.zeros((3, 2, 2)))


def test_contiguous_slots_count_each_centre_from_zero():
    centre = np.array([0, 0, 0, 2, 2, 3])  # atom 1 has no rows
    np.testing.assert_array_equal(contiguous_slots(centre, 4), rank_within(centre))
    assert contiguous_slots(np.zeros(0, np.int64), 2).shape == (0,)


def test_contiguous_slots_stay_unique_when_rows_are_not_grouped():
    rng = np.random.default_rng(1)
    n_atoms, n_pairs = 5, 30
    centre = rng.integers(0, n_atoms, n_pairs)
    left, right = (tf.constant(rng.normal(size=(n_pairs, k))) for k in (2, 4))
    layout = slot_layout(centre, contiguous_slots(centre, n_atoms), n_atoms)
    ours = tf.einsum("isk,ism->ikm", to_slots(left, layout), to_slots(right, layout))
    np.testing.assert_allclose(ours, pair_sum(left[:, :, None] * right[:, None, :], centre, n_atoms), rtol=1e-12)
