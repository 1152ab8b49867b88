"""Flat batches: collate offsets and the on-the-fly pipeline with its bounded cache."""

import numpy as np
import pytest

from zoo import keys
from zoo.batch import BLOCK_SIZE_BITS, collate, padded_block_count
from zoo.pipeline import BatchSource, FeatureCache


def structure(n_atoms, n_items, seed):
    rng = np.random.default_rng(seed)
    jk = keys.DESCRIPTORS_JACOBIAN
    n_blocks = 2 * n_items
    return {
        keys.ELEMENT: rng.integers(0, 2, n_atoms).astype(np.int32),
        jk.values: rng.normal(size=(n_items, 3)),
        jk.item: rng.integers(0, n_items, n_blocks),
        jk.atom: rng.integers(0, n_atoms, n_blocks),
        jk.value: rng.normal(size=(n_blocks, 3, 3)),
        keys.ENERGY: rng.normal(size=1),
    }


def test_collate_offsets_indices_by_their_own_arrays():
    a, b = structure(5, 5, 0), structure(3, 3, 1)
    batch = collate([a, b])
    jk = keys.DESCRIPTORS_JACOBIAN
    n_blocks_a = len(a[jk.item])
    np.testing.assert_array_equal(batch[jk.item][n_blocks_a:], b[jk.item] + 5)
    np.testing.assert_array_equal(batch[jk.atom][n_blocks_a:], b[jk.atom] + 5)
    np.testing.assert_array_equal(batch[keys.STRUCTURE], [0] * 5 + [1] * 3)
    np.testing.assert_array_equal(batch[keys.N_ATOMS], [5, 3])
    np.testing.assert_array_equal(batch[keys.ENERGY], np.concatenate([a[keys.ENERGY], b[keys.ENERGY]]))


def test_collate_same_structure_twice():
    a = structure(4, 4, 2)
    batch = collate([a, a])
    jk = keys.DESCRIPTORS_JACOBIAN
    half = len(a[jk.atom])
    np.testing.assert_array_equal(batch[jk.atom][half:] - 4, batch[jk.atom][:half])
    np.testing.assert_array_equal(batch[jk.values][4:], batch[jk.values][:4])


def test_collate_rejects_empty():
    with pytest.raises(ValueError, match="empty"):
        collate([])


def test_block_counts_round_up_to_a_bounded_set_of_sizes():
    counts = np.arange(0, 70_000)
    padded = np.array([padded_block_count(n) for n in counts])
    assert np.all(padded >= counts)
    assert np.all(padded[:64] == counts[:64])  # small counts stay as they are
    assert np.all(padded - counts <= counts / 2 ** (BLOCK_SIZE_BITS - 1))  # at most ~3 % padding
    for k in range(6, 16):  # 32 sizes per doubling (and its end), so a shape cache stays bounded
        assert len(np.unique(padded[2**k:2 ** (k + 1)])) == 2 ** (BLOCK_SIZE_BITS - 1) + 1


def test_padded_blocks_leave_forces_and_virials_unchanged():
    import tensorflow as tf

    from zoo.layers.contraction import contract_jacobian, contract_virial

    jk = keys.DESCRIPTORS_JACOBIAN
    parts = [structure(40, n_items, seed) for seed, n_items in enumerate((41, 37, 39))]  # 234 blocks
    for p in parts:
        p[jk.displacement] = np.random.default_rng(5).normal(size=(len(p[jk.item]), 3))
    plain, padded = collate(parts), collate(parts, (jk,))
    n_blocks = len(plain[jk.item])
    assert len(padded[jk.item]) == padded_block_count(n_blocks) > n_blocks
    for key in (jk.item, jk.atom, jk.value, jk.displacement):
        assert not padded[key][n_blocks:].any()
        np.testing.assert_array_equal(padded[key][:n_blocks], plain[key])
    grad = tf.constant(np.random.default_rng(6).normal(size=plain[jk.values].shape))
    forces = [contract_jacobian(grad, b[jk.item], b[jk.atom], b[jk.value], 120) for b in (plain, padded)]
    np.testing.assert_array_equal(forces[0], forces[1])
    virials = [contract_virial(grad, b[jk.item], b[jk.atom], b[jk.value], b[jk.displacement], b[keys.STRUCTURE], 3)
               for b in (plain, padded)]
    np.testing.assert_allclose(virials[0], virials[1], rtol=1e-14, atol=1e-14)


def test_cache_stops_at_its_budget():
    cache = FeatureCache(max_bytes=1000)
    item = {"x": np.zeros(50)}  # 400 bytes
    for i in range(5):
        cache.put(i, item)
    assert len(cache) == 2 and cache.nbytes == 800
    assert cache.get(4) is None and cache.get(0) is item


def test_batch_source_covers_every_structure_once_per_epoch(cu_data):
    import zoo

    model = zoo.create("hdnnp", elements=cu_data.elements, cutoff=4.0)
    source = BatchSource(cu_data, model.featurizer, batch_size=6, labels=(keys.ENERGY,), shuffle=True,
                         cache_bytes=0)
    energies = np.concatenate([y[keys.ENERGY] for _, y in source.batches()])
    assert len(source) == 4 and len(source.cache) == 0
    np.testing.assert_allclose(np.sort(energies), np.sort(cu_data.labels[keys.ENERGY]), rtol=1e-6)
    again = np.concatenate([y[keys.ENERGY] for _, y in source.batches()])
    assert not np.array_equal(energies, again)  # a new order each epoch


def test_batch_source_rejects_bad_batch_size(cu_data):
    with pytest.raises(ValueError, match="batch_size"):
        BatchSource(cu_data, None, batch_size=0)
