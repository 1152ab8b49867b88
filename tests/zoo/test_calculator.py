"""zoo.Calculator: energy, forces and stress against finite differences (ASE's own numerical
derivatives as the oracle), the virial contraction, charges, save/load, retracing, bad
input, and energy conservation in NVE molecular dynamics."""

import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from ase import units
from ase.build import bulk, molecule
from ase.calculators.calculator import PropertyNotImplementedError
from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from ase.md.verlet import VelocityVerlet

import zoo
from descriptors.jacobian import Jacobian, strain_derivative
from zoo import keys
from zoo.layers.contraction import contract_virial
from zoo.models.hdnnp import HDNNP


def small_hdnnp(elements, **kwargs):
    return zoo.create("hdnnp", elements=elements, cutoff=4.5, hidden=(10, 10), dtype="float64", **kwargs)


@pytest.fixture(scope="module")
def cu_model(cu_data):
    return small_hdnnp(cu_data.elements).adapt(cu_data)


def triclinic_cu():
    """27 atoms in the rhombohedral primitive fcc cell (3 x 3 x 3), sheared and rattled."""
    atoms = bulk("Cu", "fcc", a=3.61).repeat(3)
    atoms.set_cell(atoms.cell @ np.array([[1.02, 0.03, -0.01], [0.0, 0.98, 0.04], [0.02, -0.03, 1.01]]),
                   scale_atoms=True)
    atoms.positions += np.random.default_rng(3).normal(0.0, 0.06, atoms.positions.shape)
    return atoms


def one_atom_cu():
    """One atom in a sheared primitive cell: far smaller than the cutoff, so every neighbour
    is an image of the atom itself."""
    atoms = bulk("Cu", "fcc", a=3.61)
    atoms.set_cell(atoms.cell @ np.array([[1.0, 0.02, 0.0], [0.01, 1.03, -0.02], [0.0, 0.0, 0.97]]),
                   scale_atoms=True)
    return atoms


def fixture_cell(cu_atoms):
    atoms = cu_atoms[0].copy()  # 32 atoms in a randomly strained (triclinic) cubic cell
    atoms.calc = None
    return atoms


STRUCTURES = {"strained Cu-32": fixture_cell, "triclinic Cu-27": lambda _: triclinic_cu(),
              "one-atom cell": lambda _: one_atom_cu()}


@pytest.mark.parametrize("name", STRUCTURES)
def test_stress_equals_finite_differences_of_strained_cells(name, cu_model, cu_atoms):
    atoms = STRUCTURES[name](cu_atoms)
    atoms.calc = zoo.Calculator(cu_model)
    stress = atoms.get_stress()
    expected = calculate_numerical_stress(atoms, eps=1e-5)
    assert np.abs(expected).max() > 1e-4  # a stress worth comparing
    np.testing.assert_allclose(stress, expected, rtol=1e-6, atol=1e-9)


def test_stress_of_a_uniformly_scaled_cell_gives_the_pressure(cu_model):
    """-trace(stress)/3 = -dE/dV: the energy of isotropically scaled cells as a second oracle."""
    atoms = triclinic_cu()
    calc = zoo.Calculator(cu_model)
    atoms.calc = calc
    pressure = -atoms.get_stress()[:3].mean()
    energies, volumes = [], []
    for s in (1 - 1e-5, 1 + 1e-5):
        scaled = atoms.copy()
        scaled.set_cell(atoms.cell * s, scale_atoms=True)
        scaled.calc = calc
        energies.append(scaled.get_potential_energy())
        volumes.append(scaled.get_volume())
    assert pressure == pytest.approx(-(energies[1] - energies[0]) / (volumes[1] - volumes[0]), rel=1e-6)


@pytest.mark.parametrize("name", ["strained Cu-32", "triclinic Cu-27"])
def test_forces_equal_finite_differences_and_energy_equals_predict(name, cu_model, cu_atoms, cu_data):
    atoms = STRUCTURES[name](cu_atoms)
    atoms.calc = zoo.Calculator(cu_model)
    forces = atoms.get_forces()
    checked = [0, 7, 20]
    expected = calculate_numerical_forces(atoms, eps=1e-5, iatoms=checked)
    np.testing.assert_allclose(forces[checked], expected, rtol=1e-6, atol=1e-9)
    if name == "strained Cu-32":  # the calculator and model.predict see the same structure
        pred = cu_model.predict(cu_data[[0]], verbose=0)
        assert atoms.get_potential_energy() == pytest.approx(float(pred[keys.ENERGY][0]), rel=1e-12)
        np.testing.assert_allclose(forces, pred[keys.FORCES], rtol=1e-10, atol=1e-12)


def test_molecule_gives_energy_and_forces_but_no_stress():
    atoms = molecule("CH3CH2OH")
    atoms.calc = zoo.Calculator(small_hdnnp([1, 6, 8]))
    expected = calculate_numerical_forces(atoms, eps=1e-5, iatoms=[0, 3])
    np.testing.assert_allclose(atoms.get_forces()[[0, 3]], expected, rtol=1e-6, atol=1e-9)
    with pytest.raises(PropertyNotImplementedError, match="periodic in all three"):
        atoms.get_stress()
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_charges()  # the HDNNP predicts no charges


def test_virial_contraction_equals_the_strain_derivative():
    """contract_virial against descriptors.jacobian.strain_derivative on random blocks of a
    batch of two structures (rows and atoms 0-1 in the first, 2-4 in the second)."""
    rng = np.random.default_rng(0)
    k, structure = 4, np.array([0, 0, 1, 1, 1], np.int32)
    first, second = rng.integers(0, 2, (2, 7)), rng.integers(2, 5, (2, 10))
    item, atom = np.concatenate([first[0], second[0]]), np.concatenate([first[1], second[1]])
    jac = Jacobian(item=item, atom=atom, value=rng.normal(size=(17, k, 3)), displacement=rng.normal(size=(17, 3)))
    grad = rng.normal(size=(5, k))
    virial = contract_virial(tf.constant(grad), item, atom, tf.constant(jac.value), tf.constant(jac.displacement),
                             structure, 2).numpy()
    per_row = np.einsum("ik,ikac->iac", grad, strain_derivative(jac, 5))
    np.testing.assert_allclose(virial, [per_row[:2].sum(0), per_row[2:].sum(0)], rtol=1e-12)


def test_md_steps_do_not_retrace(cu_data, cu_atoms, monkeypatch):
    model = small_hdnnp(cu_data.elements).adapt(cu_data)  # nothing traced yet
    traces = []
    original = HDNNP.atomic_outputs

    def counting(self, inputs, training=False):
        traces.append(training)
        return original(self, inputs, training)

    monkeypatch.setattr(HDNNP, "atomic_outputs", counting)
    calc = zoo.Calculator(model)
    block_counts = set()
    for atoms in cu_atoms[:3]:  # different structures, different numbers of Jacobian blocks
        atoms = atoms.copy()
        atoms.calc = calc
        thermalize_momenta(atoms, temperature_K=600, rng=np.random.default_rng(0))
        dyn = VelocityVerlet(atoms, timestep=2.0 * units.fs)
        for _ in range(3):
            dyn.run(1)
            block_counts.add(len(calc.model_inputs(atoms)[keys.DESCRIPTORS_JACOBIAN.item]))
    assert len(block_counts) > 1
    assert len(traces) == 1
    atoms.get_stress()  # stress has its own compiled function: one more trace, once
    atoms.positions += 0.01
    atoms.get_stress()
    assert len(traces) == 2


class ChargedHDNNP(HDNNP):
    """An HDNNP with a linear charge head, corrected to the structure's total charge."""

    structure_inputs = (keys.TOTAL_CHARGE,)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.charge_head = keras.layers.Dense(1, dtype=self.dtype_policy, name="charge_head")
        self.charge_head.build((None, self.featurizer.n_features))

    def atomic_outputs(self, inputs, training=False):
        out = super().atomic_outputs(inputs, training)
        raw = tf.squeeze(self.charge_head(inputs[keys.DESCRIPTORS] * 0.1), axis=-1)
        structure = inputs[keys.STRUCTURE]
        n_structures = tf.shape(inputs[keys.N_ATOMS])[0]
        excess = tf.math.unsorted_segment_sum(raw, structure, n_structures) - inputs[keys.TOTAL_CHARGE]
        out[keys.CHARGES] = raw - tf.gather(excess / tf.cast(inputs[keys.N_ATOMS], raw.dtype), structure)
        return out


def test_charges_and_dipole_of_a_charge_model_follow_the_total_charge():
    model = ChargedHDNNP(elements=[1, 6, 8], cutoff=4.5, hidden=(8,), dtype="float64")
    atoms = molecule("CH3CH2OH")
    atoms.info[keys.ASE_INFO_CHARGE] = 1
    atoms.calc = zoo.Calculator(model)
    charges = atoms.get_charges()
    assert charges.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.ptp(charges) > 1e-3  # not just the total spread evenly
    np.testing.assert_allclose(atoms.get_dipole_moment(), charges @ atoms.positions, rtol=1e-10, atol=1e-12)
    atoms.calc = zoo.Calculator(model, total_charge=-1)  # the keyword wins over atoms.info
    assert atoms.get_charges().sum() == pytest.approx(-1.0, abs=1e-12)
    del atoms.info[keys.ASE_INFO_CHARGE]
    atoms.info[keys.TOTAL_CHARGE] = 2.0
    atoms.calc = zoo.Calculator(model)
    assert atoms.get_charges().sum() == pytest.approx(2.0, abs=1e-12)
    expected = calculate_numerical_forces(atoms, eps=1e-5, iatoms=[1])
    np.testing.assert_allclose(atoms.get_forces()[[1]], expected, rtol=1e-6, atol=1e-9)


def test_a_registered_charge_model_gives_charges_and_refuses_an_ewald_stress():
    """The 3G-HDNNP (Coulomb energy of its charges): charges and dipole through the
    calculator; in a periodic cell the Ewald energy depends on the cell itself, which the
    block virial cannot carry, so stress is refused rather than wrong."""
    model = zoo.create("hdnnp3g", elements=[11, 17], cutoff=4.5, hidden=(8,), charge_hidden=(8,), dtype="float64")
    atoms = bulk("NaCl", "rocksalt", a=5.64, cubic=True)  # a Na4Cl4 cluster
    atoms.pbc = False
    atoms.positions += np.random.default_rng(4).normal(0.0, 0.05, atoms.positions.shape)
    atoms.calc = zoo.Calculator(model, total_charge=0.5)
    charges = atoms.get_charges()
    assert charges.sum() == pytest.approx(0.5, abs=1e-10)
    np.testing.assert_allclose(atoms.get_dipole_moment(), charges @ atoms.positions, rtol=1e-10, atol=1e-12)
    expected = calculate_numerical_forces(atoms, eps=1e-5, iatoms=[2])
    np.testing.assert_allclose(atoms.get_forces()[[2]], expected, rtol=1e-6, atol=1e-9)
    crystal = bulk("NaCl", "rocksalt", a=5.64)
    crystal.calc = zoo.Calculator(model)
    with pytest.raises(PropertyNotImplementedError, match="no stress.*Ewald"):
        crystal.get_stress()


def test_save_load_then_calculator_gives_the_same_energy(tmp_path, cu_model, cu_atoms):
    atoms = fixture_cell(cu_atoms)
    atoms.calc = zoo.Calculator(cu_model)
    energy, stress = atoms.get_potential_energy(), atoms.get_stress()
    path = tmp_path / "cu.keras"
    cu_model.save(path)
    for calc in (zoo.Calculator(keras.models.load_model(path)), zoo.Calculator(path)):
        atoms.calc = calc
        assert atoms.get_potential_energy() == energy
        np.testing.assert_array_equal(atoms.get_stress(), stress)


def test_a_new_process_loads_a_saved_model(tmp_path, cu_model, cu_atoms):
    """zoo.load_model and zoo.Calculator(path) work where no model class was imported yet
    (plain keras.models.load_model does not: Keras finds only imported classes)."""
    atoms = fixture_cell(cu_atoms)
    atoms.calc = zoo.Calculator(cu_model)
    energy = atoms.get_potential_energy()
    path, structure = tmp_path / "cu.keras", tmp_path / "cu.xyz"
    cu_model.save(path)
    atoms.write(structure)
    script = ("import sys, ase.io, zoo\n"
              "atoms = ase.io.read(sys.argv[2])\n"
              "atoms.calc = zoo.Calculator(sys.argv[1])\n"
              "print(repr(atoms.get_potential_energy()), type(zoo.load_model(sys.argv[1])).__name__)\n")
    out = subprocess.run([sys.executable, "-c", script, str(path), str(structure)], capture_output=True,
                         text=True, timeout=300, check=True)
    loaded_energy, name = out.stdout.split()[-2:]
    assert name == type(cu_model).__name__
    np.testing.assert_allclose(float(loaded_energy), energy, rtol=1e-6)


def test_bad_input_gets_errors_naming_the_fix(cu_model, cu_atoms):
    atoms = fixture_cell(cu_atoms)
    atoms.numbers[3] = 1
    atoms.calc = zoo.Calculator(cu_model)
    with pytest.raises(ValueError, match=r"element\(s\) 1 \(H\).*trained for 29 \(Cu\).*use a model trained"):
        atoms.get_potential_energy()
    atoms = fixture_cell(cu_atoms)
    atoms.positions[5, 1] = np.nan
    atoms.calc = zoo.Calculator(cu_model)
    with pytest.raises(ValueError, match=r"atom\(s\) \[5\] are NaN.*reduce the time step"):
        atoms.get_forces()
    with pytest.raises(ValueError, match="takes no total charge"):
        zoo.Calculator(cu_model, total_charge=1)
    with pytest.raises(TypeError, match="zoo.Potential"):
        zoo.Calculator(object())


def test_nve_with_a_trained_hdnnp_conserves_energy(cu_data, cu_atoms):
    """Short version of the issue's criterion: drift below 1 meV/atom/ps, Cu-32, 200 fs."""
    model = small_hdnnp(cu_data.elements)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(cu_data, epochs=5, batch_size=5, verbose=0)
    atoms = fixture_cell(cu_atoms)
    atoms.calc = zoo.Calculator(model)
    thermalize_momenta(atoms, temperature_K=300, rng=np.random.default_rng(0))
    Stationary(atoms)
    dyn = VelocityVerlet(atoms, timestep=1.0 * units.fs)
    total, potential = [], []
    dyn.attach(lambda: (total.append(atoms.get_total_energy() / len(atoms)),
                        potential.append(atoms.get_potential_energy() / len(atoms))))
    dyn.run(200)
    time_ps = np.arange(len(total)) * 1e-3
    drift = np.polyfit(time_ps, total, 1)[0] * 1e3  # meV/atom/ps
    assert abs(drift) < 1.0
    # a conserved sum of two parts that do vary: kinetic and potential energy exchange
    assert np.ptp(potential) > 10 * np.ptp(total) and np.ptp(potential) > 1e-3
