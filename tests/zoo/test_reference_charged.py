"""zoo.reference water_xtb and nacl_xtb: tiny generations (one structure per MD segment),
checked against GFN2-xTB itself and for their mix of charge states."""

import numpy as np
import pytest

from gfn2_labels import assert_gfn2_labels_of_the_stated_charge
from zoo import keys, reference


@pytest.fixture(scope="module")
def water(cache):
    return reference.load("water_xtb", n_structures=len(reference.WATER_CLUSTERS))


@pytest.fixture(scope="module")
def nacl(cache):
    return reference.load("nacl_xtb", n_structures=len(reference.NACL_COMPOSITIONS))


def _composition_charges(data, rule):
    return np.array([rule(data.structure(s)[keys.NUMBERS]) for s in range(len(data))])


def test_water_clusters_mix_charge_states(water):
    assert water.elements == (1, 8) and not water.pbc.any()
    charge = water.labels[keys.TOTAL_CHARGE]
    assert sorted(np.unique(charge)) == [-1.0, 0.0, 1.0]
    # H+(H2O)_n has 2 n + 1 hydrogens, OH-(H2O)_(n-1) 2 n - 1
    expected = _composition_charges(water, lambda z: np.sum(z == 1) - 2 * np.sum(z == 8))
    np.testing.assert_array_equal(charge, expected)


def test_nacl_clusters_mix_charge_states(nacl):
    assert nacl.elements == (11, 17)
    expected = _composition_charges(nacl, lambda z: np.sum(z == 11) - np.sum(z == 17))
    np.testing.assert_array_equal(nacl.labels[keys.TOTAL_CHARGE], expected)
    assert sorted(np.unique(expected)) == [-1.0, 0.0, 1.0]


@pytest.mark.parametrize("name", ["water", "nacl"])
def test_labels_are_gfn2_xtb_of_the_stated_charge(name, request):
    assert_gfn2_labels_of_the_stated_charge(request.getfixturevalue(name))
