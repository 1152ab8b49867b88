"""Featurize a data set batch by batch, on the fly, for Keras.

Descriptor Jacobians are the large arrays of an NNP (ACSF derivatives of 108-atom Cu cells
take megabytes per structure), so the pipeline never holds them for the whole data set:
each batch is featurized when Keras asks for it, in a background thread (``tf.data``
prefetch) while the previous batch trains. A per-structure cache keeps featurized inputs
only while they fit a stated byte budget, so peak memory is bounded by
``cache_bytes`` plus a few batches, whatever the size of the data set.
"""

from __future__ import annotations

import math

import numpy as np

from zoo import keys
from zoo.batch import collate

#: default byte budget of the per-structure feature cache of one pipeline
DEFAULT_CACHE_BYTES = 1 << 30

_STRUCTURE_LABELS = (keys.ENERGY, keys.TOTAL_CHARGE, keys.DIPOLE)


def _positions(dataset, s: int) -> np.ndarray:
    return dataset.positions[dataset.offsets[s]:dataset.offsets[s + 1]]


def _total_charge(dataset, s: int) -> np.ndarray:
    """[1]; a data set without total charges holds neutral structures."""
    if keys.TOTAL_CHARGE not in dataset.labels:
        return np.zeros(1)
    charge = dataset.labels[keys.TOTAL_CHARGE][s:s + 1]
    if not np.isfinite(charge).all():
        raise ValueError(f"structure {s} has no total charge (NaN) but the model needs it; set it "
                         f"(0 for neutral) in the data set")
    return charge


#: data-set keys a model may take as inputs, and how one structure's value is read
_INPUTS = {keys.POSITIONS: _positions, keys.TOTAL_CHARGE: _total_charge}


class FeatureCache:
    """Featurized inputs of single structures, kept while they fit ``max_bytes``.

    Once full it stops storing (rather than evicting): with shuffled epochs an eviction
    policy would only churn, while a fixed subset is reused every epoch.
    """

    def __init__(self, max_bytes: int):
        if max_bytes < 0:
            raise ValueError(f"cache_bytes must be >= 0, received {max_bytes}")
        self.max_bytes = int(max_bytes)
        self.nbytes = 0
        self._items: dict[int, dict[str, np.ndarray]] = {}

    def get(self, index: int):
        return self._items.get(index)

    def put(self, index: int, item: dict[str, np.ndarray]) -> None:
        size = sum(a.nbytes for a in item.values())
        if self.nbytes + size <= self.max_bytes:
            self._items[index] = item
            self.nbytes += size

    def __len__(self) -> int:
        return len(self._items)


def cast_input(array: np.ndarray, float_dtype) -> np.ndarray:
    """Floats to the model's dtype, integers to int32 (what TF segment ops index with)."""
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(float_dtype, copy=False)
    if np.issubdtype(array.dtype, np.integer):
        return array.astype(np.int32, copy=False)
    return array


class BatchSource:
    """Flat batches ``(x, y)`` of a :class:`zoo.data.Dataset`, featurized on demand.

    Args:
        dataset: the structures (and labels).
        featurizer: the model's featurizer.
        batch_size: structures per batch (the last batch may be smaller).
        labels: label keys to put in ``y``; each must be present for every structure.
        inputs: data-set keys the model reads besides its featurizer's output, put in ``x``:
            ``keys.POSITIONS`` (e.g. for dipoles) or ``keys.TOTAL_CHARGE`` (0, a neutral
            structure, where the data set does not give it).
        dtype: float dtype of the model inputs (the model's compute dtype).
        shuffle: draw a new order each epoch (seeded).
        seed: seed of the shuffling.
        cache_bytes: byte budget of the per-structure feature cache (0 disables it).
    """

    def __init__(self, dataset, featurizer, batch_size: int, *, labels=(), inputs=(), dtype="float32",
                 shuffle=False, seed=0, cache_bytes=DEFAULT_CACHE_BYTES):
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive integer, received {batch_size}")
        if len(dataset) == 0:
            raise ValueError("the data set is empty; nothing to featurize")
        for key in labels:
            missing = dataset.missing_label(key)
            if len(missing):
                raise ValueError(
                    f"label {key!r} is missing for {len(missing)} structure(s) (first: "
                    f"{list(missing[:5])}), but the loss needs it; drop those structures "
                    f"(dataset[mask]) or set that loss weight to 0"
                )
        self.dataset = dataset
        self.featurizer = featurizer
        self.batch_size = int(batch_size)
        self.labels = tuple(labels)
        unknown = set(inputs) - set(_INPUTS)
        if unknown:
            raise ValueError(f"model inputs {sorted(unknown)} cannot come from a data set; known: {list(_INPUTS)}")
        self.inputs = tuple(inputs)
        self.dtype = np.dtype(dtype)
        self.shuffle = shuffle
        self.cache = FeatureCache(cache_bytes)
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return math.ceil(len(self.dataset) / self.batch_size)

    def structure_inputs(self, s: int) -> dict[str, np.ndarray]:
        """Featurized inputs (and labels) of structure ``s``, cast, from the cache if there."""
        item = self.cache.get(s)
        if item is None:
            d = self.dataset
            a, b = d.offsets[s], d.offsets[s + 1]
            item = self.featurizer.featurize(d.numbers[a:b], d.positions[a:b], d.cell[s], d.pbc[s])
            for key in self.inputs:
                item[key] = _INPUTS[key](d, s)
            for key in self.labels:
                label = d.labels[key]
                item[key] = label[s:s + 1] if key in _STRUCTURE_LABELS else label[a:b]
            item = {k: cast_input(v, self.dtype) for k, v in item.items()}
            self.cache.put(s, item)
        return item

    def batch(self, indices) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The flat batch of the given structures, split into inputs and labels."""
        flat = collate([self.structure_inputs(int(s)) for s in indices], self.featurizer.jacobians)
        y = {k: flat.pop(k) for k in self.labels}
        return flat, y

    def statistics_batch(self, indices) -> dict[str, np.ndarray]:
        """Flat inputs of the given structures without the Jacobian blocks' values and
        displacements: what input statistics need, at a small fraction of the memory (a
        Cu-108 structure has ~5 MB of Jacobian values and ~20 kB of descriptors)."""
        dropped = {k for jac in self.featurizer.jacobians for k in (jac.value, jac.displacement)}
        return collate([{k: v for k, v in self.structure_inputs(int(s)).items() if k not in dropped}
                        for s in indices])

    def batches(self):
        """One epoch of batches, in a fresh (shuffled) order when ``shuffle``."""
        n = len(self.dataset)
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            yield self.batch(order[start:start + self.batch_size])

    def element_spec(self):
        """``tf.TensorSpec`` s with ``None`` leading dimensions, so no batch retraces."""
        import tensorflow as tf

        x, y = self.batch([0])
        spec = lambda a: tf.TensorSpec((None, *a.shape[1:]), tf.as_dtype(a.dtype))
        return {k: spec(v) for k, v in x.items()}, {k: spec(v) for k, v in y.items()}

    def tf_dataset(self, prefetch: int = 2):
        """A ``tf.data.Dataset`` of one epoch per iteration, featurizing ahead of training."""
        import tensorflow as tf

        x_spec, y_spec = self.element_spec()
        signature = (x_spec, y_spec) if self.labels else x_spec
        generate = self.batches if self.labels else (lambda: (x for x, _ in self.batches()))
        ds = tf.data.Dataset.from_generator(generate, output_signature=signature)
        ds = ds.apply(tf.data.experimental.assert_cardinality(len(self)))
        return ds.prefetch(prefetch)
