"""3G models (hdnnp3g, tensormol, physnet) and their electrostatic inputs: total charge
conserved, forces = -dE/dR with the charge-dependence terms (molecules, charged clusters and
an Ewald cell), the flat-batch electrostatic energy against 1/2 qᵀAq, the D2 term, the
two-step training of the 3G-HDNNP, and the composite featurizer."""

import keras
import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator

from descriptors.coulomb import CoulombParams, coulomb_matrix, triangle_indices
from zoo import keys
from zoo.batch import collate
from zoo.data import Dataset
from zoo.featurizers import AcsfFeaturizer, CompositeFeaturizer, CoulombFeaturizer, D2Featurizer, featurizer_from_config
from zoo.layers import coulomb_atomic_energies
from zoo.models.hdnnp3g import HDNNP3G
from zoo.models.physnet import PhysNet
from zoo.models.tensormol import TensorMol
from zoo.reference import XTB_SETTINGS, nacl_cluster

SMALL = {
    HDNNP3G: dict(cutoff=4.5, hidden=(8,), charge_hidden=(8,)),
    TensorMol: dict(cutoff=4.5, hidden=(8,), charge_hidden=(8,), d2_cutoff=8.0),
    PhysNet: dict(cutoff=4.5, features=8, n_rbf=6, n_modules=2, n_residual_interaction=1),
}
MODELS = list(SMALL)


@pytest.fixture(scope="module")
def nacl_data():
    """12 rattled Na_n Cl_m clusters of total charge -1, 0 and +1, GFN2-xTB labels (tblite)."""
    from tblite.ase import TBLite

    rng = np.random.default_rng(0)
    structures = []
    for n_na, n_cl in [(2, 2), (2, 1), (1, 2), (4, 3), (3, 4), (4, 4)] * 2:
        atoms = nacl_cluster(n_na, n_cl)
        atoms.positions += rng.normal(0.0, 0.1, atoms.positions.shape)
        atoms.info[keys.TOTAL_CHARGE] = float(n_na - n_cl)
        atoms.calc = TBLite(**XTB_SETTINGS, charge=n_na - n_cl)
        results = dict(energy=atoms.get_potential_energy(), forces=atoms.get_forces(),
                       charges=atoms.get_charges(), dipole=atoms.get_dipole_moment())
        atoms.calc = SinglePointCalculator(atoms, **results)
        structures.append(atoms)
    return Dataset.from_atoms(structures)


def periodic_nacl():
    """A rattled, charged (+1: one Cl removed) rock-salt NaCl cell of 7 atoms, no labels but
    its total charge; energies are only compared with themselves."""
    from ase.build import bulk

    atoms = bulk("NaCl", "rocksalt", a=5.64, cubic=True)
    del atoms[[a.index for a in atoms if a.symbol == "Cl"][0]]
    atoms.positions += np.random.default_rng(1).normal(0.0, 0.1, atoms.positions.shape)
    atoms.info[keys.TOTAL_CHARGE] = 1.0
    return Dataset.from_atoms([atoms])


def batch(model, data, indices):
    return model.batch_source(data[list(indices)], batch_size=len(indices)).batch(np.arange(len(indices)))[0]


def energy_at(model, data, s, positions):
    d = data[[s]]
    d.positions[:] = positions
    return float(model(batch(model, d, [0]))[keys.ENERGY][0])


def randomized(model, seed=0):
    """Give every weight random values of moderate size (zero-initialised parts included),
    so that charges and energies depend on the geometry in every term."""
    rng = np.random.default_rng(seed)
    for v in model.trainable_variables:
        v.assign(rng.normal(0.0, 0.3, v.shape))
    return model


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_total_charge_is_conserved(cls, nacl_data):
    model = cls(elements=nacl_data.elements, **SMALL[cls])
    model.adapt(nacl_data)
    randomized(model)  # charges that differ between atoms (PhysNet starts uniform)
    out = model(batch(model, nacl_data, range(len(nacl_data))))
    sums = np.add.reduceat(out[keys.CHARGES].numpy(), nacl_data.offsets[:-1])
    np.testing.assert_allclose(sums, nacl_data.labels[keys.TOTAL_CHARGE], atol=1e-5)
    assert np.std(out[keys.CHARGES].numpy()[:4]) > 1e-3
    assert set(np.unique(nacl_data.labels[keys.TOTAL_CHARGE])) == {-1.0, 0.0, 1.0}


def test_physnet_starts_from_uniform_charges_and_a_geometry_dependent_energy(nacl_data):
    """PhysNet's charge outputs start at zero (random initial charges of ~1 e kept the
    forces from training); its energy outputs do not (zero outputs stalled)."""
    model = PhysNet(elements=nacl_data.elements, **SMALL[PhysNet])
    model.adapt(nacl_data)
    out = model(batch(model, nacl_data, range(len(nacl_data))))
    n = np.diff(nacl_data.offsets)
    np.testing.assert_allclose(out[keys.CHARGES].numpy(), np.repeat(nacl_data.labels[keys.TOTAL_CHARGE] / n, n),
                               atol=1e-6)
    # the network's atomic energies (no Coulomb or D2) of atoms of one element in different
    # environments: equal if the energy column were zero
    element = nacl_data[[0]].numbers
    atomic = model.atomic_outputs(batch(model, nacl_data, [0]))[keys.ATOMIC_ENERGIES].numpy()
    same = atomic[element == element[0]]
    assert len(same) > 1 and np.ptp(same) > 1e-6


def _check_forces(model, data, s, atoms):
    forces = model.energy_and_forces(batch(model, data, [s]))[keys.FORCES].numpy()
    positions = data[[s]].positions.copy()
    h = 1e-5
    for atom in atoms:
        for c in range(3):
            plus, minus = positions.copy(), positions.copy()
            plus[atom, c] += h
            minus[atom, c] -= h
            numeric = -(energy_at(model, data, s, plus) - energy_at(model, data, s, minus)) / (2 * h)
            assert forces[atom, c] == pytest.approx(numeric, rel=1e-6, abs=1e-7), (atom, c)
    return forces


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_forces_of_a_charged_cluster_include_the_charge_terms(cls, nacl_data):
    """FD forces of a +1 cluster (Na4Cl3), with the charges depending on the geometry."""
    model = randomized(cls(elements=nacl_data.elements, dtype="float64", **SMALL[cls]))
    model.adapt(nacl_data)
    _check_forces(model, nacl_data, 3, atoms=[0, 6])


def test_forces_of_a_charged_periodic_cell_through_ewald():
    data = periodic_nacl()
    model = randomized(HDNNP3G(elements=data.elements, dtype="float64", **SMALL[HDNNP3G]))
    _check_forces(model, data, 0, atoms=[0, 5])


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_stress_is_refused_rather_than_wrong(cls):
    data = periodic_nacl()
    model = cls(elements=data.elements, **SMALL[cls])
    with pytest.raises(NotImplementedError, match="gives no stress"):
        model.energy_forces_and_stress(batch(model, data, [0]))


def test_charge_gradient_terms_are_not_negligible(nacl_data):
    """Forces with the charges held fixed (only A's Jacobian) differ from the full forces:
    the dq/dR terms through the ACSF Jacobian matter, and the FD test above covers them."""
    model = randomized(HDNNP3G(elements=nacl_data.elements, dtype="float64", **SMALL[HDNNP3G]))
    model.adapt(nacl_data)
    x = batch(model, nacl_data, [3])
    full = model.energy_and_forces(x)
    q = full[keys.CHARGES].numpy()
    _, jac = coulomb_matrix(nacl_data[[3]].positions, np.zeros((3, 3)), False)
    i, j = triangle_indices(len(q))
    grad = np.where(i == j, 0.5, 1.0) * q[i] * q[j]
    per_block = grad[jac.item][:, None] * jac.value[:, 0, :]
    fixed = -np.array([per_block[jac.atom == a].sum(axis=0) for a in range(len(q))])
    # the full forces minus the fixed-charge Coulomb forces are short-range plus charge terms;
    # with the short-range network silenced they are the charge terms alone
    for v in model.short_range_network.trainable_variables:
        v.assign(np.zeros(v.shape))
    no_short = model.energy_and_forces(x)[keys.FORCES].numpy()
    assert np.abs(no_short - fixed).max() > 1e-2 * np.abs(fixed).max()


def test_flat_batch_electrostatic_energy_is_half_qAq():
    rng = np.random.default_rng(3)
    structures, expected, charges = [], [], []
    featurizer = CoulombFeaturizer((1, 8), CoulombParams("gaussian"), widths=(0.5, 0.9))
    for n in (3, 5):
        positions = rng.normal(0, 1.5, (n, 3))
        numbers = rng.choice([1, 8], n)
        q = rng.normal(0, 0.5, n)
        structures.append(featurizer.featurize(numbers, positions, np.zeros((3, 3)), False))
        widths = np.where(numbers == 1, 0.5, 0.9)
        a = coulomb_matrix(positions, np.zeros((3, 3)), False, CoulombParams("gaussian"), widths)[0]
        i, j = triangle_indices(n)
        expected.append(np.sum(np.where(i == j, 0.5, 1.0) * q[i] * q[j] * a[:, 0]))
        charges.append(q)
    flat = collate(structures)
    atomic = coulomb_atomic_energies(np.concatenate(charges), flat).numpy()
    np.testing.assert_allclose([atomic[:3].sum(), atomic[3:].sum()], expected, rtol=1e-10)


def test_tensormol_adds_d2_and_fits_charges_through_dipoles(nacl_data):
    with_d2 = randomized(TensorMol(elements=nacl_data.elements, dtype="float64", **SMALL[TensorMol]))
    with_d2.adapt(nacl_data)
    without = TensorMol(elements=nacl_data.elements, dtype="float64", s6=0.0001, **SMALL[TensorMol])
    without.set_weights(with_d2.get_weights())
    x = batch(with_d2, nacl_data, [0, 4])
    difference = with_d2(x)[keys.ENERGY].numpy() - without(x)[keys.ENERGY].numpy()
    d2 = np.add.reduceat(x[keys.D2_ENERGIES][:, 0], [0, 4])
    np.testing.assert_allclose(difference, 0.9999 * d2, rtol=1e-8)
    assert np.all(d2 < 0)
    assert keys.DIPOLE in with_d2.loss_labels and keys.CHARGES not in with_d2.loss_labels


def test_charge_and_dipole_weights_follow_the_data(nacl_data):
    """Unset (None) charge/dipole weights become 1 where the training data have the label
    and 0 where they do not (a model also trains on data without charges)."""
    for cls, key in ((HDNNP3G, keys.CHARGES), (TensorMol, keys.DIPOLE), (PhysNet, keys.DIPOLE)):
        labelled, unlabelled = (cls(elements=(11, 17), **SMALL[cls]) for _ in range(2))
        assert key not in labelled.loss_labels and labelled.get_config()[f"{key}_weight"] is None
        labelled.adapt(nacl_data)
        unlabelled.adapt(periodic_nacl())
        assert key in labelled.loss_labels and key not in unlabelled.loss_labels
        assert labelled.get_config()[f"{key}_weight"] == 1.0 and unlabelled.get_config()[f"{key}_weight"] == 0.0


def test_two_step_training(nacl_data):
    """Step 1 fits the charges only; step 2 freezes the charge networks (charges stay
    exactly the same) and fits energies and forces."""
    keras.utils.set_random_seed(0)
    model = HDNNP3G(elements=nacl_data.elements, energy_weight=0.0, forces_weight=0.0, charges_weight=1.0,
                    **SMALL[HDNNP3G])
    model.short_range_network.trainable = False
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    step1 = model.fit(nacl_data, epochs=8, batch_size=3, verbose=0).history
    assert step1["charges_rmse"][-1] < 0.7 * step1["charges_rmse"][0]
    assert "energy_rmse" not in step1
    x = batch(model, nacl_data, range(len(nacl_data)))
    charges = model(x)[keys.CHARGES].numpy()
    before = [w.numpy().copy() for w in model.short_range_network.weights]

    model.charge_network.trainable = False
    model.short_range_network.trainable = True
    model.energy_weight, model.forces_weight, model.charges_weight = 1.0, 0.1, 0.0
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    step2 = model.fit(nacl_data, epochs=6, batch_size=6, verbose=0).history
    assert step2["loss"][-1] < 0.7 * step2["loss"][0]
    np.testing.assert_array_equal(model(x)[keys.CHARGES].numpy(), charges)
    assert any(np.abs(a - b.numpy()).max() > 0 for a, b in zip(before, model.short_range_network.weights))


def test_composite_featurizer_round_trip_and_errors():
    from descriptors.acsf import AcsfParams

    params = AcsfParams.auto((11, 17), 4.0)
    composite = CompositeFeaturizer([AcsfFeaturizer(params), CoulombFeaturizer((11, 17)), D2Featurizer((11, 17))])
    again = featurizer_from_config(composite.serialize())
    assert again.serialize() == composite.serialize()
    assert again.jacobians == (keys.DESCRIPTORS_JACOBIAN, keys.COULOMB_JACOBIAN, keys.D2_JACOBIAN)
    positions = np.array([[0.0, 0, 0], [2.6, 0, 0], [0, 2.7, 0]])
    out = again.featurize(np.array([11, 17, 17]), positions, np.zeros((3, 3)), False)
    assert out[keys.COULOMB_MATRIX].shape == (6, 1) and out[keys.D2_ENERGIES].shape == (3, 1)
    with pytest.raises(ValueError, match="same keys"):
        CompositeFeaturizer([CoulombFeaturizer((11, 17)), CoulombFeaturizer((11, 17))]).featurize(
            np.array([11, 17, 17]), positions, np.zeros((3, 3)), False)
    with pytest.raises(ValueError, match="same elements"):
        CompositeFeaturizer([CoulombFeaturizer((11, 17)), D2Featurizer((1, 8))])
