"""Structures and reference labels: the columnar :class:`Dataset`, readers and writers.

>>> data = zoo.data.read("train.extxyz")     # also n2p2 input.data, MD17 npz, ASE db
>>> train, val, test = data.split([0.8, 0.1, 0.1], seed=0)

Units are Å, eV, eV/Å, e and e·Å; readers convert from a file's units (``units=``).
"""

from zoo.data.baseline import element_counts, fit_energy_baseline
from zoo.data.dataset import Dataset, atoms_labels
from zoo.data.n2p2 import read_n2p2, write_n2p2
from zoo.data.readers import read
from zoo.data.units import UNITS

__all__ = ["Dataset", "UNITS", "atoms_labels", "element_counts", "fit_energy_baseline", "read",
           "read_n2p2", "write_n2p2"]
