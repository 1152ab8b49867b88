"""Shared fixtures: small data sets labelled by real reference methods (ASE EMT, tblite)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from ase.build import bulk, molecule
from ase.calculators.emt import EMT


def _rattled(atoms, n, stdev, seed, strain=0.0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        a = atoms.copy()
        if strain:
            a.set_cell(a.cell @ (np.eye(3) + rng.uniform(-strain, strain, (3, 3))), scale_atoms=True)
        a.positions += rng.normal(0.0, stdev, a.positions.shape)
        out.append(a)
    return out


def label(structures, calculator_factory):
    """Attach reference energies and forces (and charges and dipole, where the calculator
    gives them) from a real calculator."""
    from ase.calculators.singlepoint import SinglePointCalculator

    from zoo import keys

    for a in structures:
        a.calc = calculator_factory()
        results = {keys.ENERGY: a.get_potential_energy(), keys.FORCES: a.get_forces()}
        if keys.CHARGES in a.calc.implemented_properties:
            results.update({keys.CHARGES: a.get_charges(), keys.DIPOLE: a.get_dipole_moment()})
        a.calc = SinglePointCalculator(a, **results)
    return structures


@pytest.fixture(scope="session")
def cu_atoms():
    """20 rattled, strained fcc Cu cells (32 atoms, periodic) with EMT labels."""
    cell = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2)
    return label(_rattled(cell, 20, 0.08, seed=1, strain=0.02), EMT)


@pytest.fixture(scope="session")
def ethanol_atoms():
    """20 rattled ethanol molecules with GFN2-xTB (tblite) labels: energy, forces, charges, dipole."""
    from tblite.ase import TBLite

    return label(_rattled(molecule("CH3CH2OH"), 20, 0.05, seed=2), lambda: TBLite(method="GFN2-xTB", verbosity=0))


@pytest.fixture(scope="session")
def cu_data(cu_atoms):
    from zoo.data import Dataset

    return Dataset.from_atoms(cu_atoms)


@pytest.fixture(scope="session")
def ethanol_data(ethanol_atoms):
    from zoo.data import Dataset

    return Dataset.from_atoms(ethanol_atoms)
