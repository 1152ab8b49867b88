"""Generic checks that every registered model must pass.

Each registered model needs an entry in :data:`SMALL` (small hyper-parameters so a check
runs in seconds); a model without one fails :func:`test_every_registered_model_has_small_settings`.
Method-specific behaviour is tested in each model's own test file.
"""

import keras
import numpy as np
import pytest

import zoo
from zoo import keys
from zoo.batch import collate

#: registry name -> small hyper-parameters (besides ``elements``)
SMALL = {
    "hdnnp": dict(cutoff=4.5, hidden=(10, 10)),
    "dpmd": dict(cutoff=4.0, n_full=6, n_max=20, hidden=(32, 32)),
    "deeppot_se": dict(cutoff=4.0, cutoff_smooth=1.0, sel=30, embedding=(8, 16), axis_neurons=4, hidden=(32, 32)),
    "eann": dict(cutoff=4.0, n_radial=6, l_max=2, n_orbitals=6, hidden=(16, 16)),  # mixed, as the sweep's
    "wacsf_hdnnp": dict(cutoff=4.5, n_radial=12, n_angular=2, hidden=(16, 16)),
    "singlenn": dict(cutoff=4.5, n_radial=16, n_angular=3, hidden=(32, 32)),
    "pair_hdnnp": dict(pair_cutoff=3.2, cutoff=4.0, hidden=(32, 32)),
    "ani": dict(hidden=(10, 10)),
    "aimnet": dict(n_features=4, passes=2, embedding=(16, 8), update=(8,), output=(8,)),
    "hdnnp3g": dict(cutoff=4.5, hidden=(10, 10), charge_hidden=(8,)),
    "tensormol": dict(cutoff=4.5, hidden=(10, 10), charge_hidden=(8,), d2_cutoff=8.0),
    # one module (the FD force checks of test_electrostatic_models use two): with two, 8 features
    # and uniform initial charges the forces moved by 1 % in the 32 steps of the fit test
    "physnet": dict(cutoff=4.5, features=16, n_rbf=16, n_modules=1, n_residual_interaction=1),
    "schnet": dict(cutoff=4.0, n_features=16, n_interactions=2, n_rbf=30),
    "dtnn": dict(cutoff=4.0, n_basis=24, n_factors=24, n_interactions=2),
    "hipnn": dict(cutoff=4.0, n_features=12, n_interactions=2, n_onsite=1, n_sensitivities=6),
    "global_nn": dict(hidden=(16, 16)),
    "pip_nn": dict(degree=2, hidden=(16, 16)),
    "hdnnp4g": dict(cutoff=4.5, hidden=(10, 10), electronegativity_hidden=(8,)),
    "cent": dict(cutoff=4.5, hidden=(10,)),
    "bpopnn": dict(cutoff=4.5, hidden=(10, 10)),
}

#: registry name -> the conftest fixture of its natural test data (default: both)
DATA = {}
# 3G models need charge or dipole labels (the ethanol fixture has both, from tblite)
DATA.update({name: ("ethanol_data",) for name in ("hdnnp3g", "tensormol", "physnet")})
# 4G models: bpopnn trains at reference charges; the Qeq models also fit a metal (charges from the energy)
DATA.update({"bpopnn": ("ethanol_data",)})
# 1G models are for one molecule (not periodic): the molecule is fixed from the data at adapt/fit
DATA.update({name: ("ethanol_data",) for name in ("global_nn", "pip_nn")})


#: (model, fixture) whose method cannot beat zero forces there, with the reason
NO_BETTER_THAN_ZERO_FORCES = {
    # CENT's energy comes only from the spread of electronegativities; in a one-element
    # metal it is second order in that spread (test_cent_energy_of_a_perfect_crystal...)
    ("cent", "cu_data"),
}


def cases():
    for name in sorted(SMALL):
        for fixture in DATA.get(name, ("cu_data", "ethanol_data")):
            yield pytest.param(name, fixture, id=f"{name}-{fixture}")


def small_model(name, data, **kwargs):
    return zoo.create(name, elements=data.elements, **SMALL[name], **kwargs)


def inputs_of(model, data, indices):
    x, _ = model.batch_source(data[list(indices)], batch_size=len(indices)).batch(np.arange(len(indices)))
    return x


def energy_at(model, data, s, positions):
    """Energy of structure ``s`` of ``data`` with its positions replaced."""
    d = data[[s]]
    d.positions[:] = positions
    return float(model(inputs_of(model, d, [0]))[keys.ENERGY][0])


def test_every_registered_model_has_small_settings():
    missing = sorted(set(zoo.registry.registered()) - set(SMALL))
    assert not missing, f"add SMALL entries for {missing} in tests/zoo/test_every_model.py"


@pytest.mark.parametrize("name, fixture", cases())
def test_forces_are_minus_the_energy_gradient(name, fixture, request):
    data = request.getfixturevalue(fixture)
    model = small_model(name, data, dtype="float64")
    model.adapt(data)
    positions = data[[1]].positions.copy()
    forces = model.energy_and_forces(inputs_of(model, data, [1]))[keys.FORCES].numpy()
    h = 1e-5
    rng = np.random.default_rng(0)
    for atom in rng.choice(len(positions), size=min(4, len(positions)), replace=False):
        for c in range(3):
            plus, minus = positions.copy(), positions.copy()
            plus[atom, c] += h
            minus[atom, c] -= h
            numeric = -(energy_at(model, data, 1, plus) - energy_at(model, data, 1, minus)) / (2 * h)
            assert forces[atom, c] == pytest.approx(numeric, rel=1e-5, abs=1e-7), (atom, c)


@pytest.mark.parametrize("name, fixture", cases())
def test_batch_of_copies_equals_single_structures(name, fixture, request):
    data = request.getfixturevalue(fixture)
    model = small_model(name, data, dtype="float64")
    model.adapt(data)
    single = model.energy_and_forces(inputs_of(model, data, [2]))
    double = model.energy_and_forces(inputs_of(model, data, [2, 2]))
    np.testing.assert_allclose(double[keys.ENERGY].numpy(), np.repeat(single[keys.ENERGY].numpy(), 2), rtol=1e-10)
    np.testing.assert_allclose(double[keys.FORCES].numpy(), np.concatenate([single[keys.FORCES].numpy()] * 2),
                               rtol=1e-8, atol=1e-10)


def force_rmse(model, data):
    return float(np.sqrt(np.mean((model.predict(data, verbose=0)[keys.FORCES] - data.labels[keys.FORCES]) ** 2)))


@pytest.mark.parametrize("name, fixture", cases())
def test_fit_lowers_the_loss_and_learns_forces(name, fixture, request):
    """The loss falls, and so does the training-set force error, to below that of zero
    forces: a loss can also fall by unlearning a random start (PhysNet's did with random
    initial charges, while its forces stayed at the reference spread)."""
    data = request.getfixturevalue(fixture)
    keras.utils.set_random_seed(0)
    model = small_model(name, data)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.adapt(data)
    before = force_rmse(model, data)
    loss = model.fit(data, epochs=8, batch_size=5, verbose=0).history["loss"]
    assert np.all(np.isfinite(loss)) and loss[-1] < 0.7 * loss[0], loss
    after, zero_forces = force_rmse(model, data), float(np.sqrt(np.mean(data.labels[keys.FORCES] ** 2)))
    assert after < 0.85 * before, (before, after)
    if (name, fixture) not in NO_BETTER_THAN_ZERO_FORCES:
        assert after < zero_forces, (after, zero_forces)


@pytest.mark.parametrize("name, fixture", cases())
def test_save_and_load_give_identical_predictions(name, fixture, request, tmp_path):
    data = request.getfixturevalue(fixture)
    model = small_model(name, data)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(data[:6], epochs=1, batch_size=3, verbose=0)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model)
    before, after = model.predict(data[:4], verbose=0), loaded.predict(data[:4], verbose=0)
    assert set(before) == set(after)
    for key in before:
        np.testing.assert_array_equal(np.asarray(before[key]), np.asarray(after[key]), err_msg=key)
