"""pair_hdnnp and its featurizer: pair rows as batch items, the energy split, continuity at
the pair cutoff, one network per element pair."""

import numpy as np
import pytest
from ase import Atoms

import zoo
from zoo import keys
from zoo.batch import collate
from zoo.data import Dataset
from zoo.featurizers import PairSfFeaturizer, featurizer_from_config
from zoo.models.pair_hdnnp import PairHDNNP

SMALL = dict(pair_cutoff=3.2, cutoff=4.0, hidden=(8, 8))


def _inputs(model, data):
    x, _ = model.batch_source(data, batch_size=len(data)).batch(np.arange(len(data)))
    return x


def _adapted(data, **kwargs):
    model = PairHDNNP(elements=data.elements, dtype="float64", **{**SMALL, **kwargs})
    model.adapt(data)
    return model


def _pair_keys():
    jk = keys.PAIR_SF_JACOBIAN
    return {jk.values, jk.item, jk.atom, jk.value, jk.displacement, keys.PAIR_SF_I, keys.PAIR_SF_J, keys.PAIR_SF_TYPE}


def test_featurizer_emits_pairs_with_atoms_and_types(ethanol_data):
    featurizer = PairSfFeaturizer(zoo.create("pair_hdnnp", elements=ethanol_data.elements, **SMALL).featurizer.params)
    s = ethanol_data.structure(0)
    out = featurizer.featurize(s[keys.NUMBERS], s[keys.POSITIONS], s[keys.CELL], s[keys.PBC])
    assert _pair_keys() | {keys.ELEMENT} == set(out)
    n_pairs = len(out[keys.PAIR_SF])
    assert n_pairs > 0 and out[keys.PAIR_SF].shape[1] == featurizer.n_features
    i, j = out[keys.PAIR_SF_I], out[keys.PAIR_SF_J]
    assert np.all(i < j)  # a molecule: pairs of distinct atoms, each once
    assert len(set(zip(i.tolist(), j.tolist()))) == n_pairs
    distance = np.linalg.norm(s[keys.POSITIONS][j] - s[keys.POSITIONS][i], axis=1)
    assert distance.max() < featurizer.params.pair_cutoff
    element = out[keys.ELEMENT]
    np.testing.assert_array_equal(out[keys.PAIR_SF_TYPE], featurizer.params.pair_type(element[i], element[j]))
    again = featurizer_from_config(featurizer.serialize())
    assert isinstance(again, PairSfFeaturizer) and again.params == featurizer.params


def test_collate_offsets_pair_atoms_by_atoms_and_jacobian_items_by_pairs(cu_data):
    featurizer = zoo.create("pair_hdnnp", elements=cu_data.elements, **SMALL).featurizer
    s = cu_data.structure(3)
    one = featurizer.featurize(s[keys.NUMBERS], s[keys.POSITIONS], s[keys.CELL], s[keys.PBC])
    two = collate([one, one])
    n_atoms, n_pairs, n_blocks = len(one[keys.ELEMENT]), len(one[keys.PAIR_SF]), len(one[keys.PAIR_SF_JACOBIAN.item])
    for key, offset in ((keys.PAIR_SF_I, n_atoms), (keys.PAIR_SF_J, n_atoms), (keys.PAIR_SF_JACOBIAN.atom, n_atoms),
                        (keys.PAIR_SF_JACOBIAN.item, n_pairs), (keys.PAIR_SF_TYPE, 0)):
        np.testing.assert_array_equal(two[key][len(one[key]):], one[key] + offset, err_msg=key)
    assert len(two[keys.PAIR_SF_JACOBIAN.value]) == 2 * n_blocks


def test_energy_is_the_sum_of_pair_energies_split_half_to_each_atom(ethanol_data):
    model = _adapted(ethanol_data)
    x = _inputs(model, ethanol_data[:3])
    out = model(x)
    pair = out[keys.PAIR_ENERGIES].numpy()
    i, j = x[keys.PAIR_SF_I], x[keys.PAIR_SF_J]
    baseline = model.element_energy.numpy()[x[keys.ELEMENT]]
    atomic = out[keys.ATOMIC_ENERGIES].numpy() - baseline
    expected = np.zeros_like(atomic)
    np.add.at(expected, i, pair / 2)
    np.add.at(expected, j, pair / 2)
    np.testing.assert_allclose(atomic, expected, rtol=1e-12, atol=1e-14)
    structure_of_pair = x[keys.STRUCTURE][i]
    energy = np.bincount(structure_of_pair, pair, minlength=3) + np.bincount(x[keys.STRUCTURE], baseline)
    np.testing.assert_allclose(out[keys.ENERGY].numpy(), energy, rtol=1e-12)
    assert np.abs(pair).max() > 1e-4


def _three_cu(x):
    """Cu atoms 0 and 1 2.5 Å apart; atom 2 at (x, 2.0, 0), crossing the pair cutoff of
    atom 0 as x grows while it stays well inside that of atom 1."""
    atoms = Atoms("Cu3", positions=[[0.0, 0.0, 0.0], [2.5, 0.0, 0.0], [x, 2.0, 0.0]])
    return atoms


def test_energy_and_forces_are_continuous_when_a_pair_crosses_the_pair_cutoff(cu_data):
    model = _adapted(cu_data)
    rp = model.featurizer.params.pair_cutoff
    x_cross = np.sqrt(rp**2 - 2.0**2)  # |r_2 - r_0| = r_p here
    results, n_pairs = [], []
    for dx in (-1e-6, 1e-6):
        data = Dataset.from_atoms([_three_cu(x_cross + dx)])
        inputs = _inputs(model, data)
        n_pairs.append(len(inputs[keys.PAIR_SF]))
        results.append(model.energy_and_forces(inputs))
    assert n_pairs == [3, 2]  # the (0, 2) pair leaves between the two geometries
    e_in, e_out = (float(r[keys.ENERGY][0]) for r in results)
    assert abs(e_in - e_out) < 1e-8
    np.testing.assert_allclose(results[0][keys.FORCES].numpy(), results[1][keys.FORCES].numpy(), atol=1e-6)
    # the pair energy itself goes to zero there, although its network output does not
    pair_in = results[0][keys.PAIR_ENERGIES].numpy()
    assert np.abs(pair_in).min() < 1e-9 and np.abs(pair_in).max() > 1e-4


def test_without_the_envelope_the_energy_would_jump(cu_data):
    """The network output of the leaving pair (its pair energy before the envelope) is not
    small at the cutoff: the envelope factor is what makes the energy continuous."""
    model = _adapted(cu_data)
    rp = model.featurizer.params.pair_cutoff
    data = Dataset.from_atoms([_three_cu(np.sqrt(rp**2 - 2.0**2) - 1e-3)])
    x = _inputs(model, data)
    from zoo.layers import standardize

    scaled = standardize(x[keys.PAIR_SF], x[keys.PAIR_SF_TYPE], model.feature_mean, model.feature_std)
    raw = model.network(scaled, x[keys.PAIR_SF_TYPE]).numpy()[:, 0]
    leaving = int(np.argmax(np.linalg.norm(data.positions[x[keys.PAIR_SF_J]] - data.positions[x[keys.PAIR_SF_I]],
                                           axis=1)))
    assert abs(raw[leaving]) > 1e-3 and x[keys.PAIR_SF][leaving, 0] < 1e-5


def test_one_network_per_unordered_element_pair(ethanol_data, cu_data):
    model = zoo.create("pair_hdnnp", elements=ethanol_data.elements, **SMALL)
    assert model.network.n_elements == 6  # HH, HC, HO, CC, CO, OO
    assert model.feature_mean.shape == (6, model.featurizer.n_features)
    assert zoo.create("pair_hdnnp", elements=cu_data.elements, **SMALL).network.n_elements == 1


def test_adapt_fits_per_type_statistics_and_the_pair_norm(ethanol_data):
    model = _adapted(ethanol_data)
    x = model.batch_source(ethanol_data, batch_size=len(ethanol_data)).statistics_batch(np.arange(len(ethanol_data)))
    values, types = x[keys.PAIR_SF], x[keys.PAIR_SF_TYPE]
    for t in np.unique(types):
        np.testing.assert_allclose(model.feature_mean.numpy()[t], values[types == t].mean(axis=0), rtol=1e-5,
                                   atol=1e-8)
    expected_norm = values[:, 0].sum() / len(x[keys.ELEMENT])
    assert float(model.pair_norm.numpy()) == pytest.approx(expected_norm, rel=1e-6) and expected_norm > 1


def test_featurizer_rejects_unknown_elements_and_close_atoms(cu_data):
    model = zoo.create("pair_hdnnp", elements=cu_data.elements, **SMALL)
    with pytest.raises(ValueError, match=r"element\(s\) 79 \(Au\) not known to this model"):
        model.featurizer.featurize([29, 79], [[0, 0, 0], [2.5, 0, 0]], np.zeros((3, 3)), [False] * 3)
    with pytest.raises(ValueError, match=r"atoms 0 and 1 are 0.0500 Å apart, closer than 0.1 Å"):
        model.featurizer.featurize([29, 29], [[0, 0, 0], [0.05, 0, 0]], np.zeros((3, 3)), [False] * 3)
