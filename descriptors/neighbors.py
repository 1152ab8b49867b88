"""Neighbour lists (record only; the cell-list kernel is being written)."""

from typing import NamedTuple

import numpy as np


class Neighbors(NamedTuple):
    """A full neighbour list: every ordered pair (i, j) with distance below the cutoff.

    ``vector[p] = positions[j[p]] + shift[p] @ cell - positions[i[p]]``. Both (i, j) and
    (j, i) appear; an atom never pairs with itself unless through a nonzero shift (cells
    smaller than the cutoff). Pairs are sorted by ``i``.

    Attributes:
        i: int64 [P], centre atom.
        j: int64 [P], neighbour atom (the atom that the image belongs to).
        shift: int64 [P, 3], integer cell translation of the neighbour image.
        vector: float64 [P, 3], Å, from centre to neighbour image.
        distance: float64 [P], Å.
    """

    i: np.ndarray
    j: np.ndarray
    shift: np.ndarray
    vector: np.ndarray
    distance: np.ndarray
