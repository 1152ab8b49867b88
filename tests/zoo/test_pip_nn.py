"""pip_nn (1G, Jiang & Guo 2013): energy invariant and forces equivariant under exchanges of
like atoms, the basis of the molecule as input, wrong molecules rejected."""

import numpy as np
import pytest

import zoo
from zoo import keys
from zoo.data import Dataset
from descriptors.pip import PipBasis


def adapted(data, **kwargs):
    model = zoo.create("pip_nn", elements=data.elements, degree=2, hidden=(8,), dtype="float64", **kwargs)
    return model.adapt(data)


def permuted(data, s, order):
    return Dataset.from_atoms([data.to_atoms(s)[order]])


def test_energy_invariant_and_forces_equivariant_under_like_atom_exchange(ethanol_data):
    model = adapted(ethanol_data)
    order = [1, 0, 2, 8, 3, 7, 4, 6, 5]  # both carbons exchanged, hydrogens shuffled
    before = model.predict(ethanol_data[:1], verbose=0)
    after = model.predict(permuted(ethanol_data, 0, order), verbose=0)
    assert float(after[keys.ENERGY][0]) == pytest.approx(float(before[keys.ENERGY][0]), rel=1e-13)
    np.testing.assert_allclose(after[keys.FORCES], before[keys.FORCES][order], rtol=1e-9, atol=1e-12)
    assert np.abs(before[keys.FORCES]).max() > 1e-3  # not trivially zero


def test_inputs_are_the_molecule_basis(ethanol_data):
    model = adapted(ethanol_data)
    basis = PipBasis.generate(ethanol_data.numbers[:9], 2)
    assert model.featurizer.n_features == basis.n_basis
    config = model.get_config()
    assert (config["degree"], config["morse_range"], config["numbers"]) == (2, 1.5, list(ethanol_data.numbers[:9]))
    x, _ = model.batch_source(ethanol_data[:2], batch_size=2).batch(np.arange(2))
    assert x[keys.PIP].shape == (2, basis.n_basis)
    np.testing.assert_array_equal(x[keys.PIP_JACOBIAN.item], np.repeat([0, 1], 9))


def test_numbers_argument_for_another_molecule(ethanol_data):
    model = zoo.create("pip_nn", elements=(1, 6, 8), numbers=[8, 6, 1, 1], degree=4, hidden=(8,))
    assert model.featurizer.n_features == PipBasis.generate((8, 6, 1, 1), 4).n_basis
    with pytest.raises(ValueError, match=r"expected CH2O with 4 atoms in the order \[O C H H\], received C2H6O"):
        model.predict(ethanol_data[:1], verbose=0)


def test_wrong_order_is_rejected(ethanol_data):
    model = adapted(ethanol_data)
    with pytest.raises(ValueError, match=r"order \[C C O H H H H H H\], received .* order \[H C O C H H H H H\]"):
        model.predict(permuted(ethanol_data, 0, [3, 1, 2, 0, 4, 5, 6, 7, 8]), verbose=0)
    with pytest.raises(ValueError, match="morse_range must be a finite number > 0"):
        zoo.create("pip_nn", elements=(1, 6, 8), morse_range=0.0)
