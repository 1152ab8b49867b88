"""Global internal coordinates of one fixed molecule (1G models, review section 2)."""

from __future__ import annotations

from collections import Counter

import numpy as np
from ase.data import chemical_symbols

from descriptors.internal import inverse_distances, pair_geometry
from zoo import keys
from zoo.featurizers.base import Featurizer, check_min_distance, jacobian_entries, register_featurizer


def formula(numbers) -> str:
    """Hill-style formula with counts ('C2H6O') of a list of atomic numbers."""
    counts = Counter(chemical_symbols[int(z)] for z in numbers)
    first = [s for s in ("C", "H") if s in counts] if "C" in counts else []
    order = first + sorted(set(counts) - set(first))
    return "".join(f"{s}{counts[s] if counts[s] > 1 else ''}" for s in order)


def atom_order(numbers) -> str:
    """'C C O H H ...': the element of each atom, in order."""
    return " ".join(chemical_symbols[int(z)] for z in numbers)


def molecule_mismatch(expected, received) -> str | None:
    """Why atoms ``received`` are not the molecule ``expected`` (same elements in the same
    order), or None when they are."""
    expected, received = np.asarray(expected), np.asarray(received)
    if received.shape == expected.shape and np.array_equal(received, expected):
        return None
    return (f"expected {formula(expected)} with {len(expected)} atoms in the order [{atom_order(expected)}], "
            f"received {formula(received)} with {len(received)} atoms in the order [{atom_order(received)}]")


class MoleculeFeaturizer(Featurizer):
    """Base of featurizers for ONE molecule with a fixed atom order.

    A global (1G) input vector has one entry per atom pair (or per invariant), so it is
    defined only for the molecule it was built for: :meth:`featurize` rejects any other
    atom count or element order, naming both.

    Args:
        elements: atomic numbers the model handles.
        numbers: the molecule's atomic numbers in atom order; None: not fixed yet (the
            owning model fixes it from its training data, see :class:`zoo.models.global_nn.GlobalNN`),
            and :meth:`featurize` raises until then.
    """

    def __init__(self, elements, numbers=None):
        super().__init__(elements)
        if numbers is not None:
            numbers = tuple(int(z) for z in np.asarray(numbers).reshape(-1))
            if len(numbers) < 2:
                raise ValueError(f"a molecule needs at least 2 atoms, received numbers={list(numbers)}")
            unknown = sorted(set(numbers) - set(self.elements))
            if unknown:
                raise ValueError(f"numbers {list(numbers)} contain elements {unknown} missing from "
                                 f"elements={list(self.elements)}; include them in elements")
        self.numbers = numbers

    def with_numbers(self, numbers) -> MoleculeFeaturizer:
        """The same featurizer with the molecule fixed to ``numbers``."""
        return type(self).from_config({**self.get_config(), "numbers": [int(z) for z in numbers]})

    def check(self, numbers, pbc) -> None:
        """Raise a ValueError unless ``numbers`` is the molecule, as a non-periodic structure."""
        if self.numbers is None:
            raise ValueError("the molecule of this 1G featurizer is not fixed yet: create the model with "
                             "numbers=[...] (atomic numbers in atom order) or adapt/fit it on data first")
        if np.any(pbc):
            raise ValueError(f"1G internal coordinates are for molecules, received a structure with "
                             f"pbc={np.asarray(pbc).tolist()}; use an atom-centred model (e.g. hdnnp) for periodic "
                             f"systems")
        why = molecule_mismatch(self.numbers, numbers)
        if why:
            raise ValueError(f"this 1G model applies only to the molecule it was built for: {why}. Reorder the "
                             f"atoms to the model's order, or train a model for this molecule")

    def featurize_structure(self, numbers, positions, cell, pbc):
        self.check(numbers, pbc)
        i, j, _, distance = pair_geometry(positions)
        check_min_distance(distance, i, j)
        return self.molecule_inputs(np.asarray(positions, dtype=np.float64))

    def molecule_inputs(self, positions) -> dict[str, np.ndarray]:
        """The values and Jacobian of one checked molecule."""
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"elements": list(self.elements), "numbers": None if self.numbers is None else list(self.numbers)}


@register_featurizer
class InverseDistanceFeaturizer(MoleculeFeaturizer):
    """All inverse distances 1/r_ij (i < j) of one molecule as one row [1, n_pairs], with
    their Jacobian (:data:`keys.INVERSE_DISTANCES_JACOBIAN`, one block per atom).

    Args: see :class:`MoleculeFeaturizer`.
    """

    jacobians = (keys.INVERSE_DISTANCES_JACOBIAN,)

    @property
    def n_features(self) -> int:
        if self.numbers is None:
            raise ValueError("n_features is not known before the molecule is fixed (numbers=None)")
        n = len(self.numbers)
        return n * (n - 1) // 2

    def molecule_inputs(self, positions):
        values, jac = inverse_distances(positions, device=self.kernel_device)
        return jacobian_entries(keys.INVERSE_DISTANCES_JACOBIAN, values, jac)
