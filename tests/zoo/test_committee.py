"""Committee: mean and spread of members, ASE calculator, save/load, errors."""

import keras
import numpy as np
import pytest

import zoo
from zoo import keys
from zoo.committee import Committee, committee_statistics


@pytest.fixture(scope="module")
def members(cu_data):
    """Three small HDNNPs of Cu fitted briefly from different random initialisations."""
    models = []
    for seed in range(3):
        keras.utils.set_random_seed(seed)
        model = zoo.create("hdnnp", elements=cu_data.elements, cutoff=4.0, hidden=(8,), dtype="float64")
        model.compile(optimizer=keras.optimizers.Adam(3e-3))
        model.fit(cu_data[:10], epochs=2, batch_size=5, verbose=0)
        models.append(model)
    return models


def test_statistics_are_the_mean_and_spread_of_members():
    energies = np.array([[1.0, 2.0], [3.0, 2.0]])
    forces = np.zeros((2, 1, 3))
    forces[0, 0] = [1.0, 0.0, 0.0]
    forces[1, 0] = [-1.0, 0.0, 0.0]
    stats = committee_statistics(energies, forces)
    np.testing.assert_allclose(stats[keys.ENERGY], [2.0, 2.0])
    np.testing.assert_allclose(stats[keys.ENERGY_STD], [1.0, 0.0])
    np.testing.assert_allclose(stats[keys.FORCES], [[0.0, 0.0, 0.0]])
    np.testing.assert_allclose(stats[keys.FORCES_STD], [1.0])


def test_predict_averages_the_members(members, cu_data):
    committee = zoo.Committee(members)
    test = cu_data[15:18]
    out = committee.predict(test)
    single = [m.predict(test, verbose=0) for m in members]
    np.testing.assert_allclose(out[keys.ENERGY], np.mean([p[keys.ENERGY] for p in single], axis=0), rtol=1e-12)
    np.testing.assert_allclose(out[keys.FORCES], np.mean([p[keys.FORCES] for p in single], axis=0), atol=1e-12)
    assert out[keys.ENERGY_STD].shape == (3,) and np.all(out[keys.ENERGY_STD] > 0)
    assert out[keys.FORCES_STD].shape == (len(test.numbers),) and np.all(out[keys.FORCES_STD] > 0)


def test_identical_members_do_not_disagree(members, cu_data):
    out = Committee([members[0], members[0]]).predict(cu_data[15:17])
    np.testing.assert_allclose(out[keys.ENERGY_STD], 0.0, atol=1e-12)
    np.testing.assert_allclose(out[keys.FORCES_STD], 0.0, atol=1e-12)


def test_calculator_gives_the_committee_mean(members, cu_atoms, cu_data):
    committee = Committee(members)
    atoms = cu_atoms[16].copy()
    atoms.calc = committee.calculator()
    energy, forces = atoms.get_potential_energy(), atoms.get_forces()
    expected = committee.predict(cu_data[[16]])
    assert energy == pytest.approx(float(expected[keys.ENERGY][0]), rel=1e-10)
    np.testing.assert_allclose(forces, expected[keys.FORCES], atol=1e-10)
    np.testing.assert_allclose(atoms.calc.results[keys.FORCES_STD], expected[keys.FORCES_STD], atol=1e-10)


def test_save_and_load_round_trip(members, cu_data, tmp_path):
    committee = Committee(members)
    loaded = Committee.load(committee.save(tmp_path / "committee"))
    assert len(loaded) == 3
    a, b = committee.predict(cu_data[:2]), loaded.predict(cu_data[:2])
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_bad_committees_are_rejected(members, ethanol_data, tmp_path):
    with pytest.raises(ValueError, match="at least two"):
        Committee(members[:1])
    other = zoo.create("hdnnp", elements=ethanol_data.elements, cutoff=4.0, hidden=(8,))
    with pytest.raises(ValueError, match="same elements"):
        Committee([members[0], other])
    with pytest.raises(TypeError, match="zoo.Potential"):
        Committee([members[0], "not a model".split()])
    with pytest.raises(FileNotFoundError, match="member-"):
        Committee.load(tmp_path)
