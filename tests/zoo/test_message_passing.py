"""Message-passing models on pair distances (SchNet, DTNN, HIP-NN): invariances, periodic
crystals, smoothness at the cutoff, flat batches without retracing, HIP-NN's hierarchy.

The generic checks (forces = -dE/dR, save/load, fit, batches of copies) are in
tests/zoo/test_every_model.py.
"""

import keras
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

import zoo
from zoo import keys
from zoo.batch import collate
from zoo.data import Dataset
from zoo.featurizers import DistanceFeaturizer

SMALL = {
    "schnet": dict(cutoff=4.0, n_features=12, n_interactions=2, n_rbf=10),
    "dtnn": dict(cutoff=4.0, n_basis=10, n_factors=10, n_interactions=2),
    "hipnn": dict(cutoff=4.0, n_features=10, n_interactions=2, n_onsite=1, n_sensitivities=5),
}
MODELS = sorted(SMALL)


def model_for(name, elements, **kwargs):
    keras.utils.set_random_seed(1)
    return zoo.create(name, elements=elements, dtype="float64", **{**SMALL[name], **kwargs})


def predict(model, atoms_list):
    """energy_and_forces of a batch of ase.Atoms (numpy arrays)."""
    data = Dataset.from_atoms(atoms_list)
    x, _ = model.batch_source(data, batch_size=len(data)).batch(np.arange(len(data)))
    return {k: np.asarray(v) for k, v in model.energy_and_forces(x).items()}


def _rotation(seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))


def test_featurizer_indices_are_offset_by_collate(ethanol_atoms):
    featurizer = DistanceFeaturizer((1, 6, 8), cutoff=3.0)
    a, b = (featurizer.featurize(x.numbers, x.positions, x.cell.array, x.pbc) for x in ethanol_atoms[:2])
    batch = collate([a, b])
    n_atoms, n_pairs = len(a[keys.ELEMENT]), len(a[keys.PAIR_DISTANCE])
    jk = keys.PAIR_DISTANCE_JACOBIAN
    np.testing.assert_array_equal(batch[keys.PAIR_CENTRE][n_pairs:], b[keys.PAIR_CENTRE] + n_atoms)
    np.testing.assert_array_equal(batch[keys.PAIR_NEIGHBOR][n_pairs:], b[keys.PAIR_NEIGHBOR] + n_atoms)
    np.testing.assert_array_equal(batch[jk.item][n_pairs:], b[jk.item] + n_pairs)
    np.testing.assert_array_equal(batch[jk.atom][n_pairs:], b[jk.atom] + n_atoms)
    np.testing.assert_array_equal(batch[jk.partner][n_pairs:], b[jk.partner] + n_atoms)


@pytest.mark.parametrize("name", MODELS)
def test_energy_is_invariant_under_rotation_translation_and_permutation(name, ethanol_atoms, ethanol_data):
    model = model_for(name, ethanol_data.elements).adapt(ethanol_data)
    atoms = ethanol_atoms[3]
    moved = atoms.copy()
    moved.positions = atoms.positions @ _rotation(0).T + [1.5, -2.0, 0.7]
    hydrogens = np.flatnonzero(atoms.numbers == 1)
    order = np.arange(len(atoms))
    order[hydrogens] = hydrogens[::-1]
    permuted = atoms[order]
    ref, rot, perm = predict(model, [atoms]), predict(model, [moved]), predict(model, [permuted])
    assert rot[keys.ENERGY][0] == pytest.approx(ref[keys.ENERGY][0], rel=1e-12)
    assert perm[keys.ENERGY][0] == pytest.approx(ref[keys.ENERGY][0], rel=1e-12)
    np.testing.assert_allclose(rot[keys.FORCES], ref[keys.FORCES] @ _rotation(0).T, atol=1e-10)
    np.testing.assert_allclose(perm[keys.FORCES], ref[keys.FORCES][order], atol=1e-10)
    # not trivially constant: a different geometry gives a different energy
    assert abs(predict(model, [ethanol_atoms[4]])[keys.ENERGY][0] - ref[keys.ENERGY][0]) > 1e-6


@pytest.mark.parametrize("name", MODELS)
def test_periodic_copper_supercell_and_image_shift(name, cu_atoms, cu_data):
    model = model_for(name, cu_data.elements).adapt(cu_data)
    cell = cu_atoms[0]
    shifted = cell.copy()
    shifted.positions[5] += cell.cell[0] - 2 * cell.cell[2]  # the same crystal
    supercell = cell.repeat((2, 1, 1))
    ref, shift, sup = predict(model, [cell]), predict(model, [shifted]), predict(model, [supercell])
    assert shift[keys.ENERGY][0] == pytest.approx(ref[keys.ENERGY][0], rel=1e-12)
    assert sup[keys.ENERGY][0] == pytest.approx(2 * ref[keys.ENERGY][0], rel=1e-12)
    np.testing.assert_allclose(sup[keys.FORCES], np.concatenate([ref[keys.FORCES]] * 2), atol=1e-10)
    assert np.abs(ref[keys.FORCES]).max() > 1e-6  # rattled cell: forces are not all zero


@pytest.mark.parametrize("name", MODELS)
def test_cells_smaller_than_the_cutoff_see_every_image(name):
    model = model_for(name, [29], cutoff=5.0)
    primitive = bulk("Cu", "fcc", a=3.61)  # 1 atom, 2.55 Å nearest-neighbour distance
    cubic = bulk("Cu", "fcc", a=3.61, cubic=True)  # 4 atoms
    e = predict(model, [primitive, cubic])[keys.ENERGY]
    assert e[1] == pytest.approx(4 * e[0], rel=1e-12)


@pytest.mark.parametrize("name", MODELS)
def test_energy_and_forces_are_continuous_where_a_pair_crosses_the_cutoff(name):
    model = model_for(name, [1, 6, 8], cutoff=4.0)

    def trimer(x):  # only the O-C distance x is near the cutoff (H-C is x + 1 Å)
        return Atoms("HOC", positions=[[-1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [x, 0.2, 0.0]])

    delta = 1e-5
    out = predict(model, [trimer(np.sqrt(4.0**2 - 0.04) - delta), trimer(np.sqrt(4.0**2 - 0.04) + delta),
                          trimer(2.5)])
    e = out[keys.ENERGY]
    assert abs(e[0] - e[1]) < 1e-9 * max(1.0, abs(e[2] - e[1]))
    assert abs(e[2] - e[1]) > 1e-6  # the pair does interact inside the cutoff
    np.testing.assert_allclose(out[keys.FORCES][:3], out[keys.FORCES][3:6], atol=1e-6)


def test_training_does_not_retrace_for_new_batch_sizes(cu_data):
    model = zoo.create("hipnn", elements=cu_data.elements, **SMALL["hipnn"])
    model.compile()
    traces = []
    original = type(model).atomic_outputs

    def counting(self, inputs, training=False):
        traces.append(training)
        return original(self, inputs, training)

    type(model).atomic_outputs = counting
    try:
        model.fit(cu_data[:7], epochs=2, batch_size=3, verbose=0)  # batches of 3, 3 and 1 structures
    finally:
        type(model).atomic_outputs = original
    assert traces.count(True) == 1


def test_dtnn_without_cutoff_uses_all_pairs_of_molecules_only(ethanol_atoms, cu_atoms):
    model = model_for("dtnn", [1, 6, 8], cutoff=None)
    assert model.featurizer.cutoff is None and model.mu_max == 10.0
    atoms = ethanol_atoms[0]
    x = model.featurizer.featurize(atoms.numbers, atoms.positions, atoms.cell.array, atoms.pbc)
    assert len(x[keys.PAIR_DISTANCE]) == len(atoms) * (len(atoms) - 1)

    def far(d):  # an O atom d Å from the rest: beyond any cutoff, still a pair here
        return atoms + Atoms("O", positions=[atoms.positions[0] + [d, 0.0, 0.0]])

    all_pairs = predict(model, [far(8.0), far(9.0)])
    assert abs(all_pairs[keys.ENERGY][0] - all_pairs[keys.ENERGY][1]) > 1e-8
    assert np.abs(all_pairs[keys.FORCES][len(atoms)]).max() > 1e-10
    local = predict(model_for("dtnn", [1, 6, 8], cutoff=5.0), [far(8.0), far(9.0)])
    assert local[keys.ENERGY][0] == pytest.approx(local[keys.ENERGY][1], rel=1e-14)
    with pytest.raises(ValueError, match="cutoff=None .* is for molecules"):
        predict(model_for("dtnn", [29], cutoff=None), cu_atoms[:1])


def test_hipnn_hierarchical_energies_and_hierarchicality(ethanol_data):
    model = model_for("hipnn", ethanol_data.elements, n_interactions=3).adapt(ethanol_data)
    out = model.predict(ethanol_data[:5], verbose=0)
    terms, ratio = out[keys.HIERARCHICAL_ENERGIES], out[keys.HIERARCHICALITY]
    assert terms.shape == (5, 4) and ratio.shape == (5, 3)
    np.testing.assert_allclose(terms.sum(axis=1), out[keys.ENERGY], rtol=1e-12)
    counts = np.array([[np.sum(ethanol_data.structure(s)[keys.NUMBERS] == z) for z in model.elements]
                       for s in range(5)])
    np.testing.assert_allclose(terms[:, 0], counts @ model.element_energy.numpy(), rtol=1e-12)
    eps = model.hierarchicality_epsilon
    np.testing.assert_allclose(ratio, terms[:, 1:] ** 2 / (terms[:, :-1] ** 2 + eps), rtol=1e-12)
    assert np.all(np.abs(terms[:, 1:]) > 0)


def test_hipnn_hierarchicality_weight_adds_the_mean_ratio_to_the_loss(ethanol_data):
    plain = model_for("hipnn", ethanol_data.elements).adapt(ethanol_data)
    weighted = model_for("hipnn", ethanol_data.elements, hierarchicality_weight=2.0)
    weighted.set_weights(plain.get_weights())
    source = plain.batch_source(ethanol_data[:4], batch_size=4, labels=plain.loss_labels)
    x, y = source.batch(np.arange(4))
    out = plain.energy_and_forces(x)
    difference = float(weighted.potential_loss(x, y, out)) - float(plain.potential_loss(x, y, out))
    assert difference == pytest.approx(2.0 * float(np.mean(out[keys.HIERARCHICALITY])), rel=1e-10)
    assert difference > 0


def test_bad_hyper_parameters_are_named():
    with pytest.raises(ValueError, match="cutoff must be"):
        zoo.create("schnet", elements=[29], cutoff=-1.0)
    with pytest.raises(ValueError, match="n_features and n_interactions"):
        zoo.create("schnet", elements=[29], n_interactions=0)
    with pytest.raises(ValueError, match="hierarchicality_weight"):
        zoo.create("hipnn", elements=[29], hierarchicality_weight=-1.0)
