"""zoo.data: the columnar Dataset, its readers/writers, subsets, baseline and validation."""

import ase.db
import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.units import Bohr, Hartree, kcal, mol

from zoo import keys
from zoo.data import Dataset, element_counts, fit_energy_baseline, read, write_n2p2


def mixed_dataset(seed=0) -> Dataset:
    """Three structures (periodic Cu2, water, a CH4 molecule) with every label; water lacks
    its dipole and total charge. Random values: these tests exercise I/O, not physics."""
    rng = np.random.default_rng(seed)
    numbers = np.array([29, 29, 8, 1, 1, 6, 1, 1, 1, 1])
    n_atoms = np.array([2, 3, 5])
    cell = np.zeros((3, 3, 3))
    cell[0] = np.diag([3.6, 3.7, 3.8]) + 0.1
    dipole = rng.normal(size=(3, 3))
    dipole[1] = np.nan
    return Dataset.from_arrays(
        numbers, rng.normal(size=(10, 3)) * 2, n_atoms, cell=cell, pbc=[[True] * 3, [False] * 3, [False] * 3],
        **{keys.ENERGY: rng.normal(size=3) * 10, keys.FORCES: rng.normal(size=(10, 3)),
           keys.CHARGES: rng.normal(size=10) * 0.3, keys.TOTAL_CHARGE: np.array([0.0, np.nan, -1.0]),
           keys.DIPOLE: dipole})


def assert_same(a: Dataset, b: Dataset, atol=0.0, label_keys=None):
    np.testing.assert_array_equal(a.numbers, b.numbers)
    np.testing.assert_array_equal(a.offsets, b.offsets)
    np.testing.assert_array_equal(a.pbc, b.pbc)
    np.testing.assert_allclose(a.positions, b.positions, rtol=0, atol=atol)
    np.testing.assert_allclose(a.cell, b.cell, rtol=0, atol=atol)
    assert sorted(a.labels) == sorted(label_keys or b.labels)
    for key in a.labels:
        np.testing.assert_allclose(a.labels[key], b.labels[key], rtol=0, atol=atol, err_msg=key)


# --- construction and single structures ---------------------------------------------------
def test_shapes_elements_and_structures():
    data = mixed_dataset()
    assert len(data) == 3 and data.n_atoms.tolist() == [2, 3, 5]
    assert data.offsets.tolist() == [0, 2, 5, 10] and data.elements == (1, 6, 8, 29)
    water = data.structure(1)
    np.testing.assert_array_equal(water[keys.NUMBERS], [8, 1, 1])
    np.testing.assert_array_equal(water[keys.POSITIONS], data.positions[2:5])
    assert keys.DIPOLE not in water and water[keys.FORCES].shape == (3, 3)
    assert data.has_label(keys.ENERGY) and not data.has_label(keys.DIPOLE)
    assert data.missing_label(keys.DIPOLE).tolist() == [1]


def test_to_atoms_and_back():
    data = mixed_dataset()
    atoms = data.to_atoms(2)
    assert atoms.get_potential_energy() == data.labels[keys.ENERGY][2]
    np.testing.assert_array_equal(atoms.get_forces(), data.labels[keys.FORCES][5:])
    assert atoms.info[keys.TOTAL_CHARGE] == -1.0
    assert_same(Dataset.from_atoms(data.iter_atoms()), data)


def test_from_atoms_label_sources():
    base = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]])
    forces = np.arange(6.0).reshape(2, 3)
    from_calc = base.copy()
    from_calc.calc = SinglePointCalculator(from_calc, energy=-1.0, forces=forces, charges=[0.1, -0.1])
    plain = base.copy()
    plain.info.update({keys.ENERGY: -2.0, keys.DIPOLE: [0.0, 0.0, 0.3], keys.TOTAL_CHARGE: 0.0})
    plain.arrays[keys.FORCES] = forces + 1
    prefixed = from_calc.copy()
    prefixed.calc = SinglePointCalculator(prefixed, energy=99.0)  # e.g. a model's prediction
    prefixed.info["ref_" + keys.ENERGY] = -3.0
    prefixed.arrays["REF_" + keys.FORCES] = forces + 2

    data = Dataset.from_atoms([from_calc, plain, prefixed])
    np.testing.assert_array_equal(data.labels[keys.ENERGY], [-1.0, -2.0, -3.0])
    np.testing.assert_array_equal(data.labels[keys.FORCES], np.concatenate([forces, forces + 1, forces + 2]))
    np.testing.assert_array_equal(data.labels[keys.CHARGES][:2], [0.1, -0.1])
    assert data.missing_label(keys.CHARGES).tolist() == [1, 2]
    assert data.missing_label(keys.DIPOLE).tolist() == [0, 2]


def test_from_atoms_refuses_stale_calculator_results():
    atoms = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]])
    atoms.calc = SinglePointCalculator(atoms, energy=-1.0)
    atoms.positions[1, 2] = 0.8
    with pytest.raises(ValueError, match="structure 0: its calculator's results belong to another geometry"):
        Dataset.from_atoms([atoms])


# --- file round trips -------------------------------------------------------------------------
def test_extxyz_round_trip(tmp_path):
    data = mixed_dataset()
    data.write(tmp_path / "d.extxyz")
    # ASE writes per-atom columns with 8 decimals; everything else is exact
    assert_same(read(tmp_path / "d.extxyz"), data, atol=5e-9)
    np.testing.assert_array_equal(read(tmp_path / "d.extxyz").labels[keys.ENERGY], data.labels[keys.ENERGY])
    assert_same(read(tmp_path / "d.extxyz", index="1:"), data[1:], atol=5e-9)


def test_npz_round_trip(tmp_path):
    data = mixed_dataset()
    data.save_npz(tmp_path / "d.npz")
    assert_same(Dataset.load_npz(tmp_path / "d.npz"), data)
    assert_same(read(tmp_path / "d.npz"), data)


#: the labels input.data can hold (no dipole)
N2P2_LABELS = [keys.ENERGY, keys.FORCES, keys.CHARGES, keys.TOTAL_CHARGE]


def test_n2p2_round_trip(tmp_path):
    data = mixed_dataset()
    write_n2p2(data, tmp_path / "input.data")
    assert_same(read(tmp_path / "input.data"), data, label_keys=N2P2_LABELS)


def test_n2p2_in_bohr_hartree_round_trip(tmp_path):
    data = mixed_dataset()
    write_n2p2(data, tmp_path / "input.data", units="bohr/hartree")
    back = read(tmp_path / "input.data")  # the comment line names the units
    assert_same(back, data, atol=1e-12, label_keys=N2P2_LABELS)


N2P2_TEXT = """\
begin
comment a water molecule, no units named
atom 0.0 0.0 0.2 O -0.8 0 0.0 0.0 0.01
atom 1.4 0.0 -0.9 H 0.4 0 0.02 0.0 -0.005
atom -1.4 0.0 -0.9 H 0.4 0 -0.02 0.0 -0.005
energy -76.4
charge 0.0
end
begin
lattice 6.8 0.0 0.0
lattice 0.0 6.8 0.0
lattice 0.0 0.0 6.8
atom 0.0 0.0 0.0 Cu 0.0 0 0.0 0.0 0.0
atom 3.4 3.4 0.0 Cu 0.0 0 0.001 0.0 0.0
energy -3.3
charge 0.0
end
"""


def test_hand_written_n2p2_file(tmp_path):
    path = tmp_path / "input.data"
    path.write_text(N2P2_TEXT)
    ev = read(path)
    assert ev.n_atoms.tolist() == [3, 2] and ev.numbers.tolist() == [8, 1, 1, 29, 29]
    assert ev.pbc.tolist() == [[False] * 3, [True] * 3] and ev.cell[1, 2, 2] == 6.8
    np.testing.assert_array_equal(ev.labels[keys.CHARGES][:3], [-0.8, 0.4, 0.4])
    assert ev.missing_label(keys.CHARGES).tolist() == [1]  # all-zero charges: none given
    au = read(path, units="bohr/hartree")
    np.testing.assert_allclose(au.positions, ev.positions * Bohr, rtol=1e-15)
    np.testing.assert_allclose(au.cell, ev.cell * Bohr, rtol=1e-15)
    np.testing.assert_allclose(au.labels[keys.ENERGY], [-76.4 * Hartree, -3.3 * Hartree], rtol=1e-15)
    np.testing.assert_allclose(au.labels[keys.FORCES], ev.labels[keys.FORCES] * Hartree / Bohr, rtol=1e-15)
    np.testing.assert_array_equal(au.labels[keys.CHARGES], ev.labels[keys.CHARGES])


@pytest.mark.parametrize("cut, match", [
    (lambda t: t[:t.index("energy -3.3")], r"ends inside the structure begun at line 9; expected 'end'"),
    (lambda t: t.replace("0.0 0 0.001 0.0 0.0", "0.0 0 0.001"), r"line 14: expected 'atom x y z"),
    (lambda t: t.replace("lattice 0.0 6.8 0.0", "lattice 0.0 six 0.0"), r"line 11: expected 'lattice"),
    (lambda t: t.replace("energy -76.4", "energie -76.4"), r"line 6: unknown keyword 'energie'"),
    (lambda t: t.replace("end\nbegin", "begin", 1), r"line 8: found 'begin' inside a structure"),
    (lambda t: t.replace("H 0.4 0 0.02", "Xx 0.4 0 0.02"), r"line 4: unknown element 'Xx'"),
])
def test_broken_n2p2_file_names_the_line(tmp_path, cut, match):
    path = tmp_path / "input.data"
    path.write_text(cut(N2P2_TEXT))
    with pytest.raises(ValueError, match=match):
        read(path)


def test_ase_db_round_trip(tmp_path):
    data = mixed_dataset()
    with ase.db.connect(tmp_path / "d.db") as db:
        for s, atoms in enumerate(data.iter_atoms()):
            db.write(atoms, **atoms.info)
    assert_same(read(tmp_path / "d.db"), data)


@pytest.mark.parametrize("names", [("R", "z", "E", "F"), ("coords", "nuclear_charges", "energies", "forces")])
def test_md17_npz(tmp_path, names):
    rng = np.random.default_rng(1)
    r, z, e, f = rng.normal(size=(4, 3, 3)), np.array([8, 1, 1], np.uint8), rng.normal(size=(4, 1)), rng.normal(size=(4, 3, 3))
    np.savez(tmp_path / "md17.npz", **dict(zip(names, (r, z, e, f))))
    data = read(tmp_path / "md17.npz")
    expected = Dataset.from_arrays(np.tile([8, 1, 1], 4), r.reshape(-1, 3), [3] * 4,
                                   **{keys.ENERGY: e[:, 0], keys.FORCES: f.reshape(-1, 3)})
    assert_same(data, expected)
    kcal_data = read(tmp_path / "md17.npz", units="kcal/mol")
    np.testing.assert_allclose(kcal_data.labels[keys.ENERGY], e[:, 0] * kcal / mol, rtol=1e-15)
    np.testing.assert_allclose(kcal_data.labels[keys.FORCES], f.reshape(-1, 3) * kcal / mol, rtol=1e-15)
    np.testing.assert_array_equal(kcal_data.positions, data.positions)


def test_unknown_format_and_units(tmp_path):
    with pytest.raises(ValueError, match="cannot tell the format"):
        read(tmp_path / "data.weird")
    with pytest.raises(ValueError, match="unknown format 'cif'"):
        read(tmp_path / "x.xyz", format="cif")
    with pytest.raises(ValueError, match="units must be one of"):
        read(tmp_path / "x.xyz", units="meV")


# --- subsets, splits, concatenation -----------------------------------------------------------
@pytest.mark.parametrize("index, picked", [
    (1, [1]), (-1, [2]), (slice(0, 3, 2), [0, 2]), (np.array([2, 0]), [2, 0]),
    (np.array([True, False, True]), [0, 2]),
])
def test_subsets_keep_each_structure(index, picked):
    data = mixed_dataset()
    subset = data[index]
    assert len(subset) == len(picked) and subset.offsets[0] == 0
    for new, old in enumerate(picked):
        a, b = subset.structure(new), data.structure(old)
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    subset.positions += 1.0  # new arrays: the original is untouched
    np.testing.assert_array_equal(data.positions, mixed_dataset().positions)


def test_split_sizes_disjoint_and_seeded():
    n = 20
    data = Dataset.from_arrays(np.ones(n, int), np.arange(3 * n, dtype=float).reshape(n, 3), [1] * n,
                               **{keys.ENERGY: np.arange(n, dtype=float)})
    parts = data.split([0.8, 0.1, 0.1], seed=3)
    assert [len(p) for p in parts] == [16, 2, 2]
    ids = np.concatenate([p.labels[keys.ENERGY] for p in parts])
    assert sorted(ids) == list(range(n))  # disjoint and complete
    again = data.split([0.8, 0.1, 0.1], seed=3)
    for p, q in zip(parts, again):
        np.testing.assert_array_equal(p.labels[keys.ENERGY], q.labels[keys.ENERGY])
    other = data.split([0.8, 0.1, 0.1], seed=4)
    assert not np.array_equal(other[1].labels[keys.ENERGY], parts[1].labels[keys.ENERGY])
    assert [len(p) for p in data.split([0.5, 0.25])] == [10, 5]
    with pytest.raises(ValueError, match="sum to <= 1"):
        data.split([0.8, 0.3])


def test_concatenate_fills_missing_labels_with_nan():
    data = mixed_dataset()
    bare = Dataset.from_arrays([1, 1], [[0, 0, 0], [0, 0, 0.74]], [2])
    both = Dataset.concatenate([data, bare])
    assert len(both) == 4 and both.offsets.tolist() == [0, 2, 5, 10, 12]
    assert both.missing_label(keys.ENERGY).tolist() == [3]
    assert both.missing_label(keys.FORCES).tolist() == [3]
    assert_same(both[:3], data)


# --- energy baseline -----------------------------------------------------------------------------
def test_baseline_recovers_element_energies():
    eps = {1: -13.6, 8: -432.1, 6: -1030.5}
    numbers = [8, 1, 1, 6, 1, 1, 1, 1, 8, 8, 6, 8, 8, 1, 1]  # H2O, CH4, O2, CO2, H2
    n_atoms = [3, 5, 2, 3, 2]
    energy = np.bincount(np.repeat(np.arange(5), n_atoms), weights=[eps[z] for z in numbers])
    data = Dataset.from_arrays(numbers, np.zeros((15, 3)), n_atoms, **{keys.ENERGY: energy})
    np.testing.assert_allclose(fit_energy_baseline(data, [8, 1, 6]), [eps[8], eps[1], eps[6]], rtol=1e-12)
    np.testing.assert_array_equal(element_counts(data, [1, 6, 8])[1], [4, 1, 0])


def test_baseline_of_one_composition_is_the_mean_energy_per_atom():
    data = Dataset.from_arrays([29] * 6, np.zeros((6, 3)), [3, 3], **{keys.ENERGY: np.array([-9.0, -12.0])})
    np.testing.assert_allclose(fit_energy_baseline(data, [29]), [-3.5])
    with pytest.raises(ValueError, match=r"element\(s\) \[29\] that are not in elements"):
        fit_energy_baseline(data, [1])


# --- validation -------------------------------------------------------------------------------------
def _arrays(**change):
    good = dict(numbers=[29, 29], positions=np.zeros((2, 3)) + [[0, 0, 0], [1.8, 1.8, 0]], n_atoms=[2],
                cell=np.eye(3) * 3.6, pbc=[True, True, True])
    return {**good, **change}


@pytest.mark.parametrize("change, match", [
    (dict(positions=np.zeros((3, 3))), r"positions must have shape \(2, 3\), received \(3, 3\)"),
    (dict(n_atoms=[3]), "offsets end at 3 but numbers/positions hold 2 atoms"),
    (dict(n_atoms=[1, 1, 0]), r"at least one atom; n_atoms\[2\] = 0"),
    (dict(n_atoms=None, offsets=[0, -1, 2]), "offsets must not be negative"),
    (dict(positions=[[0, 0, 0], [np.nan, 0, 0]]), "positions are NaN or inf in structure 0"),
    (dict(cell=np.diag([3.6, 3.6, 0.0])), "structure 0 is periodic .* zero volume"),
    (dict(numbers=[29, 0]), r"unknown atomic number\(s\) \[0\]"),
    (dict(numbers=[119, 29]), r"unknown atomic number\(s\) \[119\]"),
    (dict(numbers=[29.0, 29.0]), "numbers must be a 1-d integer array"),
    ({keys.ENERGY: [1.0, 2.0]}, r"energy must have shape \(1,\), received \(2,\)"),
    ({keys.FORCES: np.zeros((2, 2))}, r"forces must have shape \(2, 3\)"),
    ({keys.ENERGY: [np.inf]}, "contains inf"),
    ({"stress": np.zeros((1, 6))}, "unknown label 'stress'"),
])
def test_bad_input_is_named(change, match):
    with pytest.raises(ValueError, match=match):
        Dataset.from_arrays(**_arrays(**change))


def test_flat_cell_is_fine_for_molecules():
    data = Dataset.from_arrays(**_arrays(pbc=[False] * 3, cell=None))
    assert not data.pbc.any() and not data.cell.any()
