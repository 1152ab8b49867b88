"""singlenn: hidden layers shared by all elements, one output layer per element, inputs
whose size does not depend on the number of elements."""

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo import keys

ALLOY = (28, 29, 47, 79)  # Ni, Cu, Ag, Au
SMALL = dict(cutoff=4.5, n_radial=8, n_angular=2, hidden=(12, 10))


def _trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


def test_hidden_weights_are_shared_and_only_the_output_layer_grows_per_element():
    one = zoo.create("singlenn", elements=(29,), **SMALL)
    four = zoo.create("singlenn", elements=ALLOY, **SMALL)
    assert one.featurizer.n_features == four.featurizer.n_features == 8 + 2 * 2 * 2
    shared = lambda m: sum(int(np.prod(v.shape)) for layer in m.shared for v in layer.trainable_variables)  # noqa: E731
    assert shared(one) == shared(four) == (16 * 12 + 12) + (12 * 10 + 10)
    assert _trainable(four) - _trainable(one) == 3 * (10 + 1)  # one linear output (w, b) per extra element
    # the per-element HDNNP on the same inputs grows by a whole network per element
    hd_one = zoo.create("wacsf_hdnnp", elements=(29,), **SMALL)
    hd_four = zoo.create("wacsf_hdnnp", elements=ALLOY, **SMALL)
    assert _trainable(hd_four) == 4 * _trainable(hd_one)


def test_atoms_of_different_elements_differ_only_through_the_output_layer():
    """Equal inputs give equal hidden features whatever the element: with the output
    layers of two elements made equal, their atoms get equal energies; with different
    output layers, the difference is exactly (w_a - w_b) . h + (b_a - b_b)."""
    model = zoo.create("singlenn", elements=(29, 79), dtype="float64", **SMALL)
    row = np.random.default_rng(0).normal(size=(1, model.featurizer.n_features))
    inputs = {keys.DESCRIPTORS: tf.constant(np.repeat(row, 2, axis=0)), keys.ELEMENT: tf.constant([0, 1])}
    energies = model.atomic_outputs(inputs)[keys.ATOMIC_ENERGIES].numpy()
    cu_out, au_out = model.outputs_per_element.networks[0][0], model.outputs_per_element.networks[1][0]
    h = tf.constant(row)
    for layer in model.shared:
        h = layer(h)
    expected = (h.numpy() @ (cu_out.kernel.numpy() - au_out.kernel.numpy()))[0, 0] + (
        cu_out.bias.numpy() - au_out.bias.numpy())[0]
    assert energies[0] - energies[1] == pytest.approx(expected, rel=1e-10)
    assert abs(expected) > 1e-3
    au_out.kernel.assign(cu_out.kernel)
    au_out.bias.assign(cu_out.bias)
    energies = model.atomic_outputs(inputs)[keys.ATOMIC_ENERGIES].numpy()
    assert energies[0] == energies[1]


def test_inputs_are_standardized_with_one_set_of_statistics_for_all_atoms(ethanol_data):
    model = zoo.create("singlenn", elements=ethanol_data.elements, **SMALL)
    model.adapt(ethanol_data)
    x = model.batch_source(ethanol_data, batch_size=len(ethanol_data)).statistics_batch(np.arange(len(ethanol_data)))
    values = np.asarray(x[keys.DESCRIPTORS], np.float64)
    assert model.feature_mean.shape == (1, model.featurizer.n_features)
    np.testing.assert_allclose(model.feature_mean.numpy()[0], values.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(model.feature_std.numpy()[0], values.std(axis=0), rtol=1e-4)


def test_needs_a_shared_hidden_layer():
    with pytest.raises(ValueError, match=r"at least one shared hidden layer, received hidden=\(\)"):
        zoo.create("singlenn", elements=(29,), cutoff=4.0, hidden=())
