"""The Potential base class through the HDNNP: forces, training, retracing, save/load, errors."""

import keras
import numpy as np
import pytest

import zoo
from zoo import keys
from zoo.batch import collate
from zoo.models.hdnnp import HDNNP


def small_hdnnp(data, **kwargs):
    return zoo.create("hdnnp", elements=data.elements, cutoff=4.5, hidden=(10, 10), **kwargs)


def energy_of(model, numbers, positions, cell, pbc):
    x = collate([model.featurizer.featurize(numbers, positions, cell, pbc)])
    x = {k: v.astype(model.compute_dtype) if v.dtype.kind == "f" else v.astype(np.int32) for k, v in x.items()}
    return float(model(x)[keys.ENERGY][0])


@pytest.mark.parametrize("fixture", ["cu_data", "ethanol_data"])
def test_forces_equal_minus_energy_gradient(fixture, request):
    data = request.getfixturevalue(fixture)
    model = small_hdnnp(data, dtype="float64")
    model.adapt(data)
    s = data.structure(0)
    x, _ = model.batch_source(data[[0]], batch_size=1).batch([0])
    forces = model.energy_and_forces(x)[keys.FORCES].numpy()
    h = 1e-5
    for atom in range(0, len(s[keys.NUMBERS]), 4):
        for c in range(3):
            plus, minus = s[keys.POSITIONS].copy(), s[keys.POSITIONS].copy()
            plus[atom, c] += h
            minus[atom, c] -= h
            e_plus = energy_of(model, s[keys.NUMBERS], plus, s[keys.CELL], s[keys.PBC])
            e_minus = energy_of(model, s[keys.NUMBERS], minus, s[keys.CELL], s[keys.PBC])
            assert forces[atom, c] == pytest.approx(-(e_plus - e_minus) / (2 * h), rel=1e-6, abs=1e-8)


def test_batch_of_two_copies_gives_two_equal_results(cu_data):
    model = small_hdnnp(cu_data, dtype="float64")
    model.adapt(cu_data)
    single = model.predict(cu_data[[3]], verbose=0)
    double = model.predict(cu_data[[3, 3]], batch_size=2, verbose=0)
    np.testing.assert_allclose(double[keys.ENERGY], np.repeat(single[keys.ENERGY], 2), rtol=1e-12)
    np.testing.assert_allclose(double[keys.FORCES], np.concatenate([single[keys.FORCES]] * 2), rtol=1e-10, atol=1e-12)


def test_fit_lowers_loss_and_reports_metrics(ethanol_data):
    model = small_hdnnp(ethanol_data)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(ethanol_data, epochs=30, batch_size=5, verbose=0)
    loss = history.history["loss"]
    assert loss[-1] < 0.3 * loss[0]
    assert {"energy_mae", "energy_rmse", "forces_mae", "forces_rmse"} <= set(history.history)
    scores = model.evaluate(ethanol_data, return_dict=True, verbose=0)
    assert scores["forces_rmse"] >= scores["forces_mae"] > 0


def test_adapt_fits_element_baseline_and_scaling(ethanol_data):
    model = small_hdnnp(ethanol_data).adapt(ethanol_data)
    assert model.is_adapted
    # one composition: the minimum-norm baseline reproduces the mean energy exactly
    counts = np.array([sum(ethanol_data.structure(0)[keys.NUMBERS] == z) for z in model.elements])
    assert counts @ model.element_energy.numpy() == pytest.approx(ethanol_data.labels[keys.ENERGY].mean(), rel=1e-5)
    assert np.all(model.feature_std.numpy() > 0)
    assert not np.allclose(model.feature_mean.numpy(), 0)


def test_training_does_not_retrace_for_new_batch_shapes(cu_data):
    model = small_hdnnp(cu_data)
    model.compile()
    traces = []
    original = type(model).atomic_outputs

    def counting(self, inputs, training=False):
        traces.append(training)
        return original(self, inputs, training)

    type(model).atomic_outputs = counting
    try:
        model.fit(cu_data[:7], epochs=3, batch_size=3, verbose=0)  # batches of 3, 3 and 1 structures
    finally:
        type(model).atomic_outputs = original
    assert traces.count(True) == 1


def test_save_load_round_trip_gives_identical_predictions(tmp_path, ethanol_data):
    model = small_hdnnp(ethanol_data)
    model.compile()
    model.fit(ethanol_data, epochs=2, batch_size=10, verbose=0)
    before = model.predict(ethanol_data, verbose=0)
    path = tmp_path / "hdnnp.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    after = loaded.predict(ethanol_data, verbose=0)
    assert type(loaded) is type(model) and loaded.is_adapted
    for key in (keys.ENERGY, keys.FORCES):
        np.testing.assert_array_equal(before[key], after[key])


def test_unknown_element_is_named(cu_data, ethanol_data):
    model = small_hdnnp(cu_data)
    with pytest.raises(ValueError, match=r"element\(s\) 1 \(H\).*not known"):
        model.predict(ethanol_data, verbose=0)


def test_missing_label_needed_by_the_loss(cu_atoms):
    from zoo.data import Dataset

    data = Dataset.from_atoms(cu_atoms[:4])
    data.labels[keys.FORCES][data.offsets[1]:data.offsets[2]] = np.nan
    model = small_hdnnp(data)
    model.compile()
    with pytest.raises(ValueError, match="forces.*missing for 1 structure"):
        model.fit(data, epochs=1, verbose=0)


def test_atoms_too_close_are_rejected(cu_atoms):
    from zoo.data import Dataset

    atoms = cu_atoms[0].copy()
    atoms.positions[1] = atoms.positions[0] + [0.05, 0.0, 0.0]
    model = zoo.create("hdnnp", elements=[29], cutoff=4.0)
    with pytest.raises(ValueError, match="closer than 0.1"):
        model.predict(Dataset.from_atoms([atoms]), verbose=0)


@pytest.mark.parametrize("weights", [dict(energy_weight=-1.0), dict(energy_weight=0.0, forces_weight=0.0)])
def test_bad_loss_weights(weights, cu_data):
    with pytest.raises(ValueError, match="loss weights"):
        small_hdnnp(cu_data, **weights)


class ChargedHDNNP(HDNNP):
    """A test-only charge model: per-atom charges linear in the scaled ACSFs, shifted so that
    they add up to each structure's total charge."""

    structure_inputs = (keys.TOTAL_CHARGE, keys.POSITIONS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.charge_layer = keras.layers.Dense(1, dtype=self.dtype_policy, name="charge")
        self.charge_layer.build((None, self.featurizer.n_features))

    def atomic_outputs(self, inputs, training=False):
        import tensorflow as tf

        out = super().atomic_outputs(inputs, training)
        raw = tf.squeeze(self.charge_layer(inputs[keys.DESCRIPTORS] / 10.0), -1)
        structure, n = inputs[keys.STRUCTURE], tf.shape(inputs[keys.N_ATOMS])[0]
        excess = tf.math.unsorted_segment_sum(raw, structure, n) - inputs[keys.TOTAL_CHARGE]
        out[keys.CHARGES] = raw - tf.gather(excess / tf.cast(inputs[keys.N_ATOMS], raw.dtype), structure)
        return out


def test_charges_and_dipole_train_and_are_reported(ethanol_data):
    model = ChargedHDNNP(elements=ethanol_data.elements, cutoff=4.5, hidden=(8,), charges_weight=10.0,
                         dipole_weight=1.0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(ethanol_data, epochs=10, batch_size=5, verbose=0).history
    assert {"charges_rmse", "dipole_rmse", "charges_mae", "dipole_mae"} <= set(history)
    assert history["charges_rmse"][-1] < history["charges_rmse"][0]
    pred = model.predict(ethanol_data[:3], verbose=0)
    d = ethanol_data[:3]
    np.testing.assert_allclose(np.add.reduceat(pred[keys.CHARGES], d.offsets[:-1]), 0.0, atol=1e-5)
    expected = np.add.reduceat(pred[keys.CHARGES][:, None] * d.positions, d.offsets[:-1])
    np.testing.assert_allclose(pred[keys.DIPOLE], expected, rtol=1e-4, atol=1e-5)


def test_a_total_charge_reaches_the_model(ethanol_data):
    charged = ethanol_data[:2]
    charged.labels[keys.TOTAL_CHARGE] = np.array([1.0, -1.0])
    model = ChargedHDNNP(elements=charged.elements, cutoff=4.5, hidden=(8,))
    model.adapt(charged)
    q = model.predict(charged, verbose=0)[keys.CHARGES]
    np.testing.assert_allclose(np.add.reduceat(q, charged.offsets[:-1]), [1.0, -1.0], atol=1e-5)


def test_a_charge_loss_needs_a_charge_model(ethanol_data):
    model = small_hdnnp(ethanol_data, charges_weight=1.0)
    model.compile()
    with pytest.raises(ValueError, match="does not predict 'charges'"):
        model.fit(ethanol_data[:4], epochs=1, verbose=0)


def test_evaluate_metrics_weigh_every_structure_and_component_equally(cu_data):
    model = small_hdnnp(cu_data, dtype="float64")
    model.compile()
    model.adapt(cu_data)
    subset = cu_data[:7]
    scores = model.evaluate(subset, batch_size=4, return_dict=True, verbose=0)  # batches of 4 and 3
    pred = model.predict(subset, verbose=0)
    e_err = (pred[keys.ENERGY] - subset.labels[keys.ENERGY]) / subset.n_atoms
    f_err = pred[keys.FORCES] - subset.labels[keys.FORCES]
    assert scores["energy_mae"] == pytest.approx(np.mean(np.abs(e_err)), rel=1e-6)
    assert scores["energy_rmse"] == pytest.approx(np.sqrt(np.mean(e_err**2)), rel=1e-6)
    assert scores["forces_mae"] == pytest.approx(np.mean(np.abs(f_err)), rel=1e-6)
    assert scores["forces_rmse"] == pytest.approx(np.sqrt(np.mean(f_err**2)), rel=1e-6)
