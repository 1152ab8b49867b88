"""zoo.reference carbon_chain_xtb, ag3_xtb and na9cl8_xtb (the 4G charge-transfer sets of
Ko et al. 2021): tiny generations, checked against GFN2-xTB itself, for their atom orders,
their charge states and the non-local charge transfer they are built to show."""

import numpy as np
import pytest

from gfn2_labels import assert_gfn2_labels_of_the_stated_charge
from zoo import keys, reference


@pytest.fixture(scope="module")
def carbon(cache):
    # one structure per (charge state, temperature)
    return reference.load("carbon_chain_xtb", n_structures=2 * len(reference.CARBON_SEGMENTS))


@pytest.fixture(scope="module")
def ag3(cache):
    # four geometries: two random trimers, one MD sample on each charge state's surface
    return reference.load("ag3_xtb", n_structures=8)


@pytest.fixture(scope="module")
def na9cl8(cache):
    return reference.load("na9cl8_xtb", n_structures=2)


def _per_structure(data, key):
    return [data.structure(s)[key] for s in range(len(data))]


def test_registered():
    assert {"carbon_chain_xtb", "ag3_xtb", "na9cl8_xtb"} <= set(reference.available())


def test_carbon_chains_keep_one_atom_order(carbon):
    charge = carbon.labels[keys.TOTAL_CHARGE]
    assert np.sum(charge == 0) == np.sum(charge == 1) == len(reference.CARBON_SEGMENTS)
    numbers, positions = _per_structure(carbon, keys.NUMBERS), _per_structure(carbon, keys.POSITIONS)
    for q, numbers, x in zip(charge, numbers, positions):
        n_h = 2 if q == 0 else 3
        np.testing.assert_array_equal(numbers, [6] * 10 + [1] * n_h)
        distance = np.linalg.norm(x[:, None] - x[None], axis=-1)
        assert np.all(np.diagonal(distance, 1)[:9] < 1.5)  # C0 ... C9 bonded along the chain
        far, near = reference.CARBON_FAR_END, reference.CARBON_PROTONATED_END
        assert distance[far, 10] < 1.25 and np.all(distance[near, 11:] < 1.25)
        assert distance[far, near] > 6.0 and np.all(distance[far, 11:] > 6.0)  # beyond a 6 Å cutoff


def test_far_end_carbon_charge_follows_the_protonation(carbon):
    far = carbon.labels[keys.CHARGES][carbon.offsets[:-1] + reference.CARBON_FAR_END]
    neutral, cation = far[carbon.labels[keys.TOTAL_CHARGE] == 0], far[carbon.labels[keys.TOTAL_CHARGE] == 1]
    spread = max(neutral.std(), cation.std())
    assert spread > 0 and abs(cation.mean() - neutral.mean()) > 5 * spread


def test_ag3_pairs_share_geometries_in_both_charge_states(ag3):
    assert ag3.elements == (47,) and set(ag3.n_atoms) == {3} and len(ag3) == 8
    np.testing.assert_array_equal(ag3.labels[keys.TOTAL_CHARGE], [1.0, -1.0] * 4)
    x = ag3.positions.reshape(4, 2, 3, 3)
    np.testing.assert_array_equal(x[:, 0], x[:, 1])
    assert len(np.unique(x[:, 0].round(6), axis=0)) == 4  # four distinct geometries
    energy = ag3.labels[keys.ENERGY].reshape(4, 2)
    assert np.all(np.abs(energy[:, 0] - energy[:, 1]) > 1.0)
    forces = ag3.labels[keys.FORCES].reshape(4, 2, 3, 3)
    assert np.all(np.abs(forces[:, 0] - forces[:, 1]).max(axis=(1, 2)) > 1e-3)


def test_ag3_geometries_range_from_triangles_to_chains(ag3):
    widest = []
    for x in ag3.positions.reshape(-1, 3, 3)[::2]:
        sides = np.linalg.norm(x - np.roll(x, 1, axis=0), axis=1)
        assert sides.min() > 2.2
        a, b, c = np.sort(sides)
        widest.append(np.degrees(np.arccos((a * a + b * b - c * c) / (2 * a * b))))
    assert min(widest) < 90.0 and max(widest) > 150.0


def test_ag3_needs_an_even_size(cache):
    with pytest.raises(ValueError, match="n_structures must be even, received 3"):
        reference.load("ag3_xtb", n_structures=3)
    assert not list(cache.glob("ag3_xtb-n3-*"))


def test_ag3_geometries_without_scc_convergence_are_redrawn(monkeypatch):
    from ase.calculators.calculator import CalculationFailed

    label, calls = reference._label_charge_states, []

    def first_fails(geometry, charges):
        calls.append(geometry.positions.copy())
        if len(calls) == 1:
            raise CalculationFailed("SCF not converged in 250 cycles")
        return label(geometry, charges)

    monkeypatch.setattr(reference, "_label_charge_states", first_fails)
    data = reference.make_ag3_xtb(4, np.random.default_rng(0))
    assert len(calls) == 3 and not np.allclose(calls[0], calls[1])  # the failed geometry is replaced
    np.testing.assert_array_equal(data.labels[keys.TOTAL_CHARGE], [1.0, -1.0, 1.0, -1.0])
    assert not np.allclose(data.positions[:3], calls[0])
    np.testing.assert_array_equal(data.positions[:3], calls[1])


def test_ag3_gives_up_when_nothing_converges(monkeypatch):
    from ase.calculators.calculator import CalculationFailed

    def never(geometry, charges):
        raise CalculationFailed("SCF not converged in 250 cycles")

    monkeypatch.setattr(reference, "_label_charge_states", never)
    tries = reference.AG3_MAX_REDRAWS + 1
    with pytest.raises(RuntimeError, match=f"did not converge for {tries} Ag3 geometries in a row"):
        reference.make_ag3_xtb(2, np.random.default_rng(0))


def test_na8cl8_is_na9cl8_without_its_extra_sodium():
    cation, neutral = reference.na9cl8_cluster(remove_na=False), reference.na9cl8_cluster(remove_na=True)
    assert cation.get_chemical_formula() == "Cl8Na9" and neutral.get_chemical_formula() == "Cl8Na8"
    kept = np.delete(np.arange(len(cation)), reference.NA9CL8_EXTRA_NA)
    np.testing.assert_array_equal(cation.numbers[kept], neutral.numbers)
    np.testing.assert_allclose(cation.get_all_distances()[np.ix_(kept, kept)], neutral.get_all_distances(),
                               atol=1e-12)
    # rock salt: every neighbour at NACL_SPACING is of the other element; the extra Na is a
    # corner with three Cl neighbours
    distance = cation.get_all_distances()
    neighbours = np.isclose(distance, reference.NACL_SPACING)
    i, j = neighbours.nonzero()
    assert len(i) and np.all(cation.numbers[i] != cation.numbers[j])
    assert np.all(distance[np.triu_indices(len(cation), 1)] > reference.NACL_SPACING - 1e-9)
    assert neighbours[reference.NA9CL8_EXTRA_NA].sum() == 3


def test_na9cl8_set_mixes_the_two_clusters(na9cl8):
    assert na9cl8.elements == (11, 17)
    np.testing.assert_array_equal(sorted(na9cl8.labels[keys.TOTAL_CHARGE]), [0.0, 1.0])
    for q, numbers in zip(na9cl8.labels[keys.TOTAL_CHARGE], _per_structure(na9cl8, keys.NUMBERS)):
        np.testing.assert_array_equal(numbers, [11] * (8 + int(q)) + [17] * 8)


@pytest.mark.parametrize("name", ["carbon", "ag3", "na9cl8"])
def test_labels_are_gfn2_xtb_of_the_stated_charge(name, request):
    assert_gfn2_labels_of_the_stated_charge(request.getfixturevalue(name))
