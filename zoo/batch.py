"""Flat batches: the one format every model consumes.

A batch concatenates the atoms of several structures; atoms, pairs and structures are never
padded. Only the Jacobian blocks are: their count is rounded up to one of a bounded set of
sizes with zero blocks (:func:`padding_rows`), because TensorFlow's oneDNN build
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


def padding_rows(structures: list[dict[str, np.ndarray]], jacobians) -> dict[str, int]:
    """Zero rows to append to each Jacobian array of the batch of ``structures``: up to
    :func:`padded_block_count` blocks (item 0, atom 0, partner 0, value 0, displacement 0),
    which add nothing to forces or virials. (Item 0 exists whenever there is a block: a
    Jacobian without rows has no blocks, and zero blocks stay zero.)"""
    rows = {}
    for jac in jacobians:
        if jac.item not in structures[0]:
            continue
        n = sum(len(s[jac.item]) for s in structures)
        for key in (jac.item, jac.atom, jac.partner, jac.value, jac.displacement):
            if key in structures[0]:
                rows[key] = padded_block_count(n) - n
    return rows


def collate(structures: list[dict[str, np.ndarray]], jacobians=()) -> dict[str, np.ndarray]:
    """Concatenate per-structure inputs into one flat batch.

    Args:
        structures: one dict per structure, as returned by ``Featurizer.featurize`` (and
            optionally labels); all dicts have the same keys, with indices local to the
            structure. Each must contain ``keys.ELEMENT``. Structure-level entries
            (energy, dipole, ...) have a leading dimension of 1.
        jacobians: the featurizer's :class:`zoo.keys.JacobianKeys`, whose block counts are
            padded (:func:`padding_rows`, appended in the same concatenation); empty:
            nothing is padded.

    Returns:
        The flat batch: the same keys concatenated with indices offset, plus
        ``STRUCTURE`` and ``N_ATOMS``.
    """
    if not structures:
        raise ValueError("cannot collate an empty list of structures")
    names = structures[0].keys()
    n_atoms = np.array([len(s[keys.ELEMENT]) for s in structures], dtype=np.int32)
    padding = padding_rows(structures, jacobians)
    batch = {}
    for name in names:
        parts = [s[name] for s in structures]
        if name in keys.OFFSET_BY:
            lengths = [len(s[keys.OFFSET_BY[name]]) for s in structures]
            starts = np.concatenate([[0], np.cumsum(lengths[:-1])]).astype(parts[0].dtype)
            parts = [p + start for p, start in zip(parts, starts)]
        if padding.get(name):  # in the one concatenation: the Jacobian is copied once
            parts.append(np.zeros((padding[name], *parts[0].shape[1:]), parts[0].dtype))
        batch[name] = np.concatenate(parts)
    batch[keys.N_ATOMS] = n_atoms
    batch[keys.STRUCTURE] = np.repeat(np.arange(len(structures), dtype=np.int32), n_atoms)
    return batch
