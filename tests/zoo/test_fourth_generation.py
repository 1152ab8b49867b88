"""4G models (hdnnp4g, cent, bpopnn) and charge equilibration: the batched constrained solve
against NumPy, the Qeq matrix and its Jacobian, forces = -dE/dR with the charge response
(molecules, charged clusters, an Ewald cell), non-local charge transfer beyond the cutoff,
charge states of one geometry, the SCF-q of BpopNN, and input errors."""

import keras
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from descriptors.coulomb import CoulombParams, coulomb_matrix
from descriptors.qeq import dense_matrix, qeq_matrix, self_energy_diagonal, solve_qeq
from test_electrostatic_models import _check_forces, batch, nacl_data, periodic_nacl, randomized  # noqa: F401
from zoo import keys
from zoo.data import Dataset
from zoo.layers.qeq import constrained_solve
from zoo.models.bpopnn import BpopNN
from zoo.models.cent import CENT
from zoo.models.hdnnp3g import HDNNP3G
from zoo.models.hdnnp4g import HDNNP4G

SMALL = {
    HDNNP4G: dict(cutoff=4.5, hidden=(8,), electronegativity_hidden=(8,)),
    CENT: dict(cutoff=4.5, hidden=(8,)),
    BpopNN: dict(cutoff=4.5, hidden=(8,), scf_steps=12),
}
MODELS = list(SMALL)


def random_molecule(n, seed, spacing=1.6):
    rng = np.random.default_rng(seed)
    positions = np.cumsum(rng.normal(0.0, 1.0, (n, 3)), axis=0)
    positions *= spacing / np.median(np.linalg.norm(np.diff(positions, axis=0), axis=1))
    return positions


# --- kernel and solve --------------------------------------------------------------------
def test_qeq_matrix_solution_is_the_constrained_minimum():
    positions = random_molecule(6, 0)
    widths, hardness = np.full(6, 0.8), np.linspace(0.5, 2.0, 6)
    values, _ = qeq_matrix(positions, np.zeros((3, 3)), [False] * 3, widths, hardness)
    chi = np.random.default_rng(1).normal(0.0, 1.0, 6)
    q, energy = solve_qeq(values, chi, total_charge=1.0)
    h = dense_matrix(values, 6)
    assert q.sum() == pytest.approx(1.0)
    gradient = chi + h @ q
    np.testing.assert_allclose(gradient, gradient.mean(), atol=1e-10)  # dE/dq uniform
    np.testing.assert_allclose(np.diag(h), hardness + self_energy_diagonal(widths))
    for _ in range(5):  # any charge-conserving displacement raises the energy
        dq = np.random.default_rng(_).normal(0.0, 0.1, 6)
        dq -= dq.mean()
        assert chi @ (q + dq) + 0.5 * (q + dq) @ h @ (q + dq) > energy


def test_qeq_matrix_jacobian_by_finite_differences():
    positions = random_molecule(5, 2)
    widths, hardness = np.linspace(0.6, 1.2, 5), np.ones(5)
    values, jac = qeq_matrix(positions, np.zeros((3, 3)), [False] * 3, widths, hardness)
    dense = np.zeros((len(values), 5, 3))
    np.add.at(dense, (jac.item, jac.atom), jac.value[:, 0, :])
    step = 1e-6
    for atom in range(5):
        for c in range(3):
            plus, minus = positions.copy(), positions.copy()
            plus[atom, c] += step
            minus[atom, c] -= step
            numeric = (qeq_matrix(plus, np.zeros((3, 3)), [False] * 3, widths, hardness)[0]
                       - qeq_matrix(minus, np.zeros((3, 3)), [False] * 3, widths, hardness)[0])[:, 0] / (2 * step)
            np.testing.assert_allclose(dense[:, atom, c], numeric, rtol=1e-6, atol=1e-8)


def test_qeq_matrix_of_a_periodic_cell_is_the_ewald_matrix_plus_the_diagonal():
    atoms = periodic_nacl()
    positions, cell = atoms.positions, atoms.cell[0]
    widths, hardness = np.full(7, 1.0), np.full(7, 0.5)
    values, _ = qeq_matrix(positions, cell, [True] * 3, widths, hardness)
    ewald, _ = coulomb_matrix(positions, cell, [True] * 3, CoulombParams(damping="gaussian"), widths=widths)
    h, a = dense_matrix(values, 7), dense_matrix(ewald, 7)
    np.testing.assert_allclose(h - a, np.diag(hardness + self_energy_diagonal(widths)), atol=1e-12)
    q, _ = solve_qeq(values, np.linspace(-1, 1, 7), total_charge=1.0)
    assert q.sum() == pytest.approx(1.0)


def test_qeq_input_errors():
    positions = random_molecule(3, 0)
    with pytest.raises(ValueError, match="widths must be finite and > 0"):
        qeq_matrix(positions, np.zeros((3, 3)), [False] * 3, [1.0, 0.0, 1.0], np.ones(3))
    with pytest.raises(ValueError, match="hardness must be 3 finite values"):
        qeq_matrix(positions, np.zeros((3, 3)), [False] * 3, np.ones(3), np.ones(2))


def test_batched_constrained_solve_equals_numpy_per_structure():
    """Structures of 4, 7 and 2 atoms in one flat batch (padding in the middle and the end)."""
    import tensorflow as tf

    sizes, totals = (4, 7, 2), (1.0, -2.0, 0.0)
    rng = np.random.default_rng(3)
    pairs, i_all, j_all, chi_all, expected, offset = [], [], [], [], [], 0
    for n, total in zip(sizes, totals):
        values, _ = qeq_matrix(random_molecule(n, n), np.zeros((3, 3)), [False] * 3, np.full(n, 0.9),
                               rng.uniform(0.5, 2.0, n))
        chi = rng.normal(0.0, 1.0, n)
        expected.append(solve_qeq(values, chi, total)[0])
        i, j = np.triu_indices(n)
        pairs.append(values[:, 0]); i_all.append(i + offset); j_all.append(j + offset); chi_all.append(chi)
        offset += n
    structure = np.repeat(np.arange(3), sizes)
    # the diagonal of the matrices is passed separately here, to test both routes
    pair_values = np.concatenate(pairs)
    i, j = np.concatenate(i_all), np.concatenate(j_all)
    diagonal = np.zeros(offset)
    on_diag = i == j
    diagonal[i[on_diag]] = pair_values[on_diag]
    pair_values = np.where(on_diag, 0.0, pair_values)
    q, mu = constrained_solve(tf.constant(pair_values), tf.constant(i), tf.constant(j), tf.constant(diagonal),
                              tf.constant(-np.concatenate(chi_all)), tf.constant(totals), tf.constant(structure),
                              tf.constant(np.array(sizes)))
    np.testing.assert_allclose(q.numpy(), np.concatenate(expected), rtol=1e-10, atol=1e-12)
    assert mu.shape == (3,)


# --- models ------------------------------------------------------------------------------
def model_of(cls, data, **kwargs):
    model = randomized(cls(elements=data.elements, dtype="float64", **SMALL[cls], **kwargs))
    model.adapt(data)
    return model


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_total_charge_is_conserved(cls, nacl_data):
    model = model_of(cls, nacl_data)
    out = model(batch(model, nacl_data, range(6)))
    sums = np.bincount(np.repeat(np.arange(6), nacl_data.n_atoms[:6]), weights=out[keys.CHARGES].numpy())
    np.testing.assert_allclose(sums, nacl_data.labels[keys.TOTAL_CHARGE][:6], atol=1e-8)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_forces_of_a_charged_cluster_include_the_charge_response(cls, nacl_data):
    _check_forces(model_of(cls, nacl_data), nacl_data, 3, atoms=[0, 6])


@pytest.mark.parametrize("cls", [HDNNP4G, CENT], ids=lambda c: c.__name__)
def test_forces_of_a_charged_periodic_cell_through_ewald(cls):
    data = periodic_nacl()
    model = randomized(cls(elements=data.elements, dtype="float64", **SMALL[cls]))
    _check_forces(model, data, 0, atoms=[0, 5])


def test_qeq_charges_are_the_minimum_of_the_cent_energy(nacl_data):
    """CENT's energy is stationary in the charges it returns: moving charge between atoms
    at fixed geometry and total charge raises it (tested through the flat-batch pieces)."""
    import tensorflow as tf

    from zoo.layers.qeq import qeq_charges

    model = model_of(CENT, nacl_data)
    x = batch(model, nacl_data, [3])
    x = {k: tf.convert_to_tensor(v) for k, v in x.items()}
    element = x[keys.ELEMENT]
    chi = tf.squeeze(model.electronegativity_network(model.scaled_descriptors(x), element), -1)
    hardness = model.hardness(element)
    q = qeq_charges(chi, hardness + model.self_energy_diagonal(element), x)

    def energy(charges):
        terms = chi * charges + 0.5 * hardness * charges ** 2 + model.electrostatic_energies(charges, x)
        return float(tf.reduce_sum(terms))

    rng = np.random.default_rng(0)
    for _ in range(5):
        dq = rng.normal(0.0, 0.05, q.shape)
        assert energy(q + (dq - dq.mean())) > energy(q)


def test_cent_energy_of_a_perfect_crystal_is_its_baseline_at_any_lattice_constant(cu_data):
    """CENT has no short-range energy: in a one-element crystal of equivalent atoms every
    electronegativity is the same, so the Qeq charges are zero and the energy is the
    per-atom baseline whatever the density; only the spread of chi across atoms makes energy
    (why CENT fits the Cu set's forces no better than zero forces). The 4G-HDNNP's short
    range sees the density."""
    crystals = [bulk("Cu", "fcc", a=a, cubic=True).repeat(2) for a in (3.45, 3.61, 3.8)]
    for crystal in crystals:
        crystal.info[keys.TOTAL_CHARGE] = 0.0
    data = Dataset.from_atoms(crystals)
    energies = {}
    for cls in (CENT, HDNNP4G):
        model = model_of(cls, cu_data)
        out = model(batch(model, data, range(len(crystals))))
        energies[cls] = out[keys.ENERGY].numpy()
        if cls is CENT:
            np.testing.assert_allclose(out[keys.CHARGES].numpy(), 0.0, atol=1e-10)
    np.testing.assert_allclose(energies[CENT], energies[CENT][0], rtol=0, atol=1e-9)
    assert np.ptp(energies[HDNNP4G]) > 1e-3


def chain(n_carbon, far_shift=0.0):
    """A straight carbon chain (1.3 Å spacing), the last atom moved along the axis by ``far_shift``."""
    positions = np.zeros((n_carbon, 3))
    positions[:, 0] = 1.3 * np.arange(n_carbon)
    positions[-1, 0] += far_shift
    atoms = Atoms("C" * n_carbon, positions=positions)
    atoms.info[keys.TOTAL_CHARGE] = 0.0
    return atoms


def test_charge_moves_beyond_the_cutoff_in_4g_but_not_in_3g():
    """Moving the last atom of a 13 Å chain changes the charge difference of the first two
    atoms in hdnnp4g (the Qeq solve is global) but not in hdnnp3g, whose charges are local
    up to a uniform neutrality shift (which cancels in the difference)."""
    data = Dataset.from_atoms([chain(11), chain(11, far_shift=0.3)])
    change = {}
    for cls, small in ((HDNNP4G, SMALL[HDNNP4G]), (HDNNP3G, dict(cutoff=4.5, hidden=(8,), charge_hidden=(8,)))):
        model = randomized(cls(elements=data.elements, dtype="float64", **small))
        model.adapt(data)
        q = model(batch(model, data, [0, 1]))[keys.CHARGES].numpy()
        change[cls] = (q[11] - q[12]) - (q[0] - q[1])
    assert abs(change[HDNNP4G]) > 1e-4
    assert abs(change[HDNNP3G]) < 1e-12


def test_one_geometry_in_two_charge_states_has_two_energies():
    atoms = Atoms("Ag3", positions=[[0, 0, 0], [2.7, 0, 0], [1.3, 2.3, 0]])
    cation, anion = atoms.copy(), atoms.copy()
    cation.info[keys.TOTAL_CHARGE], anion.info[keys.TOTAL_CHARGE] = 1.0, -1.0
    data = Dataset.from_atoms([cation, anion])
    for cls in MODELS:
        model = randomized(cls(elements=data.elements, dtype="float64", **SMALL[cls]))
        out = model(batch(model, data, [0, 1]))
        energy, charges = out[keys.ENERGY].numpy(), out[keys.CHARGES].numpy()
        assert abs(energy[0] - energy[1]) > 1e-3, cls.__name__
        np.testing.assert_allclose([charges[:3].sum(), charges[3:].sum()], [1.0, -1.0], atol=1e-8)


def test_bpopnn_scf_converges_to_the_constrained_minimum(nacl_data):
    import tensorflow as tf

    model = model_of(BpopNN, nacl_data)
    x = {k: tf.convert_to_tensor(v) for k, v in batch(model, nacl_data, range(6)).items()}
    out = model(x)
    assert np.all(out[keys.SCF_RESIDUAL].numpy() < 1e-6)
    # the energy at fixed geometry: SCF charges lower it against nearby conserving charges
    rng = np.random.default_rng(1)
    q = out[keys.CHARGES].numpy()
    base = out[keys.ENERGY].numpy()
    for _ in range(3):
        dq = rng.normal(0.0, 0.05, q.shape)
        dq -= np.repeat(np.bincount(x[keys.STRUCTURE].numpy(), dq) / nacl_data.n_atoms[:6], nacl_data.n_atoms[:6])
        moved = model({**x, keys.POPULATION_CHARGES: tf.constant(q + dq)})[keys.ENERGY].numpy()
        assert np.all(moved > base - 1e-9)


def test_bpopnn_charge_gradient_is_the_response_of_the_scf_charges(nacl_data):
    """The gradient that trains the SCF charges (one Newton step at convergence, exact
    curvature) equals the finite-difference change of the converged charges when a weight
    moves (the networks' curvature is negative at some atoms here, where a clipped Hessian
    was 0.2 % off)."""
    import tensorflow as tf

    model = randomized(BpopNN(elements=nacl_data.elements, dtype="float64", **{**SMALL[BpopNN], "scf_steps": 30}))
    model.adapt(nacl_data)
    x = {k: tf.convert_to_tensor(v) for k, v in batch(model, nacl_data, range(3)).items()}
    weight = model.network.trainable_variables[0]
    probe = np.random.default_rng(2).normal(size=int(nacl_data.n_atoms[:3].sum()))
    with tf.GradientTape() as tape:
        projected = tf.reduce_sum(probe * model(x, training=True)[keys.CHARGES])
    analytic = tape.gradient(projected, weight).numpy()
    with tf.GradientTape() as tape:  # prediction skips the response step: no gradient
        untrained = tf.reduce_sum(probe * model(x)[keys.CHARGES])
    assert tape.gradient(untrained, weight) is None
    original, h = weight.numpy(), 1e-5
    for index in [(3, 2), (-1, 0), (-1, 1)]:  # an ACSF input weight and two charge-input weights
        shifted = []
        for sign in (1.0, -1.0):
            moved = original.copy()
            moved[index] += sign * h
            weight.assign(moved)
            shifted.append(float(np.sum(probe * model(x)[keys.CHARGES].numpy())))
        weight.assign(original)
        np.testing.assert_allclose(analytic[index], (shifted[0] - shifted[1]) / (2 * h), rtol=1e-4, atol=1e-8)


def test_bpopnn_trains_its_scf_charges_towards_the_reference_and_needs_charges(nacl_data, cu_data):
    keras.utils.set_random_seed(0)
    model = BpopNN(elements=nacl_data.elements, **SMALL[BpopNN])
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(nacl_data, epochs=6, batch_size=4, verbose=0).history
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    assert "charges_rmse" in history
    with pytest.raises(ValueError, match="need charges"):
        BpopNN(elements=cu_data.elements, **SMALL[BpopNN]).adapt(cu_data)
    with pytest.raises(ValueError, match="scf_steps must be >= 1"):
        BpopNN(elements=cu_data.elements, scf_steps=0)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_stress_is_refused_rather_than_wrong(cls):
    data = periodic_nacl()
    model = cls(elements=data.elements, **SMALL[cls])
    with pytest.raises(NotImplementedError, match="gives no stress"):
        model.energy_forces_and_stress(batch(model, data, [0]))
