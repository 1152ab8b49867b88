"""What is specific to the ANI and AIMNet models: ANI-1x inputs and CELU networks; AIMNet
charges (exact total charge for charged structures, rotation invariance, fitted when the
data have them, weight chosen from the data) and the reach of its iterated passes."""

import keras
import numpy as np
import pytest

import zoo
from zoo import keys
from zoo.data import Dataset

AIMNET_SMALL = dict(n_features=4, passes=2, embedding=(16, 8), update=(8,), output=(8,))


def _inputs(model, data, indices, total_charge=None):
    x, _ = model.batch_source(data[list(indices)], batch_size=len(indices)).batch(np.arange(len(indices)))
    if total_charge is not None:
        x[keys.TOTAL_CHARGE] = np.asarray(total_charge, x[keys.POSITIONS].dtype)
    return x


def _randomize(layer, seed=2):
    """Random kernel for a layer whose kernel starts at zero (charge head, AFV update)."""
    kernel, bias = layer.get_weights()
    layer.set_weights([np.random.default_rng(seed).normal(size=kernel.shape), bias])


def _rotated(data, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    out = data[np.arange(len(data))]
    out.positions[:] = data.positions @ (q * np.sign(np.linalg.det(q))).T
    return out


def test_ani_uses_the_ani1x_aev_and_celu(ethanol_data):
    model = zoo.create("ani", elements=ethanol_data.elements, hidden=(8,))
    assert model.featurizer.params == zoo.models.ani.AniParams.like_ani1x(ethanol_data.elements)
    x = _inputs(model, ethanol_data, [0])
    assert x[keys.ANI_RADIAL].shape == (9, 16 * 3) and x[keys.ANI_ANGULAR].shape == (9, 32 * 6)
    layer = model.network.networks[0][0]
    assert layer.activation(np.array([-1.0], np.float32)).numpy() == pytest.approx(0.1 * (np.exp(-10.0) - 1))
    assert zoo.registry.info("ani").generation == "2G" and zoo.registry.info("ani").descriptor == "predefined"
    assert zoo.registry.info("aimnet").descriptor == "learnable"


def test_aimnet_conserves_the_total_charge_exactly(ethanol_data):
    model = zoo.create("aimnet", elements=ethanol_data.elements, dtype="float64", **AIMNET_SMALL)
    model.adapt(ethanol_data)
    _randomize(model.charge_head[-1], seed=0)  # uniform charges at first: make them nontrivial
    _randomize(model.update_net[-1])  # so that charges reach the next pass
    total = [1.0, -1.0, 0.0]
    out = model(_inputs(model, ethanol_data, [0, 1, 2], total))
    q = out[keys.CHARGES].numpy().reshape(3, 9)
    np.testing.assert_allclose(q.sum(axis=1), total, atol=1e-12)
    assert np.std(q[0]) > 1e-3  # not just uniform charges
    # the total charge reaches the energy (charges are an input of the next pass)
    neutral = model(_inputs(model, ethanol_data, [0, 1, 2], [0.0, 0.0, 0.0]))[keys.ENERGY].numpy()
    assert abs(out[keys.ENERGY].numpy()[0] - neutral[0]) > 1e-8


def test_aimnet_charges_are_rotation_invariant_and_dipole_follows(ethanol_data):
    model = zoo.create("aimnet", elements=ethanol_data.elements, dtype="float64", **AIMNET_SMALL)
    model.adapt(ethanol_data)
    _randomize(model.charge_head[-1], seed=1)
    _randomize(model.update_net[-1])
    data = ethanol_data[[3, 4]]
    base = model(_inputs(model, data, [0, 1]))
    rotated = model(_inputs(model, _rotated(data), [0, 1]))
    np.testing.assert_allclose(rotated[keys.CHARGES].numpy(), base[keys.CHARGES].numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(rotated[keys.ENERGY].numpy(), base[keys.ENERGY].numpy(), rtol=1e-10)
    q, r = base[keys.CHARGES].numpy()[:9], data.positions[:9]
    np.testing.assert_allclose(base[keys.DIPOLE].numpy()[0], q @ r, rtol=1e-10, atol=1e-12)


def test_aimnet_passes_reach_beyond_one_cutoff():
    """With 2 passes, an atom 1.5 R_cr away changes the energy of the far atom (messages
    pass through the middle one); with 1 pass it cannot."""
    from ase import Atoms

    atoms = [Atoms("HHH", positions=[[0, 0, 0], [4.0, 0, 0], [x, 0, 0]]) for x in (7.9, 8.1)]
    data = Dataset.from_atoms(atoms)
    for passes, changes in ((1, False), (2, True)):
        keras.utils.set_random_seed(1)
        model = zoo.create("aimnet", elements=[1], dtype="float64", **{**AIMNET_SMALL, "passes": passes})
        if model.update_net:  # a trained update: its last kernel starts at zero
            _randomize(model.update_net[-1])
        atomic = [model(_inputs(model, data, [s]))[keys.ATOMIC_ENERGIES].numpy()[0] for s in (0, 1)]
        assert (abs(atomic[0] - atomic[1]) > 1e-10) == changes, (passes, atomic)


def test_aimnet_passes_start_as_one_pass_repeated(ethanol_data):
    """The update network starts at zero, so a new 3-pass AIMNet predicts what a 1-pass one
    with the same embedding, energy and charge networks predicts; a random update would make
    the later passes' inputs noise (that did not train)."""
    models = []
    for passes in (3, 1):
        keras.utils.set_random_seed(3)
        models.append(zoo.create("aimnet", elements=ethanol_data.elements, dtype="float64",
                                 **{**AIMNET_SMALL, "passes": passes}))
    three, one = models
    one.element_features.assign(three.element_features)
    for source, target in ((three.embedding_net, one.embedding_net), (three.energy_head, one.energy_head),
                           (three.charge_head, one.charge_head)):
        for a, b in zip(source, target):
            b.set_weights(a.get_weights())
    x = _inputs(three, ethanol_data, [0, 1])
    outputs = [model(x) for model in (three, one)]
    for key in (keys.ATOMIC_ENERGIES, keys.CHARGES):
        np.testing.assert_allclose(outputs[0][key].numpy(), outputs[1][key].numpy(), rtol=1e-12, atol=1e-12)
    _randomize(three.update_net[-1])
    assert not np.allclose(three(x)[keys.ATOMIC_ENERGIES].numpy(), outputs[1][keys.ATOMIC_ENERGIES].numpy())


def test_aimnet_fit_with_charges_lowers_the_charge_error(ethanol_data):
    keras.utils.set_random_seed(0)
    train = ethanol_data[:8]
    model = zoo.create("aimnet", elements=train.elements, **AIMNET_SMALL)
    model.adapt(train)
    assert model.charges_weight == zoo.models.aimnet.DEFAULT_CHARGES_WEIGHT
    assert keys.CHARGES in model.loss_labels
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    before = model.evaluate(train, verbose=0, return_dict=True)["charges_rmse"]
    model.fit(train, epochs=10, batch_size=4, verbose=0)
    after = model.evaluate(train, verbose=0, return_dict=True)["charges_rmse"]
    assert after < 0.5 * before, (before, after)


def test_aimnet_trains_without_charges_and_saves_the_chosen_weight(cu_data, ethanol_data, tmp_path):
    assert not cu_data.has_label(keys.CHARGES)
    model = zoo.create("aimnet", elements=cu_data.elements, **AIMNET_SMALL)
    assert model.get_config()["charges_weight"] is None
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(cu_data[:2], epochs=1, batch_size=2, verbose=0)
    assert model.charges_weight == 0.0 and keys.CHARGES not in model.loss_labels
    model.save(tmp_path / "a.keras")
    assert keras.models.load_model(tmp_path / "a.keras").charges_weight == 0.0
    explicit = zoo.create("aimnet", elements=ethanol_data.elements, charges_weight=5.0, **AIMNET_SMALL)
    explicit.adapt(ethanol_data)
    assert explicit.charges_weight == 5.0


def test_aimnet_environments_are_the_papers_neighbour_weighted_sums(ethanol_data):
    """The batched products equal G^R_i = sum_j g_ij a_j and G^A_i = sum_{j<k} g_ijk (a_j a_k)
    summed term by term in NumPy, for two structures in one batch."""
    model = zoo.create("aimnet", elements=ethanol_data.elements, **AIMNET_SMALL)
    model.adapt(ethanol_data)
    x = _inputs(model, ethanol_data, [0, 3])
    n_atoms, f = len(x[keys.ELEMENT]), model.n_features
    afv = np.random.default_rng(4).normal(size=(n_atoms, f))
    ours = np.asarray(model.environments(x, keras.ops.convert_to_tensor(afv, "float32"),
                                         model.term_blocks(x, n_atoms)))
    pair = np.asarray(x[keys.ANI_PAIR], np.float64) / np.asarray(model.pair_scale)
    radial = np.zeros((n_atoms, pair.shape[1], f))
    np.add.at(radial, x[keys.ANI_PAIR_CENTRE], pair[:, :, None] * afv[x[keys.ANI_PAIR_NEIGHBOR]][:, None, :])
    triplet = np.asarray(x[keys.ANI_TRIPLET], np.float64) / np.asarray(model.triplet_scale)
    weight = afv[x[keys.ANI_TRIPLET_J]] * afv[x[keys.ANI_TRIPLET_K]]
    angular = np.zeros((n_atoms, triplet.shape[1], f))
    np.add.at(angular, x[keys.ANI_TRIPLET_CENTRE], triplet[:, :, None] * weight[:, None, :])
    expected = np.concatenate([radial.reshape(n_atoms, -1), angular.reshape(n_atoms, -1)], axis=1)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())
