"""Committee active learning: selection, labelling with the reference, the loop's bookkeeping."""

import keras
import numpy as np
import pytest
from ase.calculators.emt import EMT

import zoo
from zoo import keys
from zoo.active_learning import Exploration, active_learning, label, select


def train_member(data, seed):
    keras.utils.set_random_seed(seed)
    model = zoo.create("hdnnp", elements=data.elements, cutoff=4.0, hidden=(6,))
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(data, epochs=2, batch_size=4, verbose=0, seed=seed)
    return model


def test_committee_selection_takes_the_largest_spread_and_random_does_not():
    spread = np.array([0.1, 0.9, 0.3, 0.7, 0.2])
    assert select(spread, 2, "committee", np.random.default_rng(0)).tolist() == [1, 3]
    draws = {tuple(select(spread, 2, "random", np.random.default_rng(s))) for s in range(20)}
    assert len(draws) > 1


def test_labels_come_from_the_reference(cu_atoms):
    data = label([a.copy() for a in cu_atoms[:2]], EMT)
    for s in range(2):
        atoms = cu_atoms[s].copy()
        atoms.calc = EMT()
        assert data.labels[keys.ENERGY][s] == pytest.approx(atoms.get_potential_energy(), abs=1e-12)


@pytest.mark.parametrize("strategy", ["committee", "random"])
def test_the_loop_grows_the_training_set_and_records_test_errors(strategy, cu_data, cu_atoms):
    exploration = Exploration(start=cu_atoms[0], temperature=500.0, steps=12, stride=3)
    rows, labelled = active_learning(train_member, cu_data[:6], exploration, EMT, cu_data[16:20], rounds=2,
                                     committee_size=2, per_round=2, strategy=strategy)
    assert rows["n_labelled"].tolist() == [6, 8, 10] and len(labelled) == 10
    assert np.all(np.isfinite(rows["forces_rmse_mev_a"])) and np.all(rows["forces_rmse_mev_a"] > 0)
    assert np.all(rows["selected_force_spread"].iloc[:2] > 0)
    # the new structures carry EMT labels
    new = labelled[6:]
    atoms = new.to_atoms(0)
    atoms.calc = EMT()
    assert new.labels[keys.ENERGY][0] == pytest.approx(atoms.get_potential_energy(), abs=1e-10)


def test_unknown_strategy(cu_data, cu_atoms):
    with pytest.raises(ValueError, match="strategy"):
        active_learning(train_member, cu_data[:4], Exploration(start=cu_atoms[0]), EMT, cu_data[4:6],
                        strategy="greedy")
