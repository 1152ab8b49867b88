"""zoo.reference h2co_xtb: a tiny generation, checked against tblite itself; normal modes."""

import numpy as np
import pytest

from zoo import keys, reference


@pytest.fixture(scope="module")
def h2co(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(reference.CACHE_ENV, str(tmp_path_factory.mktemp("cache")))
        yield reference.load("h2co_xtb", n_structures=6, seed=1)


def test_one_molecule_in_one_atom_order(h2co):
    assert "h2co_xtb" in reference.available()
    assert len(h2co) == 6 and set(h2co.n_atoms) == {4} and not h2co.pbc.any()
    np.testing.assert_array_equal(h2co.numbers.reshape(6, 4), [[8, 6, 1, 1]] * 6)
    for key in (keys.ENERGY, keys.FORCES, keys.CHARGES, keys.DIPOLE):
        assert h2co.has_label(key)


def test_labels_are_gfn2_xtb(h2co):
    from tblite.ase import TBLite

    for s in (0, 5):
        atoms = h2co.to_atoms(s)
        atoms.calc = TBLite(**reference.XTB_SETTINGS)
        np.testing.assert_allclose(atoms.get_potential_energy(), h2co.labels[keys.ENERGY][s], rtol=0, atol=1e-6)
        np.testing.assert_allclose(atoms.get_forces(), h2co.labels[keys.FORCES][4 * s:4 * s + 4], rtol=0, atol=1e-5)


def test_normal_modes_of_a_harmonic_reference():
    # a relaxed EMT Cu3 triangle: 3n - 6 = 3 vibrations with positive curvature, orthonormal
    # (mass-weighted) and free of translation (equal masses: atom displacements sum to 0,
    # up to the finite-difference error of the Hessian)
    from ase import Atoms
    from ase.calculators.emt import EMT
    from ase.optimize import BFGS

    trimer = Atoms("Cu3", positions=[[0, 0, 0], [2.5, 0, 0], [1.2, 2.1, 0]])
    trimer.calc = EMT()
    BFGS(trimer, logfile=None).run(fmax=1e-5)
    omega2, modes = reference.normal_modes(trimer, EMT())
    assert omega2.shape == (3,) and np.all(omega2 > 0)
    flat = modes.reshape(3, -1)
    np.testing.assert_allclose(flat @ flat.T, np.eye(3), atol=1e-10)
    np.testing.assert_allclose(modes.sum(axis=1), 0.0, atol=1e-4)
