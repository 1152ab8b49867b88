"""Flat batches: the one format every model consumes.

A batch concatenates the atoms of several structures; atoms, pairs and structures are never
padded. Only the Jacobian blocks are: their count is rounded up to one of a bounded set of
sizes with zero blocks (:func:`pad_jacobian_blocks`), because TensorFlow's oneDNN build
caches a primitive per distinct batch shape of the force contraction, so that memory grew
with every training step (~0.4 MiB per step, HDNNP on Cu-108, batch 8) as block counts
varied.

- Atom-indexed arrays (``ELEMENT``, ``DESCRIPTORS``, ``FORCES``, ...) have leading
  dimension ``n_atoms`` (all atoms of the batch).
- ``STRUCTURE`` int [n_atoms] maps each atom to its structure (0 .. n_structures-1) and
  ``N_ATOMS`` int [n_structures] counts atoms per structure; structure sums are
  ``tf.math.unsorted_segment_sum(x, structure, n_structures)``.
- Index-valued arrays (Jacobian items and atoms, later pair indices) are offset into the
  batch: every such key is listed in :data:`zoo.keys.OFFSET_BY` together with the key whose
  per-structure length it is offset by.
- Structure-level labels (``ENERGY``, ``TOTAL_CHARGE``, ``DIPOLE``) have leading
  dimension ``n_structures``.

:func:`collate` is the only place that builds batches.
"""

from __future__ import annotations

import numpy as np

from zoo import keys


#: Jacobian block counts are rounded up to a multiple of 2^(bit length - this): at most
#: 2^-(this - 1) extra blocks (3 %), 2^(this - 1) sizes per doubling of the count
BLOCK_SIZE_BITS = 6


def padded_block_count(n: int) -> int:
    """The block count ``n`` rounded up to the next multiple of 2^(bit_length(n) - BLOCK_SIZE_BITS)."""
    step = 1 << max(int(n).bit_length() - BLOCK_SIZE_BITS, 0)
    return -(-int(n) // step) * step


def pad_jacobian_blocks(batch: dict[str, np.ndarray], jacobians) -> dict[str, np.ndarray]:
    """Append zero blocks (item 0, atom 0, partner 0, value 0, displacement 0) to each Jacobian of
    ``batch`` up to :func:`padded_block_count`; they add nothing to forces or virials.
    (Item 0 exists whenever there is a block: a Jacobian without rows has no blocks, and
    zero blocks stay zero.)"""
    for jac in jacobians:
        if jac.item not in batch:
            continue
        n = len(batch[jac.item])
        extra = padded_block_count(n) - n
        if extra == 0:
            continue
        for key in (jac.item, jac.atom, jac.partner, jac.value, jac.displacement):
            if key in batch:
                array = batch[key]
                batch[key] = np.concatenate([array, np.zeros((extra, *array.shape[1:]), array.dtype)])
    return batch


def collate(structures: list[dict[str, np.ndarray]], jacobians=()) -> dict[str, np.ndarray]:
    """Concatenate per-structure inputs into one flat batch.

    Args:
        structures: one dict per structure, as returned by ``Featurizer.featurize`` (and
            optionally labels); all dicts have the same keys, with indices local to the
            structure. Each must contain ``keys.ELEMENT``. Structure-level entries
            (energy, dipole, ...) have a leading dimension of 1.
        jacobians: the featurizer's :class:`zoo.keys.JacobianKeys`, whose block counts are
            padded (:func:`pad_jacobian_blocks`); empty: nothing is padded.

    Returns:
        The flat batch: the same keys concatenated with indices offset, plus
        ``STRUCTURE`` and ``N_ATOMS``.
    """
    if not structures:
        raise ValueError("cannot collate an empty list of structures")
    names = structures[0].keys()
    n_atoms = np.array([len(s[keys.ELEMENT]) for s in structures], dtype=np.int32)
    batch = {}
    for name in names:
        parts = [s[name] for s in structures]
        if name in keys.OFFSET_BY:
            lengths = [len(s[keys.OFFSET_BY[name]]) for s in structures]
            starts = np.concatenate([[0], np.cumsum(lengths[:-1])]).astype(parts[0].dtype)
            parts = [p + start for p, start in zip(parts, starts)]
        batch[name] = np.concatenate(parts)
    batch[keys.N_ATOMS] = n_atoms
    batch[keys.STRUCTURE] = np.repeat(np.arange(len(structures), dtype=np.int32), n_atoms)
    return pad_jacobian_blocks(batch, jacobians)
