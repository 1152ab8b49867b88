"""The featurizer contract: one structure in, model inputs with their COO Jacobians out.

A featurizer is a small serialisable spec owned by its model (it is part of the model's
config), so a saved model featurizes raw structures without any other object. It calls
``descriptors`` kernels; it never re-implements one.
"""

from __future__ import annotations

import numpy as np
from ase.data import chemical_symbols

from descriptors import cuda_target
from descriptors.neighbors import Neighbors, neighbor_list
from zoo import keys

#: two atoms closer than this (Å) are rejected: no reference method is meant to be there
MIN_DISTANCE = 0.1

_FEATURIZERS: dict[str, type[Featurizer]] = {}


def register_featurizer(cls):
    """Class decorator that makes a featurizer loadable by :func:`featurizer_from_config`."""
    _FEATURIZERS[cls.__name__] = cls
    return cls


def featurizer_from_config(config: dict) -> Featurizer:
    """Rebuild a featurizer from ``Featurizer.get_config()``."""
    name = config.get("class_name")
    if name not in _FEATURIZERS:
        raise ValueError(
            f"unknown featurizer {name!r}; known: {sorted(_FEATURIZERS)}"
        )
    return _FEATURIZERS[name].from_config(config["config"])


def element_symbols(numbers) -> str:
    """'H, C, O'-style list for error messages."""
    return ", ".join(f"{z} ({chemical_symbols[z]})" for z in numbers)


def element_index(numbers: np.ndarray, elements: tuple[int, ...]) -> np.ndarray:
    """Map atomic numbers to indices into ``elements``, rejecting unknown elements.

    Args:
        numbers: int [n_atoms].
        elements: sorted atomic numbers a model knows.

    Returns:
        int32 [n_atoms].
    """
    table = np.full(max(max(elements), int(numbers.max(initial=0))) + 1, -1, np.int32)
    table[list(elements)] = np.arange(len(elements), dtype=np.int32)
    index = table[numbers]
    unknown = np.unique(numbers[index < 0])
    if unknown.size:
        raise ValueError(
            f"element(s) {element_symbols(unknown)} not known to this model, which was "
            f"built for {element_symbols(elements)}; create the model with all elements "
            f"of your data (e.g. elements=data.elements)"
        )
    return index


def check_min_distance(distance: np.ndarray, i: np.ndarray, j: np.ndarray) -> None:
    """Reject structures with two atoms closer than :data:`MIN_DISTANCE`."""
    if distance.size and distance.min() < MIN_DISTANCE:
        p = int(np.argmin(distance))
        raise ValueError(
            f"atoms {int(i[p])} and {int(j[p])} are {distance[p]:.4f} Å apart, closer "
            f"than {MIN_DISTANCE} Å; the structure is unphysical (duplicated atom or "
            f"wrong units?): fix or drop it"
        )


class Featurizer:
    """Base class: turns one structure into a dict of numpy model inputs.

    Subclasses set :attr:`jacobians` (which outputs are differentiable inputs and where
    their COO Jacobians are) and implement :meth:`featurize_structure`,
    :meth:`get_config` and :attr:`n_features`.
    """

    #: the differentiable inputs this featurizer produces, with their Jacobian keys
    jacobians: tuple[keys.JacobianKeys, ...] = ()
    #: where the kernels run, "cpu" or "cuda"; None: ``$NNP_ZOO_DEVICE``, else "cpu". A
    #: runtime choice, not saved with a model (a model trained on a GPU loads anywhere).
    device: str | None = None

    @property
    def kernel_device(self) -> str:
        """The ``device`` argument of this featurizer's kernel calls."""
        return self.device or cuda_target.default_device()

    def __init__(self, elements):
        self.elements = tuple(sorted(int(z) for z in elements))
        if not self.elements:
            raise ValueError("elements must name at least one atomic number, received ()")

    def featurize(self, numbers, positions, cell, pbc) -> dict[str, np.ndarray]:
        """Inputs of one structure: ELEMENT plus what :meth:`featurize_structure` gives.

        Indices in the result are local to the structure; :func:`zoo.batch.collate`
        offsets them.
        """
        numbers = np.asarray(numbers, dtype=np.int64)
        out = {keys.ELEMENT: element_index(numbers, self.elements)}
        out.update(self.featurize_structure(numbers, positions, cell, pbc))
        return out

    def featurize_structure(self, numbers, positions, cell, pbc) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def get_config(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict) -> Featurizer:
        return cls(**config)

    def serialize(self) -> dict:
        """``{"class_name", "config"}``, the form :func:`featurizer_from_config` reads."""
        return {"class_name": type(self).__name__, "config": self.get_config()}


def jacobian_entries(jk: keys.JacobianKeys, values: np.ndarray, jac) -> dict[str, np.ndarray]:
    """A kernel's ``values`` and :class:`descriptors.jacobian.Jacobian` under the keys ``jk``.

    Raises:
        ValueError: the kernel's pair blocks (``partner``) and the keys disagree, which
            would drop or invent the partners' -value terms.
    """
    if (jac.partner is None) != (jk.partner is None):
        raise ValueError(f"the Jacobian of {jk.values!r} {'has' if jac.partner is not None else 'lacks'} pair-block "
                         f"partners but its keys {'lack' if jk.partner is None else 'have'} them; declare the "
                         f"keys with jacobian_keys(..., pair_blocks={jac.partner is not None})")
    out = {jk.values: values, jk.item: jac.item, jk.atom: jac.atom, jk.value: jac.value,
           jk.displacement: jac.displacement}
    if jk.partner is not None:
        out[jk.partner] = jac.partner
    return out


class ParamsFeaturizer(Featurizer):
    """A featurizer configured by one frozen parameter set of a ``descriptors`` kernel.

    Subclasses set :attr:`params_class` (a dataclass with ``elements``, ``cutoff``,
    ``n_features``, ``to_dict`` and ``from_dict``) and :attr:`jacobians`, and implement
    :meth:`featurize_structure` with :meth:`neighbors` and :func:`jacobian_entries`.

    Args:
        params: the parameter set, or its ``to_dict()`` form (as stored in a saved model).
    """

    params_class: type

    def __init__(self, params):
        if isinstance(params, dict):
            params = self.params_class.from_dict(params)
        super().__init__(params.elements)
        self.params = params

    @property
    def n_features(self) -> int:
        return self.params.n_features

    @property
    def cutoff(self) -> float:
        """Å, the neighbour-list cutoff."""
        return self.params.cutoff

    def neighbors(self, positions, cell, pbc) -> Neighbors:
        """The full neighbour list within :attr:`cutoff`, rejecting atoms closer than
        :data:`MIN_DISTANCE`."""
        neighbors = neighbor_list(positions, cell, pbc, self.cutoff)
        check_min_distance(neighbors.distance, neighbors.i, neighbors.j)
        return neighbors

    def get_config(self) -> dict:
        return {"params": self.params.to_dict()}
