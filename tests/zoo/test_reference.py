"""zoo.reference: tiny generations, checked against the reference methods themselves."""

import dataclasses

import numpy as np
import pytest
from ase.calculators.emt import EMT

from zoo import keys, reference


@pytest.fixture(scope="module")
def cu(cache):
    return reference.load("cu_emt", n_structures=6)


@pytest.fixture(scope="module")
def ethanol(cache):
    return reference.load("ethanol_xtb", n_structures=3)


def test_available():
    names = reference.available()
    assert names == sorted(names) and {"cu_emt", "ethanol_xtb"} <= set(names)
    with pytest.raises(ValueError, match="unknown reference set 'h2o'"):
        reference.load("h2o")


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(reference.CACHE_ENV, str(tmp_path))
    assert reference.cache_dir() == tmp_path


def test_cu_emt_structures(cu):
    assert len(cu) == 6 and set(cu.n_atoms) == {108} and cu.elements == (29,)
    assert cu.pbc.all() and cu.has_label(keys.ENERGY) and cu.has_label(keys.FORCES)
    volumes = np.abs(np.linalg.det(cu.cell))
    assert len(np.unique(volumes.round(6))) >= 3  # equilibrium, compressed and expanded cells
    assert np.all(np.abs(volumes / np.median(volumes) - 1) < 0.1)


def test_cu_emt_labels_are_emt(cu):
    atoms = cu.to_atoms(4)
    expected = atoms.get_forces()
    atoms.calc = EMT()
    np.testing.assert_allclose(atoms.get_potential_energy(), cu.labels[keys.ENERGY][4], rtol=0, atol=1e-9)
    np.testing.assert_allclose(atoms.get_forces(), expected, rtol=0, atol=1e-9)


def test_ethanol_labels_are_gfn2_xtb(ethanol):
    from tblite.ase import TBLite

    assert ethanol.elements == (1, 6, 8) and not ethanol.pbc.any()
    for key in keys.LABELS:
        assert ethanol.has_label(key), key
    np.testing.assert_array_equal(ethanol.labels[keys.TOTAL_CHARGE], 0.0)
    s = ethanol.structure(1)
    atoms = ethanol.to_atoms(1)
    atoms.calc = TBLite(**reference.XTB_SETTINGS)
    np.testing.assert_allclose(atoms.get_potential_energy(), s[keys.ENERGY], rtol=0, atol=1e-6)
    np.testing.assert_allclose(atoms.get_forces(), s[keys.FORCES], rtol=0, atol=1e-6)
    np.testing.assert_allclose(atoms.get_charges(), s[keys.CHARGES], rtol=0, atol=1e-6)
    np.testing.assert_allclose(atoms.get_dipole_moment(), s[keys.DIPOLE], rtol=0, atol=1e-6)


def test_second_load_reads_the_cache(cu, cache, monkeypatch):
    def must_not_run(n, rng):
        raise AssertionError("regenerated instead of reading the cache")

    generator = dataclasses.replace(reference.GENERATORS["cu_emt"], make=must_not_run)
    monkeypatch.setitem(reference.GENERATORS, "cu_emt", generator)
    again = reference.load("cu_emt", n_structures=6)
    np.testing.assert_array_equal(again.positions, cu.positions)
    np.testing.assert_array_equal(again.labels[keys.FORCES], cu.labels[keys.FORCES])
    assert (cache / "cu_emt-n6-seed0-v1.npz").exists() and not list(cache.glob("*.tmp"))


def test_generation_is_seeded(cache, monkeypatch, tmp_path):
    first = reference.load("ethanol_xtb", n_structures=3)
    monkeypatch.setenv(reference.CACHE_ENV, str(tmp_path))  # a fresh cache: generate again
    again = reference.load("ethanol_xtb", n_structures=3)
    np.testing.assert_allclose(again.positions, first.positions, rtol=0, atol=1e-10)
    other = reference.load("ethanol_xtb", n_structures=3, seed=1)
    assert not np.allclose(other.positions, first.positions)
    assert not list(tmp_path.glob("*.tmp"))
