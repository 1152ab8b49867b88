"""The DeePMD-kit peer's inputs: our split in its npy format and our settings in its input.json
(the peer itself is a separate venv, not run here)."""

import numpy as np
import pytest

import zoo
from benchmarks.deepmd_peer import deepmd_input, rmse_from_test_log, write_system
from benchmarks.sweep import Budget


def test_a_system_holds_the_frames_in_deepmd_units_and_types(tmp_path, ethanol_data):
    elements = sorted(set(ethanol_data.numbers.tolist()))
    write_system(ethanol_data[np.arange(5)], tmp_path / "sys", elements)
    frames = tmp_path / "sys" / "set.000"
    coord, force = np.load(frames / "coord.npy"), np.load(frames / "force.npy")
    assert coord.shape == force.shape == (5, 27)
    np.testing.assert_array_equal(coord[1].reshape(9, 3), ethanol_data.positions[9:18])
    np.testing.assert_array_equal(np.load(frames / "energy.npy"), ethanol_data.labels["energy"][:5])
    types = [int(t) for t in (tmp_path / "sys" / "type.raw").read_text().split()]
    assert [elements[t] for t in types] == ethanol_data.numbers[:9].tolist()
    assert (tmp_path / "sys" / "type_map.raw").read_text().split() == ["H", "C", "O"]
    # molecules get DeePMD-kit's no-PBC marker instead of a (zero) box
    assert (tmp_path / "sys" / "nopbc").is_file() and not (frames / "box.npy").exists()


def test_periodic_frames_keep_their_box(tmp_path, cu_data, ethanol_data):
    write_system(ethanol_data[np.arange(2)], tmp_path / "sys", [1, 6, 8])
    write_system(cu_data[np.arange(3)], tmp_path / "sys", [29])  # the same folder again
    box = np.load(tmp_path / "sys" / "set.000" / "box.npy")
    np.testing.assert_array_equal(box[2].reshape(3, 3), cu_data.cell[2])
    assert not (tmp_path / "sys" / "nopbc").exists()  # the molecule run's marker is gone


def test_frames_with_other_atoms_are_refused(tmp_path, cu_data, ethanol_data):
    from zoo.data import Dataset

    mixed = Dataset.from_atoms([cu_data.to_atoms(0), ethanol_data.to_atoms(0)])
    with pytest.raises(ValueError, match="same atoms in the same order"):
        write_system(mixed, tmp_path / "sys", [1, 6, 8, 29])


def test_the_input_carries_our_model_and_budget():
    model = zoo.create("deeppot_se", elements=[29], cutoff=4.5, cutoff_smooth=1.0, embedding=[8, 16],
                       axis_neurons=4, hidden=[64, 64])
    spec = deepmd_input(model, Budget(batch_size=8, learning_rate=3e-3, final_learning_rate=1e-5), 5200,
                        {"train": "t", "val": "v"})
    descriptor = spec["model"]["descriptor"]
    assert (descriptor["rcut"], descriptor["rcut_smth"], descriptor["neuron"], descriptor["axis_neuron"]) == \
        (4.5, 1.0, [8, 16], 4)
    assert descriptor["sel"] == list(model.featurizer.params.sel) and spec["model"]["type_map"] == ["Cu"]
    assert spec["model"]["fitting_net"]["neuron"] == [64, 64]
    assert (spec["learning_rate"]["start_lr"], spec["learning_rate"]["stop_lr"]) == (3e-3, 1e-5)
    assert spec["training"]["numb_steps"] == 5200 and spec["training"]["training_data"]["batch_size"] == 8


def test_the_test_log_gives_per_atom_energy_and_force_rmse():
    log = ("DEEPMD INFO    Energy RMSE        : 2.385720e-01 eV\n"
           "DEEPMD INFO    Energy RMSE/Natoms : 2.209000e-03 eV\n"
           "DEEPMD INFO    Force  RMSE        : 3.763651e-02 eV/Å\n")
    assert rmse_from_test_log(log) == pytest.approx({"energy_rmse_mev_atom": 2.209, "forces_rmse_mev_a": 37.63651})
    with pytest.raises(RuntimeError, match="no RMSE"):
        rmse_from_test_log("nothing")
