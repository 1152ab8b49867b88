"""global_nn (1G): the molecule is fixed (numbers argument or first adapt), other molecules
and atom orders are rejected with both named, structure rows collate, energy split evenly."""

import keras
import numpy as np
import pytest
from ase.build import molecule

import zoo
from zoo import keys
from zoo.data import Dataset

ETHANOL = [6, 6, 8, 1, 1, 1, 1, 1, 1]


def small(data, **kwargs):
    return zoo.create("global_nn", elements=data.elements, hidden=(8,), **kwargs)


@pytest.fixture(scope="module")
def fitted(ethanol_data):
    keras.utils.set_random_seed(0)
    model = small(ethanol_data)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(ethanol_data[:8], epochs=1, batch_size=4, verbose=0)
    return model


def reordered(data, s, order):
    atoms = data.to_atoms(s)
    return Dataset.from_atoms([atoms[order]])


def test_molecule_is_fixed_by_the_first_fit(ethanol_data, fitted):
    assert list(ethanol_data.numbers[:9]) == ETHANOL
    assert small(ethanol_data).numbers is None
    assert fitted.numbers == tuple(ETHANOL)
    n_trainable = sum(int(np.prod(w.shape)) for w in fitted.trainable_weights)
    assert n_trainable == 36 * 8 + 8 + 8 + 1  # one network on the 36 inverse distances


def test_numbers_argument_creates_every_weight_in_init(ethanol_data, fitted):
    model = small(ethanol_data, numbers=ETHANOL)
    assert [w.shape for w in model.weights] == [w.shape for w in fitted.weights]
    assert model.get_config()["numbers"] == ETHANOL
    with pytest.raises(ValueError, match=r"elements \[7\] missing from elements=\[1, 6, 8\]"):
        small(ethanol_data, numbers=[7, 1, 1, 1])


def test_other_atom_order_is_rejected_by_predict_evaluate_and_fit(ethanol_data, fitted):
    swapped = reordered(ethanol_data, 0, [2, 1, 0, 3, 4, 5, 6, 7, 8])  # O first, then C C
    expected = r"expected C2H6O with 9 atoms in the order \[C C O H H H H H H\], received C2H6O with 9 atoms " \
               r"in the order \[O C C H H H H H H\]"
    with pytest.raises(ValueError, match="structure 0 of the data passed to predict.*" + expected):
        fitted.predict(swapped, verbose=0)
    with pytest.raises(ValueError, match="evaluate.*" + expected):
        fitted.evaluate(swapped, verbose=0)
    mixed = Dataset.concatenate([ethanol_data[:3], swapped])
    with pytest.raises(ValueError, match=r"structure 3 of the data passed to fit \(1 of 4 structures differ\)"):
        fitted.fit(mixed, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="validation_data"):
        fitted.fit(ethanol_data[:4], validation_data=swapped, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="only to the molecule it was built for: " + expected):
        fitted.featurizer.featurize(swapped.numbers, swapped.positions, swapped.cell[0], swapped.pbc[0])


def test_other_molecule_and_periodic_structures_are_rejected(ethanol_data, fitted):
    water = molecule("H2O")
    with pytest.raises(ValueError, match=r"received H2O with 3 atoms in the order \[O H H\]"):
        fitted.predict(Dataset.from_atoms([water]), verbose=0)
    boxed = ethanol_data.to_atoms(0)
    boxed.set_cell(10.0 * np.eye(3))
    boxed.pbc = True
    with pytest.raises(ValueError, match="for molecules, received a structure with pbc"):
        fitted.featurizer.featurize(boxed.numbers, boxed.positions, boxed.cell.array, boxed.pbc)


def test_predict_before_the_molecule_is_fixed(ethanol_data):
    with pytest.raises(ValueError, match="has no molecule yet: create it with numbers"):
        small(ethanol_data).predict(ethanol_data[:2], verbose=0)


def test_structure_rows_are_offset_by_structure(ethanol_data, fitted):
    x, _ = fitted.batch_source(ethanol_data[:3], batch_size=3).batch(np.arange(3))
    jk = keys.INVERSE_DISTANCES_JACOBIAN
    assert x[jk.values].shape == (3, 36)
    np.testing.assert_array_equal(x[jk.item], np.repeat(np.arange(3), 9))
    np.testing.assert_array_equal(x[jk.atom], np.arange(27))


def test_structure_energy_is_split_evenly_over_the_atoms(ethanol_data, fitted):
    x, _ = fitted.batch_source(ethanol_data[:2], batch_size=2).batch(np.arange(2))
    out = fitted(x)
    element = x[keys.ELEMENT]
    residual = (out[keys.ATOMIC_ENERGIES].numpy() - fitted.element_energy.numpy()[element]).reshape(2, 9)
    np.testing.assert_allclose(residual, residual[:, :1].repeat(9, axis=1), atol=1e-5)  # float32 baselines
    np.testing.assert_allclose(out[keys.ENERGY].numpy(), out[keys.ATOMIC_ENERGIES].numpy().reshape(2, 9).sum(1),
                               rtol=1e-6)


def test_like_atom_exchange_changes_the_energy(ethanol_data, fitted):
    # the limitation that PIP-NN removes: inverse distances in a fixed order are not
    # invariant under exchanging two hydrogens
    swapped = reordered(ethanol_data, 0, [0, 1, 2, 4, 3, 5, 6, 7, 8])
    e0 = fitted.predict(ethanol_data[:1], verbose=0)[keys.ENERGY]
    e1 = fitted.predict(swapped, verbose=0)[keys.ENERGY]
    assert abs(float(e0[0] - e1[0])) > 1e-6
