"""Small rattled structures shared by the kernel tests (molecule, bulk, a cell smaller than
the cutoff)."""

import numpy as np
from ase import Atoms
from ase.build import bulk, molecule


def rattled(atoms, stdev, seed):
    """A copy of ``atoms`` with Gaussian displacements of ``stdev`` Å."""
    atoms = atoms.copy()
    atoms.positions += np.random.default_rng(seed).normal(0.0, stdev, atoms.positions.shape)
    return atoms


def ethanol():
    return rattled(molecule("CH3CH2OH"), 0.05, seed=2)


def cu32():
    """Periodic fcc Cu, 2 x 2 x 2 conventional cells."""
    return rattled(bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2), 0.08, seed=1)


def small_cell():
    """Two Cu and one Au in a skewed cell smaller than the cutoffs: atoms pair with their
    own periodic images (rows with i == j)."""
    cell = [[2.7, 0.2, 0.0], [0.3, 2.9, 0.1], [-0.2, 0.4, 2.6]]
    atoms = Atoms("Cu2Au", scaled_positions=[[0.0, 0.0, 0.0], [0.45, 0.55, 0.5], [0.8, 0.2, 0.35]],
                  cell=cell, pbc=True)
    return rattled(atoms, 0.03, seed=3)
