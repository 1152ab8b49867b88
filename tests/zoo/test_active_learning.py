"""Committee active learning: selection, labelling with the reference, the loop's bookkeeping."""

import keras
import numpy as np
import pytest
from ase.calculators.emt import EMT

import zoo
from zoo import keys
from zoo.active_learning import Exploration, active_learning, explore, label, select
from zoo.committee import Committee


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
    exploration = [Exploration(start=cu_atoms[0], temperature=500.0, steps=6, stride=3),
                   Exploration(start=cu_atoms[1], temperature=900.0, steps=6, stride=3)]
    rows, labelled = active_learning(train_member, cu_data[:6], exploration, EMT, cu_data[16:20], rounds=2,
                                     committee_size=2, per_round=2, strategy=strategy)
    assert rows["n_labelled"].tolist() == [6, 8, 10] and len(labelled) == 10
    assert np.all(np.isfinite(rows["forces_rmse_mev_a"])) and np.all(rows["forces_rmse_mev_a"] > 0)
    assert np.all(rows["selected_force_spread"].iloc[:2] > 0)
    picks = [[int(c) for c in counts.split()] for counts in rows["picks_per_exploration"].iloc[:2]]
    assert all(len(p) == 2 and sum(p) == 2 for p in picks)  # two picks a round, counted per exploration
    # the new structures carry EMT labels
    new = labelled[6:]
    atoms = new.to_atoms(0)
    atoms.calc = EMT()
    assert new.labels[keys.ENERGY][0] == pytest.approx(atoms.get_potential_energy(), abs=1e-10)


def test_several_explorations_pool_their_structures_with_each_ones_spread(cu_data, cu_atoms):
    committee = Committee([train_member(cu_data[:6], seed) for seed in (0, 1)])
    strain = np.diag([0.02, -0.01, 0.0])
    explorations = [Exploration(start=cu_atoms[0], temperature=300.0, steps=6, stride=3),
                    Exploration(start=cu_atoms[0], temperature=900.0, steps=9, stride=3, strain=strain,
                                equilibration=2)]
    pool, spread, origin = explore(committee, explorations, np.random.default_rng(0))
    assert len(pool) == 2 + 3 and spread.shape == (5,) and origin.tolist() == [0, 0, 1, 1, 1]
    np.testing.assert_allclose(pool[0].cell.array, cu_atoms[0].cell.array, atol=1e-12)
    np.testing.assert_allclose(pool[4].cell.array, cu_atoms[0].cell.array @ (np.eye(3) + strain), atol=1e-12)
    assert all(atoms.calc is None for atoms in pool)  # no labels until the reference computes them
    # each spread is that structure's largest atomic force spread, computed on its own
    for atoms, structure_spread in zip(pool, spread):
        atoms = atoms.copy()
        atoms.calc = committee.calculator()
        atoms.get_forces()
        assert structure_spread == pytest.approx(np.max(atoms.calc.results[keys.FORCES_STD]), rel=1e-6)
    assert np.all(spread > 0)


def test_no_exploration(cu_data):
    with pytest.raises(ValueError, match="exploration"):
        active_learning(train_member, cu_data[:4], [], EMT, cu_data[4:6])


@pytest.mark.parametrize("steps, stride, equilibration", [(4, 5, 0), (10, 0, 0), (10, 5, -1)])
def test_an_exploration_without_pool_structures_is_refused(cu_atoms, steps, stride, equilibration):
    with pytest.raises(ValueError, match="stride <= steps"):
        Exploration(start=cu_atoms[0], steps=steps, stride=stride, equilibration=equilibration)


def test_unknown_strategy(cu_data, cu_atoms):
    with pytest.raises(ValueError, match="strategy"):
        active_learning(train_member, cu_data[:4], Exploration(start=cu_atoms[0]), EMT, cu_data[4:6],
                        strategy="greedy")
