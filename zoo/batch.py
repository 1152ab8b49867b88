"""Flat batches: the one format every model consumes.

A batch concatenates the atoms of several structures; nothing is padded.

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


def collate(structures: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Concatenate per-structure inputs into one flat batch.

    Args:
        structures: one dict per structure, as returned by ``Featurizer.featurize`` (and
            optionally labels); all dicts have the same keys, with indices local to the
            structure. Each must contain ``keys.ELEMENT``. Structure-level entries
            (energy, dipole, ...) have a leading dimension of 1.

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
    return batch
