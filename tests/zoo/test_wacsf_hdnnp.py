"""wacsf_hdnnp: per-element networks on weighted ACSF, whose size is independent of the
number of elements (unlike element-resolved ACSF)."""

import numpy as np

import zoo
from zoo import keys

ALLOY = (28, 29, 47, 79)  # Ni, Cu, Ag, Au
SMALL = dict(cutoff=4.5, n_radial=8, n_angular=2, hidden=(10, 10))


def test_input_size_does_not_grow_with_the_elements_while_acsf_does():
    sizes = {n: zoo.create("wacsf_hdnnp", elements=ALLOY[:n], cutoff=6.0).featurizer.n_features for n in (1, 2, 4)}
    assert sizes == {1: 40, 2: 40, 4: 40}
    acsf = {n: zoo.create("hdnnp", elements=ALLOY[:n], cutoff=6.0).featurizer.n_features for n in (1, 2, 4)}
    assert acsf == {1: 8 + 16, 2: 2 * 8 + 3 * 16, 4: 4 * 8 + 10 * 16}


def test_one_network_per_element_with_per_element_statistics(ethanol_data):
    model = zoo.create("wacsf_hdnnp", elements=ethanol_data.elements, **SMALL)
    assert model.network.n_elements == 3 and model.feature_mean.shape == (3, model.featurizer.n_features)
    model.adapt(ethanol_data)
    x = model.batch_source(ethanol_data, batch_size=len(ethanol_data)).statistics_batch(np.arange(len(ethanol_data)))
    values, element = np.asarray(x[keys.DESCRIPTORS], np.float64), x[keys.ELEMENT]
    for e in range(3):
        np.testing.assert_allclose(model.feature_mean.numpy()[e], values[element == e].mean(axis=0), rtol=1e-5)


def test_descriptors_are_wacsf_with_atomic_number_weights(ethanol_data):
    """The featurizer gives the kernel's values: scaling one element's weight scales the
    radial columns of atoms next to it (here: every atom has an O or C neighbour)."""
    model = zoo.create("wacsf_hdnnp", elements=ethanol_data.elements, **SMALL)
    params = model.featurizer.params
    assert params.weights == (1.0, 6.0, 8.0)
    doubled = zoo.create("wacsf_hdnnp", elements=ethanol_data.elements,
                         wacsf={**params.to_dict(), "weights": [2.0, 12.0, 16.0]}, hidden=(10, 10))
    s = ethanol_data.structure(0)
    args = (s[keys.NUMBERS], s[keys.POSITIONS], s[keys.CELL], s[keys.PBC])
    plain, twice = model.featurizer.featurize(*args), doubled.featurizer.featurize(*args)
    n_rad = len(params.radial)
    np.testing.assert_allclose(twice[keys.DESCRIPTORS][:, :n_rad], 2 * plain[keys.DESCRIPTORS][:, :n_rad], rtol=1e-12)
    np.testing.assert_allclose(twice[keys.DESCRIPTORS][:, n_rad:], 4 * plain[keys.DESCRIPTORS][:, n_rad:], rtol=1e-12)
