"""zoo.reference alloy_emt: a tiny generation, checked against EMT itself."""

import numpy as np
import pytest
from ase.calculators.emt import EMT

from zoo import keys, reference


@pytest.fixture(scope="module")
def alloy(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(reference.CACHE_ENV, str(tmp_path_factory.mktemp("cache")))
        yield reference.load("alloy_emt", n_structures=10, seed=3)


def test_alloy_structures(alloy):
    assert "alloy_emt" in reference.available()
    assert len(alloy) == 10 and set(alloy.n_atoms) == {32} and alloy.pbc.all()
    assert set(alloy.elements) <= {28, 29, 47, 79} and len(alloy.elements) == 4
    counts = [np.bincount(alloy.numbers[alloy.offsets[s]:alloy.offsets[s + 1]], minlength=80)[[28, 29, 47, 79]]
              for s in range(len(alloy))]
    compositions = {tuple(c) for c in counts}
    assert len(compositions) >= 3  # a new random configuration per segment and per static cell
    volumes = np.abs(np.linalg.det(alloy.cell))
    assert len(np.unique(volumes.round(6))) >= 2 and np.all(volumes / np.median(volumes) < 1.2)
    assert alloy.has_label(keys.ENERGY) and alloy.has_label(keys.FORCES)


def test_alloy_labels_are_emt(alloy):
    for s in (0, 7):
        atoms = alloy.to_atoms(s)
        atoms.calc = EMT()
        np.testing.assert_allclose(atoms.get_potential_energy(), alloy.labels[keys.ENERGY][s], rtol=0, atol=1e-9)
        np.testing.assert_allclose(atoms.get_forces(), alloy.labels[keys.FORCES][alloy.offsets[s]:alloy.offsets[s + 1]],
                                   rtol=0, atol=1e-9)


def test_random_alloy_mixes_lattice_constants_by_vegard():
    atoms = reference.random_alloy(np.random.default_rng(0))
    a = np.mean([reference.ALLOY_LATTICE[s] for s in atoms.get_chemical_symbols()])
    np.testing.assert_allclose(atoms.cell.array, 2 * a * np.eye(3), rtol=1e-12)
    assert len(atoms) == 32
