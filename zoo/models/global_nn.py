"""1G global neural network potential on the inverse distances of one molecule."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo import keys
from zoo.data import Dataset
from zoo.featurizers import InverseDistanceFeaturizer
from zoo.featurizers.internal import molecule_mismatch
from zoo.layers import ElementMLP, group_statistics, standardize, statistics_weights
from zoo.potential import ADAPT_STRUCTURES, Potential
from zoo.registry import register


class MoleculeNetwork(Potential):
    """Base of the 1G models: one feed-forward network on one global input row per molecule.

    ``E_s = N_s · scale · NN(standardize(x_s)) + sum_a E_baseline(Z_a)``, where ``x_s`` is the
    featurizer's row of structure s (inverse distances, PIPs). The base class sums atomic
    energies per structure, so the network output (the per-atom residual energy in units of
    the energy scale) is given to every atom of the structure: the structure energy is
    split evenly over its atoms. Atomic energies of a 1G model have no physical meaning;
    the even split keeps the network output of order one (the energy scale is the spread of
    the per-atom energy).

    The molecule (atomic numbers in atom order) is part of the model. Created with
    ``numbers=None`` (as the harness and ``zoo.create(name, elements=data.elements)`` do),
    the model fixes it from the first structure of the data it is first adapted on
    (:meth:`adapt`, which ``fit`` calls) and only then creates the network weights, which
    depend on the input size. This is the one exception to "every weight in ``__init__``":
    it happens before any trace or optimizer build, and ``get_config`` stores ``numbers``,
    so a saved model creates every weight in ``__init__`` when loaded.

    Args:
        featurizer: a :class:`zoo.featurizers.internal.MoleculeFeaturizer`.
        hidden: hidden-layer widths.
        activation: hidden activation.
        **kwargs: loss weights and Keras options, see :class:`zoo.Potential`.
    """

    def __init__(self, featurizer, hidden=(40, 40), activation="tanh", **kwargs):
        super().__init__(featurizer=featurizer, **kwargs)
        self.hidden = tuple(int(h) for h in hidden)
        self.activation = activation
        self.network = None
        if featurizer.numbers is not None:
            self._create_network()

    @property
    def numbers(self) -> tuple[int, ...] | None:
        """Atomic numbers of the model's molecule in atom order (None: not fixed yet)."""
        return self.featurizer.numbers

    @property
    def inputs_key(self) -> str:
        return self.featurizer.jacobians[0].values

    def _create_network(self):
        n_features = self.featurizer.n_features
        statistics_weights(self, 1, n_features)  # feature_mean, feature_std
        self.network = ElementMLP(1, n_features, self.hidden, 1, self.activation, dtype=self.dtype_policy,
                                  name="network")

    def fix_molecule(self, numbers) -> None:
        """Fix the molecule of a model created with ``numbers=None`` and create its weights."""
        if self.numbers is not None:
            why = molecule_mismatch(self.numbers, numbers)
            if why:
                raise ValueError(f"{self.name} is fixed to its molecule: {why}")
            return
        self.featurizer = self.featurizer.with_numbers(numbers)
        self._create_network()

    def check_molecule(self, dataset: Dataset, what: str) -> None:
        """Raise a ValueError naming the first structure of ``dataset`` that is not the molecule."""
        n = len(self.numbers)
        wrong = np.flatnonzero(dataset.n_atoms != n)
        if not wrong.size:
            same = (dataset.numbers.reshape(len(dataset), n) == np.asarray(self.numbers)).all(axis=1)
            wrong = np.flatnonzero(~same)
        if wrong.size:
            s = int(wrong[0])
            numbers = dataset.numbers[dataset.offsets[s]:dataset.offsets[s + 1]]
            raise ValueError(
                f"{type(self).__name__} applies only to the molecule it was built for; structure {s} of the data "
                f"passed to {what} ({wrong.size} of {len(dataset)} structures differ) is another one: "
                f"{molecule_mismatch(self.numbers, numbers)}. Give every structure the model's atoms in its "
                f"order, or train a model for that molecule")

    def atomic_outputs(self, inputs, training=False):
        x = inputs[self.inputs_key]
        group = tf.zeros(tf.shape(x)[:1], tf.int32)
        per_structure = tf.squeeze(self.network(standardize(x, group, self.feature_mean, self.feature_std), group),
                                   axis=-1)
        return {keys.ATOMIC_ENERGIES: tf.gather(per_structure, inputs[keys.STRUCTURE])}

    def adapt(self, dataset, max_structures=ADAPT_STRUCTURES, seed=0):
        """Fix the molecule from ``dataset`` (when not fixed), check every structure, then
        fit the baseline, energy scale and input statistics (:meth:`zoo.Potential.adapt`)."""
        if isinstance(dataset, Dataset) and len(dataset):
            if self.numbers is None:
                self.fix_molecule(dataset.numbers[:dataset.n_atoms[0]])
            self.check_molecule(dataset, "adapt")
        return super().adapt(dataset, max_structures=max_structures, seed=seed)

    def adapt_inputs(self, batch):
        values = batch[self.inputs_key]
        mean, std = group_statistics(values, np.zeros(len(values), np.int64), 1)
        self.feature_mean.assign(mean)
        self.feature_std.assign(std)

    def _checked(self, data, what):
        if isinstance(data, Dataset) and len(data):
            if self.numbers is None:
                raise ValueError(f"{self.name} has no molecule yet: create it with numbers=[...] or fit it first")
            self.check_molecule(data, what)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, validation_data=None, **kwargs):
        if isinstance(x, Dataset) and not self.is_adapted:
            self.adapt(x, seed=kwargs.get("seed", 0))
        self._checked(x, "fit")
        self._checked(validation_data, "fit (validation_data)")
        return super().fit(x, y, batch_size=batch_size, epochs=epochs, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, **kwargs):
        self._checked(x, "evaluate")
        return super().evaluate(x, y, batch_size=batch_size, **kwargs)

    def predict(self, x, batch_size=None, **kwargs):
        self._checked(x, "predict")
        return super().predict(x, batch_size=batch_size, **kwargs)

    def get_config(self):
        return {**super().get_config(), "elements": list(self.elements),
                "numbers": None if self.numbers is None else list(self.numbers),
                "hidden": list(self.hidden), "activation": self.activation}


@register("global_nn", generation="1G", descriptor="internal coordinates", periodic=False,
          fixed_molecule=True,
          paper="T. B. Blank, S. D. Brown, A. W. Calhoun, D. J. Doren, J. Chem. Phys. 103, 4129 (1995)")
class GlobalNN(MoleculeNetwork):
    """1G global NN: one feed-forward network on all inverse distances of one molecule (review 2).

    ``E = NN(1/r_12, 1/r_13, ..., 1/r_(n-1)n)``: the input vector holds every inverse
    interatomic distance in the fixed atom order of the molecule (pairs i < j, row-major),
    standardized per column with the training split's mean and standard deviation; forces
    come from the pair-distance Jacobian. The model applies only to that molecule: ``fit``,
    ``evaluate``, ``predict`` and the featurizer reject another atom count or element order.
    See :class:`MoleculeNetwork` for the energy split and ``numbers=None``.

    Deviation: the first 1G potentials (Blank et al. 1995 and the review's section 2) used
    hand-chosen internal coordinates of small systems; inverse distances are the complete,
    system-independent choice (not permutation invariant, which is what PIP-NN adds).

    Args:
        elements: atomic numbers the model handles.
        numbers: the molecule's atomic numbers in atom order; None: fixed by the first
            structure of the data the model is first adapted (fit) on.
        hidden: hidden-layer widths.
        activation: hidden activation.
        **kwargs: loss weights and Keras options, see :class:`zoo.Potential`.
    """

    def __init__(self, elements, numbers=None, hidden=(40, 40), activation="tanh", **kwargs):
        super().__init__(InverseDistanceFeaturizer(elements, numbers), hidden, activation, **kwargs)
