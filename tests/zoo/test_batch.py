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


def pair_structure(n_atoms, n_pairs, seed):
    """Random pair-block inputs under the EANN keys: one block per row, atom j, partner i."""
    rng = np.random.default_rng(seed)
    jk = keys.GTO_JACOBIAN
    i, j = rng.integers(0, n_atoms, (2, n_pairs))
    return {keys.ELEMENT: np.zeros(n_atoms, np.int32), jk.values: rng.normal(size=(n_pairs, 2)),
            jk.item: np.arange(n_pairs), jk.atom: j, jk.partner: i, jk.value: rng.normal(size=(n_pairs, 2, 3)),
            jk.displacement: rng.normal(size=(n_pairs, 3)), keys.GTO_CENTRE: i}


def test_pair_blocks_are_offset_padded_and_contract_like_two_blocks_per_row():
    """A pair block (atom j +J, partner i -J) gives the forces and virials of the two-block
    form (j: +J with the displacement, i: -J with displacement 0), also after padding."""
    import tensorflow as tf

    from zoo.layers.contraction import contract_jacobian, contract_virial

    jk = keys.GTO_JACOBIAN
    parts = [pair_structure(30, n, seed) for seed, n in enumerate((70, 55, 80))]
    batch = collate(parts, (jk,))
    n_pairs = sum(len(p[jk.item]) for p in parts)
    assert len(batch[jk.partner]) == padded_block_count(n_pairs) > n_pairs
    assert not batch[jk.partner][n_pairs:].any() and not batch[jk.value][n_pairs:].any()
    np.testing.assert_array_equal(batch[jk.partner][70:125], parts[1][jk.partner] + 30)
    np.testing.assert_array_equal(batch[jk.partner][:n_pairs], batch[keys.GTO_CENTRE])
    grad = tf.constant(np.random.default_rng(9).normal(size=batch[jk.values].shape))
    n_atoms = len(batch[keys.ELEMENT])
    forces = contract_jacobian(grad, batch[jk.item], batch[jk.atom], batch[jk.value], n_atoms, batch[jk.partner])
    virial = contract_virial(grad, batch[jk.item], batch[jk.atom], batch[jk.value], batch[jk.displacement],
                             batch[keys.STRUCTURE], 3)
    item = np.concatenate([batch[jk.item], batch[jk.item]])
    atom = np.concatenate([batch[jk.atom], batch[jk.partner]])
    value = np.concatenate([batch[jk.value], -batch[jk.value]])
    displacement = np.concatenate([batch[jk.displacement], np.zeros_like(batch[jk.displacement])])
    np.testing.assert_allclose(forces, contract_jacobian(grad, item, atom, value, n_atoms), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(virial, contract_virial(grad, item, atom, value, displacement, batch[keys.STRUCTURE], 3),
                               rtol=1e-12, atol=1e-12)
    assert np.abs(forces.numpy().sum(axis=0)).max() < 1e-10  # pair blocks conserve momentum by construction


def test_pair_blocks_and_their_keys_must_agree():
    from descriptors.jacobian import Jacobian
    from zoo.featurizers.base import jacobian_entries

    z = np.zeros(2, np.int64)
    jac = Jacobian(z, z, np.zeros((2, 1, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="pair_blocks=False"):
        jacobian_entries(keys.GTO_JACOBIAN, np.zeros((2, 1)), jac)  # keys with partners, kernel without
    with pytest.raises(ValueError, match="pair_blocks=True"):
        jacobian_entries(keys.DESCRIPTORS_JACOBIAN, np.zeros((2, 1)), jac._replace(partner=z))
    assert keys.GTO_JACOBIAN.partner in jacobian_entries(keys.GTO_JACOBIAN, np.zeros((2, 1)), jac._replace(partner=z))


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
