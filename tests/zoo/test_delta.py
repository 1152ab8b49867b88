"""Δ-learning: residual labels, baseline + correction, ASE calculator, errors."""

import keras
import numpy as np
import pytest
from ase.calculators.morse import MorsePotential

import zoo
from zoo import keys
from zoo.delta import Delta, baseline_labels


def morse():
    """A cheap pair-potential baseline for EMT copper (Morse parameters of the right scale)."""
    return MorsePotential(epsilon=0.34, r0=2.55, rho0=6.0)


@pytest.fixture(scope="module")
def delta(cu_data):
    keras.utils.set_random_seed(0)
    model = zoo.create("hdnnp", elements=cu_data.elements, cutoff=4.0, hidden=(8,), dtype="float64")
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    d = Delta(model, morse)
    d.fit(cu_data[:10], validation_data=cu_data[10:12], epochs=2, batch_size=5, verbose=0)
    return d


def test_residual_labels_are_target_minus_baseline(delta, cu_data, cu_atoms):
    residual = delta.residual(cu_data[:3])
    for s in range(3):
        atoms = cu_atoms[s].copy()
        atoms.calc = morse()
        assert residual.labels[keys.ENERGY][s] == pytest.approx(
            cu_data.labels[keys.ENERGY][s] - atoms.get_potential_energy(), abs=1e-10)
        a, b = residual.offsets[s], residual.offsets[s + 1]
        np.testing.assert_allclose(residual.labels[keys.FORCES][a:b],
                                   cu_data.labels[keys.FORCES][a:b] - atoms.get_forces(), atol=1e-10)
    np.testing.assert_array_equal(cu_data[:3].labels[keys.ENERGY], cu_data.labels[keys.ENERGY][:3])  # not mutated


def test_prediction_is_baseline_plus_correction(delta, cu_data):
    test = cu_data[15:18]
    out = delta.predict(test)
    base = baseline_labels(test, morse)
    correction = delta.model.predict(test, verbose=0)
    np.testing.assert_allclose(out[keys.ENERGY], base[keys.ENERGY] + correction[keys.ENERGY], rtol=1e-12)
    np.testing.assert_allclose(out[keys.FORCES], base[keys.FORCES] + correction[keys.FORCES], atol=1e-12)


def test_calculator_matches_predict(delta, cu_data, cu_atoms):
    atoms = cu_atoms[16].copy()
    atoms.calc = delta.calculator()
    expected = delta.predict(cu_data[[16]])
    assert atoms.get_potential_energy() == pytest.approx(float(expected[keys.ENERGY][0]), rel=1e-10)
    np.testing.assert_allclose(atoms.get_forces(), expected[keys.FORCES], atol=1e-9)


def test_errors_name_the_problem(cu_data):
    model = zoo.create("hdnnp", elements=cu_data.elements, cutoff=4.0, hidden=(8,))
    with pytest.raises(TypeError, match="callable"):
        Delta(model, morse())
    unlabelled = cu_data[:2]
    del unlabelled.labels[keys.FORCES]
    with pytest.raises(ValueError, match="forces"):
        Delta(model, morse).residual(unlabelled)
