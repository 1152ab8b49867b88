"""What is specific to the dpmd, deeppot_se and eann models: DPMD's energy jumps where its
descriptor does while DeepPot-SE's stays continuous, rotation invariance of energies (and
covariance of forces), EANN's densities against a NumPy formula, configuration errors."""

import keras
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from scipy.spatial.transform import Rotation

from descriptors.dpmd import DpmdParams, dpmd
from descriptors.neighbors import neighbor_list
from zoo import keys
from zoo.batch import collate
from zoo.layers import ResidualElementMLP
from zoo.models.deeppot_se import DeepPotSE
from zoo.models.dpmd import DPMD
from zoo.models.eann import EANN

ELEMENTS = (1, 6, 8)


def _inputs(model, atoms_list):
    """A flat batch with the pipeline's dtypes (indices int32, floats float64)."""
    f = model.featurizer
    batch = collate([f.featurize(a.numbers, a.positions, a.cell.array, a.pbc) for a in atoms_list])
    return {k: v.astype(np.int32) if v.dtype.kind in "iu" else v for k, v in batch.items()}


def _energy(model, atoms):
    return float(model(_inputs(model, [atoms]))[keys.ENERGY][0])


def _numeric_force(model, atoms, atom, c, h=1e-5):
    """-dE/dx of one coordinate by central differences."""
    plus, minus = atoms.copy(), atoms.copy()
    plus.positions[atom, c] += h
    minus.positions[atom, c] -= h
    return -(_energy(model, plus) - _energy(model, minus)) / (2 * h)


def _probe(x):
    """A bent C-H-H frame plus an O probe at distance x from C (the O-H distances stay
    below 3 Å, so only the C-O pair crosses r_c = 3 Å)."""
    direction = np.array([0.2, 0.5, 0.84]) / np.linalg.norm([0.2, 0.5, 0.84])
    return Atoms("CHHO", positions=[[0, 0, 0], [1.1, 0, 0], [-0.4, 1.0, 0.1], x * direction])


@pytest.mark.parametrize("type_one_side", [True, False])
def test_dpmd_energy_jumps_at_the_cutoff_and_deeppot_se_energy_does_not(type_one_side):
    dp = DPMD(ELEMENTS, dpmd=DpmdParams(ELEMENTS, 3.0, 2, 2).to_dict(), hidden=(8,), dtype="float64")
    se = DeepPotSE(ELEMENTS, cutoff=3.0, cutoff_smooth=1.0, sel=8, embedding=(4, 8), axis_neurons=2,
                   hidden=(8,), type_one_side=type_one_side, dtype="float64")
    # statistics as after adapt: the s column shifted, so the leaving C-O row becomes one of
    # the empty slots that the model adds in closed form
    se.row_mean.assign([0.3, 0.4, 0.5])
    se.row_std.assign(np.full((3, 4), 0.2))
    jump = {name: abs(_energy(m, _probe(3.0 - 1e-7)) - _energy(m, _probe(3.0 + 1e-7)))
            for name, m in (("dpmd", dp), ("deeppot_se", se))}
    assert jump["dpmd"] > 1e-4, jump
    assert jump["deeppot_se"] < 1e-7, jump  # the slope times the 2e-7 Å step, no jump


def test_residual_embedding_adds_its_input_where_the_width_stays_or_doubles():
    net = ResidualElementMLP(1, 1, (2, 4, 4), 3, "tanh", dtype="float64")
    for layer in net.networks[0]:
        layer.kernel.assign(np.zeros(layer.kernel.shape))
        layer.bias.assign(np.full(layer.bias.shape, 0.5))
    x = np.array([[0.3], [-1.0]])
    out = net(x, np.zeros(2, np.int32)).numpy()
    h = np.tanh(0.5)
    # 1 -> 2 doubles, 2 -> 4 doubles, 4 -> 4 adds, 4 -> 3 replaces
    np.testing.assert_allclose(out, np.full((2, 3), h))
    net.networks[0][-1].bias.assign(np.zeros(3))
    inner = net.networks[0][:-1]
    np.testing.assert_allclose(net._forward(inner, x).numpy(), np.tile(x, 4) + 3 * h)


def test_deeppot_se_descriptor_equals_the_padded_matrix_formula():
    """The paper's padded matrix in NumPy: every slot normalized with davg/dstd, the empty
    ones zero rows before, T = G^T R / N_c, D = T T<^T."""
    model = DeepPotSE(ELEMENTS, cutoff=4.0, cutoff_smooth=1.0, sel=(6, 4, 2), embedding=(4, 8), axis_neurons=3,
                      hidden=(8,), type_one_side=False, dtype="float64")
    batch = _inputs(model, [_ethanol()])
    model.adapt_inputs(batch)
    mean, std = model.row_mean.numpy(), model.row_std.numpy()
    assert np.all(mean > 0) and np.all(std > 0)
    element, sel = batch[keys.ELEMENT], model.featurizer.params.sel
    slot_element = np.repeat(np.arange(len(sel)), sel)
    expected = []
    for i, z in enumerate(element):
        padded = np.zeros((sum(sel), 4))
        mine = batch[keys.ENV_MATRIX_CENTRE] == i
        padded[batch[keys.ENV_MATRIX_SLOT][mine]] = batch[keys.ENV_MATRIX][mine]
        normalized = (padded - [mean[z], 0, 0, 0]) / std[z]
        g = model.embedding_net(normalized[:, :1], (z * len(ELEMENTS) + slot_element).astype(np.int32)).numpy()
        t = g.T @ normalized / sum(sel)
        expected.append((t @ t[:3].T).ravel())
    np.testing.assert_allclose(model.descriptor(batch).numpy(), expected, rtol=1e-10, atol=1e-12)


def _ethanol():
    atoms = molecule("CH3CH2OH")
    atoms.positions += np.random.default_rng(3).normal(0, 0.05, atoms.positions.shape)
    return atoms


MODELS = {
    "dpmd": lambda: DPMD(ELEMENTS, cutoff=4.0, n_full=4, n_max=8, hidden=(8,), dtype="float64"),
    "deeppot_se": lambda: DeepPotSE(ELEMENTS, cutoff=4.0, cutoff_smooth=2.0, sel=10, embedding=(4, 8),
                                    axis_neurons=4, hidden=(8,), type_one_side=False, dtype="float64"),
    "eann": lambda: EANN(ELEMENTS, cutoff=4.0, n_radial=3, hidden=(8,), dtype="float64"),
    "eann_mixed": lambda: EANN(ELEMENTS, cutoff=4.0, n_radial=3, hidden=(8,), n_orbitals=2, dtype="float64"),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_energy_is_rotation_invariant_and_forces_turn_with_the_molecule(name):
    model = MODELS[name]()
    atoms = _ethanol()
    q = Rotation.from_euler("xyz", [0.9, -0.3, 1.7]).as_matrix()
    turned = atoms.copy()
    turned.positions = atoms.positions @ q.T + 2.0
    out = model.energy_and_forces(_inputs(model, [atoms, turned]))
    energy, forces = out[keys.ENERGY].numpy(), out[keys.FORCES].numpy()
    n = len(atoms)
    assert energy[1] == pytest.approx(energy[0], rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(forces[n:], forces[:n] @ q.T, rtol=1e-8, atol=1e-10)
    assert np.abs(forces).max() > 1e-6  # not trivially zero


def test_deeppot_se_pair_embeddings_give_forces_minus_the_energy_gradient():
    """type_one_side=False: one embedding network per (centre, neighbour) element pair;
    the embedding input s is column 0 of the differentiated rows, so forces include dE/ds."""
    model = MODELS["deeppot_se"]()
    assert model.embedding_net.n_elements == len(ELEMENTS) ** 2
    atoms = _ethanol()
    forces = model.energy_and_forces(_inputs(model, [atoms]))[keys.FORCES].numpy()
    for a, c in ((0, 0), (2, 1), (8, 2)):
        assert forces[a, c] == pytest.approx(_numeric_force(model, atoms, a, c), rel=1e-6)


def _rattled_copper():
    atoms = bulk("Cu", cubic=True).repeat(2)
    atoms.positions += np.random.default_rng(4).normal(0, 0.05, atoms.positions.shape)
    return atoms


@pytest.mark.parametrize("system", ["ethanol", "copper"])
@pytest.mark.parametrize("n_orbitals", [None, 2])
def test_eann_densities_match_the_formula(n_orbitals, system):
    """None: the paper's c_{Z_j, m}; 2: orbitals as combinations of the 3 radial sets
    (copper: the one-element path of ``mixed_orbitals``, periodic)."""
    atoms, elements = (_ethanol(), ELEMENTS) if system == "ethanol" else (_rattled_copper(), (29,))
    model = EANN(elements, cutoff=4.0, n_radial=3, l_max=2, hidden=(8,), n_orbitals=n_orbitals, dtype="float64")
    c = np.random.default_rng(0).normal(size=model.coefficients.shape)
    model.coefficients.assign(c)
    mixing = c[..., None] * np.eye(3) if n_orbitals is None else c  # [element, radial set, orbital]
    n_out = mixing.shape[2]
    rho = model.densities(_inputs(model, [atoms])).numpy().reshape(len(atoms), 3, n_out)
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, 4.0)
    vec, r = nb.vector, nb.distance
    element = np.searchsorted(elements, atoms.numbers)
    params = model.featurizer.params
    fc = (0.5 * np.cos(np.pi * r / 4.0) + 0.5) ** 2
    expected = np.zeros((len(atoms), 3, n_out))
    for (lx, ly, lz), w in zip(params.angular_components(), params.multinomial_weights()):
        phi = np.stack([vec[:, 0] ** lx * vec[:, 1] ** ly * vec[:, 2] ** lz * np.exp(-alpha * (r - rs) ** 2) * fc
                        for alpha, rs in params.radial], axis=1)  # [pairs, radial sets]
        weighted = np.einsum("pm,pmo->po", phi, mixing[element[nb.j]])
        for o in range(n_out):
            orbital = np.bincount(nb.i, weights=weighted[:, o], minlength=len(atoms))
            expected[:, lx + ly + lz, o] += w * orbital**2
    np.testing.assert_allclose(rho, expected, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("n_orbitals", [None, 2])
def test_eann_forces_are_minus_the_energy_gradient_and_save_and_load_keep_the_orbitals(n_orbitals, tmp_path):
    """Both orbital forms (test_every_model trains and checks the mixed one, as the sweep uses it)."""
    model = EANN(ELEMENTS, cutoff=4.0, n_radial=3, l_max=2, hidden=(8,), n_orbitals=n_orbitals, dtype="float64")
    model.coefficients.assign(np.random.default_rng(1).normal(1.0, 0.3, size=model.coefficients.shape))
    atoms = _ethanol()
    model.adapt_inputs(_inputs(model, [atoms]))
    forces = model.energy_and_forces(_inputs(model, [atoms]))[keys.FORCES].numpy()
    for atom, c in ((0, 0), (2, 1), (8, 2)):
        assert forces[atom, c] == pytest.approx(_numeric_force(model, atoms, atom, c), rel=1e-5, abs=1e-8), (atom, c)
    path = tmp_path / "eann.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.n_orbitals == n_orbitals and loaded.coefficients.shape == model.coefficients.shape
    assert _energy(loaded, atoms) == _energy(model, atoms)


def test_dpmd_model_input_is_the_dense_descriptor():
    model = MODELS["dpmd"]()
    atoms = _ethanol()
    params = model.featurizer.params
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, params.cutoff)
    values, _ = dpmd(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, nb, params)
    dense = model.descriptor_rows(_inputs(model, [atoms])).numpy()
    np.testing.assert_array_equal(dense, values.reshape(len(atoms), -1)[:, params.dense_columns()])
    assert dense.shape == (len(atoms), params.n_features)


def test_configuration_errors_name_the_problem():
    with pytest.raises(ValueError, match="axis_neurons"):
        DeepPotSE(ELEMENTS, embedding=(4, 8), axis_neurons=9)
    with pytest.raises(ValueError, match="n_max must be >= n_full"):
        DPMD(ELEMENTS, n_full=10, n_max=4)
    with pytest.raises(ValueError, match="l_max"):
        EANN(ELEMENTS, l_max=9)
    with pytest.raises(ValueError, match="n_orbitals"):
        EANN(ELEMENTS, n_orbitals=0)
