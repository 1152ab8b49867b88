"""``zoo.Potential``: the one Keras base class of every model in the zoo.

A subclass declares its featurizer and implements :meth:`Potential.atomic_outputs`
(per-atom network outputs of a flat batch). The base class turns those into total
energies (with a per-element energy baseline and an energy scale fitted on the training
split), gets forces as -dE/dR by contracting dE/d(inputs) with the featurizer's COO
Jacobians, and trains with Keras: ``compile``, ``fit``, ``evaluate``, ``predict``,
``save`` and ``keras.models.load_model`` work as for any Keras model, and accept a
:class:`zoo.data.Dataset` directly (featurized batch by batch, see :mod:`zoo.pipeline`).

Loss (per batch): ``energy_weight * mean_s((E_s - E_s^ref) / n_s)^2 +
forces_weight * mean_{a,c}(F_ac - F_ac^ref)^2`` in eV²/atom² and eV²/Å², plus, for models
that predict charges, ``charges_weight * mean_a(q_a - q_a^ref)^2`` (e²) and
``dipole_weight * mean_{s,c}(mu_sc - mu_sc^ref)^2`` (e²Å²). Metrics:
``energy_mae``/``energy_rmse`` per atom (eV/atom), ``forces_mae``/``forces_rmse`` over
Cartesian components (eV/Å), the convention of n2p2 and most NNP papers; ``charges_mae``/
``charges_rmse`` (e) and ``dipole_mae``/``dipole_rmse`` (e·Å, over components) where the
model predicts them and the data have them.

Charge-aware models output ``keys.CHARGES`` [n_atoms] from :meth:`Potential.atomic_outputs`
and list ``keys.TOTAL_CHARGE`` in :attr:`Potential.structure_inputs` to receive each
structure's total charge; with ``keys.POSITIONS`` there too, the base class adds the dipole
``sum_a q_a r_a`` (e·Å, about the origin of the coordinates, as the reference data
define it) unless the model gives ``keys.DIPOLE`` itself.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo import keys
from zoo.data import Dataset, element_counts, fit_energy_baseline
from zoo.layers.contraction import energy_gradient, energy_gradient_and_virial
from zoo.pipeline import DEFAULT_CACHE_BYTES, BatchSource

#: structures featurized by :meth:`Potential.adapt` to estimate input statistics
ADAPT_STRUCTURES = 256


class Potential(keras.Model):
    """Base class: energies, forces (-dE/dR), losses, metrics and data handling.

    Args:
        featurizer: turns structures into the model's inputs (part of the saved config).
        energy_weight: weight of the per-atom energy MSE (1/eV² · eV²/atom²).
        forces_weight: weight of the force-component MSE.
        **kwargs: passed to ``keras.Model`` (``name``, ``dtype``).
    """

    #: data-set keys the model reads besides its featurizer's output (see zoo.pipeline)
    structure_inputs: tuple[str, ...] = ()

    def __init__(self, featurizer, energy_weight=1.0, forces_weight=0.1, charges_weight=0.0, dipole_weight=0.0,
                 **kwargs):
        super().__init__(**kwargs)
        weights = {"energy_weight": energy_weight, "forces_weight": forces_weight,
                   "charges_weight": charges_weight, "dipole_weight": dipole_weight}
        if min(weights.values()) < 0 or sum(weights.values()) == 0:
            raise ValueError(f"loss weights must be >= 0 and not all 0, received {weights}")
        self.featurizer = featurizer
        self.elements = featurizer.elements
        self.energy_weight = float(energy_weight)
        self.forces_weight = float(forces_weight)
        self.charges_weight = float(charges_weight)
        self.dipole_weight = float(dipole_weight)
        n = len(self.elements)
        self.element_energy = self.add_weight(shape=(n,), initializer="zeros", trainable=False, name="element_energy")
        self.energy_scale = self.add_weight(shape=(), initializer="ones", trainable=False, name="energy_scale")
        self.adapted = self.add_weight(shape=(), initializer="zeros", trainable=False, name="adapted")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.label_metrics = {
            keys.ENERGY: (keras.metrics.MeanAbsoluteError(name="energy_mae"),
                          keras.metrics.RootMeanSquaredError(name="energy_rmse")),
            keys.FORCES: (keras.metrics.MeanAbsoluteError(name="forces_mae"),
                          keras.metrics.RootMeanSquaredError(name="forces_rmse")),
            keys.CHARGES: (keras.metrics.MeanAbsoluteError(name="charges_mae"),
                           keras.metrics.RootMeanSquaredError(name="charges_rmse")),
            keys.DIPOLE: (keras.metrics.MeanAbsoluteError(name="dipole_mae"),
                          keras.metrics.RootMeanSquaredError(name="dipole_rmse")),
        }

    # --- what subclasses implement ----------------------------------------------------
    def atomic_outputs(self, inputs, training=False) -> dict:
        """Per-atom outputs of a flat batch; must contain ``keys.ATOMIC_ENERGIES`` [n_atoms]
        in units of ``energy_scale`` (the base class adds scale and baseline), and may
        contain ``keys.PHYSICAL_ENERGIES`` [n_atoms] in eV (electrostatics, dispersion),
        added unscaled."""
        raise NotImplementedError

    def adapt_inputs(self, batch: dict[str, np.ndarray]) -> None:
        """Fit input statistics (e.g. descriptor scaling) on a featurized training sample: a
        flat batch without the Jacobian values and displacements (memory)."""

    # --- forward ----------------------------------------------------------------------
    def call(self, inputs, training=False):
        out = dict(self.atomic_outputs(inputs, training=training))
        element = inputs[keys.ELEMENT]
        atomic = self.energy_scale * out[keys.ATOMIC_ENERGIES] + tf.gather(self.element_energy, element)
        if keys.PHYSICAL_ENERGIES in out:
            atomic += out[keys.PHYSICAL_ENERGIES]
        out[keys.ATOMIC_ENERGIES] = atomic
        n_structures = tf.shape(inputs[keys.N_ATOMS])[0]
        out[keys.ENERGY] = tf.math.unsorted_segment_sum(atomic, inputs[keys.STRUCTURE], n_structures)
        if keys.CHARGES in out and keys.DIPOLE not in out and keys.POSITIONS in inputs:
            out[keys.DIPOLE] = tf.math.unsorted_segment_sum(
                out[keys.CHARGES][:, None] * inputs[keys.POSITIONS], inputs[keys.STRUCTURE], n_structures)
        return out

    def energy_and_forces(self, inputs, training=False) -> dict:
        """``call`` plus ``keys.FORCES`` = -dE/dR from the Jacobian contraction."""
        inputs = {k: tf.convert_to_tensor(v) for k, v in inputs.items()}
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            for jac in self.featurizer.jacobians:
                tape.watch(inputs[jac.values])
            out = self(inputs, training=training)
        out[keys.FORCES] = -energy_gradient(out[keys.ENERGY], inputs, self.featurizer.jacobians, tape)
        return out

    def energy_forces_and_stress(self, inputs, training=False) -> dict:
        """:meth:`energy_and_forces` plus ``keys.STRESS`` [n_structures, 6] (eV/Å³, Voigt xx yy
        zz yz xz xy, ASE's sign: (1/V) dE/dε), from the same gradient through the blocks'
        displacements; ``inputs`` must hold ``keys.CELL`` [n_structures, 3, 3] of periodic cells."""
        inputs = {k: tf.convert_to_tensor(v) for k, v in inputs.items()}
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            for jac in self.featurizer.jacobians:
                tape.watch(inputs[jac.values])
            out = self(inputs, training=training)
        gradient, virial = energy_gradient_and_virial(out[keys.ENERGY], inputs, self.featurizer.jacobians, tape)
        out[keys.FORCES] = -gradient
        volume = tf.abs(tf.linalg.det(inputs[keys.CELL]))[:, None, None]
        stress = tf.reshape(0.5 * (virial + tf.transpose(virial, [0, 2, 1])) / volume, [-1, 9])
        out[keys.STRESS] = tf.gather(stress, [0, 4, 8, 5, 2, 1], axis=1)  # Voigt: xx yy zz yz xz xy
        return out

    def compiled_energy_and_forces(self):
        """A ``tf.function`` of :meth:`energy_and_forces` for inference on flat batches
        (traced once per input structure, not per batch shape)."""
        if getattr(self, "_compiled_energy_and_forces", None) is None:
            self._compiled_energy_and_forces = tf.function(
                lambda inputs: self.energy_and_forces(inputs, training=False), reduce_retracing=True)
        return self._compiled_energy_and_forces

    # --- training ----------------------------------------------------------------------
    @property
    def loss_labels(self) -> tuple[str, ...]:
        """The labels the loss needs (those with a positive weight)."""
        weights = {keys.ENERGY: self.energy_weight, keys.FORCES: self.forces_weight,
                   keys.CHARGES: self.charges_weight, keys.DIPOLE: self.dipole_weight}
        return tuple(k for k, w in weights.items() if w > 0)

    def potential_loss(self, inputs, labels, out):
        n_atoms = tf.cast(inputs[keys.N_ATOMS], out[keys.ENERGY].dtype)
        loss = tf.constant(0.0, out[keys.ENERGY].dtype)
        if keys.ENERGY in labels:
            per_atom = (out[keys.ENERGY] - labels[keys.ENERGY]) / n_atoms
            loss += self.energy_weight * tf.reduce_mean(tf.square(per_atom))
        if keys.FORCES in labels:
            loss += self.forces_weight * tf.reduce_mean(tf.square(out[keys.FORCES] - labels[keys.FORCES]))
        for key, weight in ((keys.CHARGES, self.charges_weight), (keys.DIPOLE, self.dipole_weight)):
            if key in labels and weight > 0:
                if key not in out:
                    raise ValueError(f"{type(self).__name__} does not predict {key!r}; set {key}_weight=0")
                loss += weight * tf.reduce_mean(tf.square(out[key] - labels[key]))
        return loss

    def train_step(self, data):
        inputs, labels = data
        with tf.GradientTape() as tape:
            out = self.energy_and_forces(inputs, training=True)
            loss = self.potential_loss(inputs, labels, out)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        return self.update_metrics(inputs, labels, out, loss)

    def test_step(self, data):
        inputs, labels = data
        out = self.energy_and_forces(inputs, training=False)
        return self.update_metrics(inputs, labels, out, self.potential_loss(inputs, labels, out))

    def predict_step(self, data):
        inputs = data[0] if isinstance(data, tuple) else data
        return self.energy_and_forces(inputs, training=False)

    @property
    def metrics(self):
        return [self.loss_tracker, *(m for pair in self.label_metrics.values() for m in pair)]

    def update_metrics(self, inputs, labels, out, loss):
        """Update loss and label metrics; report only the metrics of labels present."""
        self.loss_tracker.update_state(loss)
        results = {"loss": self.loss_tracker.result()}
        for key, metrics in self.label_metrics.items():
            if key not in labels or key not in out:
                continue
            true, pred = labels[key], out[key]
            if key == keys.ENERGY:  # energy metrics are per atom
                n_atoms = tf.cast(inputs[keys.N_ATOMS], pred.dtype)
                true, pred = true / n_atoms, pred / n_atoms
            for metric in metrics:
                # one sample per component, so that every component weighs the same
                metric.update_state(tf.reshape(true, [-1, 1]), tf.reshape(pred, [-1, 1]))
                results[metric.name] = metric.result()
        return results

    def compile(self, optimizer="adam", jit_compile=False, **kwargs):
        """Keras ``compile`` with zoo defaults: the loss is built in; no XLA (flat batches
        vary in shape, and XLA would recompile for each)."""
        super().compile(optimizer=optimizer, jit_compile=jit_compile, **kwargs)

    # --- statistics of the training split ------------------------------------------------
    @property
    def is_adapted(self) -> bool:
        return bool(self.adapted.numpy())

    def adapt(self, dataset: Dataset, max_structures: int = ADAPT_STRUCTURES, seed: int = 0):
        """Fit the element energy baseline, energy scale and input statistics on ``dataset``.

        Called by :meth:`fit` on its training data unless the model is already adapted.
        """
        _check_dataset(dataset, "adapt")
        if dataset.has_label(keys.ENERGY):
            baseline = fit_energy_baseline(dataset, self.elements)
            counts = element_counts(dataset, self.elements)
            residual = (dataset.labels[keys.ENERGY] - counts @ baseline) / dataset.n_atoms
            self.element_energy.assign(baseline)
            self.energy_scale.assign(max(float(np.std(residual)), 1e-3))
        rng = np.random.default_rng(seed)
        sample = dataset[np.sort(rng.permutation(len(dataset))[:max_structures])]
        source = self.batch_source(sample, batch_size=len(sample), cache_bytes=0)
        self.adapt_inputs(source.statistics_batch(np.arange(len(sample))))
        self.adapted.assign(1.0)
        return self

    # --- Dataset-aware Keras entry points ------------------------------------------------
    def batch_source(self, dataset, batch_size, labels=(), shuffle=False, seed=0,
                     cache_bytes=DEFAULT_CACHE_BYTES) -> BatchSource:
        """Flat batches of ``dataset`` for this model (see :class:`zoo.pipeline.BatchSource`)."""
        return BatchSource(dataset, self.featurizer, batch_size, labels=labels, inputs=self.structure_inputs,
                           dtype=self.compute_dtype,
                           shuffle=shuffle, seed=seed, cache_bytes=cache_bytes)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, validation_data=None, shuffle=True,
            cache_bytes=DEFAULT_CACHE_BYTES, seed=0, **kwargs):
        """Keras ``fit``; ``x`` and ``validation_data`` may be :class:`zoo.data.Dataset`.

        A Dataset is featurized batch by batch (``batch_size`` structures, default 32),
        shuffled each epoch when ``shuffle``; ``cache_bytes`` bounds the memory spent
        keeping featurized structures between epochs (per data set).
        """
        if isinstance(x, Dataset):
            if not self.is_adapted:
                self.adapt(x, seed=seed)
            x = self.batch_source(x, batch_size or 32, self.loss_labels, shuffle, seed, cache_bytes).tf_dataset()
            batch_size, shuffle = None, False  # the BatchSource shuffles each epoch itself
        if isinstance(validation_data, Dataset):
            val = self.batch_source(validation_data, kwargs.pop("validation_batch_size", None) or 32,
                                    self.loss_labels, cache_bytes=cache_bytes)
            validation_data = val.tf_dataset()
        if self.compiled and not self.optimizer.built:
            # built here, not inside the first traced step: variables created while tracing
            # make tf.function trace the training step a second time
            self.optimizer.build(self.trainable_variables)
        return super().fit(x, y, batch_size=batch_size, epochs=epochs, validation_data=validation_data,
                           shuffle=shuffle, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, cache_bytes=0, **kwargs):
        """Keras ``evaluate``; ``x`` may be a :class:`zoo.data.Dataset`."""
        if isinstance(x, Dataset):
            x = self.batch_source(x, batch_size or 32, self.loss_labels, cache_bytes=cache_bytes).tf_dataset()
            batch_size = None
        return super().evaluate(x, y, batch_size=batch_size, **kwargs)

    def predict(self, x, batch_size=None, cache_bytes=0, **kwargs):
        """Keras ``predict``; for a Dataset, returns a dict with ``energy`` [n_structures],
        ``forces`` [n_atoms, 3] and the model's other outputs, in data-set order."""
        if isinstance(x, Dataset):
            _check_dataset(x, "predict")
            x = self.batch_source(x, batch_size or 32, cache_bytes=cache_bytes).tf_dataset()
            batch_size = None
        return super().predict(x, batch_size=batch_size, **kwargs)

    def build(self, inputs_shape=None):
        """Nothing to build: subclasses create every weight in ``__init__``, so Keras
        need not trace ``call`` symbolically to discover them."""
        self.built = True

    # --- serialisation -----------------------------------------------------------------
    def build_from_config(self, config):
        """Nothing to build: every weight is created in ``__init__``."""
        self.built = True

    def get_compile_config(self):
        if self.compiled:
            return {"optimizer": keras.saving.serialize_keras_object(self.optimizer)}
        return None

    def compile_from_config(self, config):
        self.compile(optimizer=keras.saving.deserialize_keras_object(config["optimizer"]))
        if self.built:  # so that the saved optimizer state has variables to load into
            self.optimizer.build(self.trainable_variables)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                "dtype": keras.saving.serialize_keras_object(self.dtype_policy),
                "energy_weight": self.energy_weight, "forces_weight": self.forces_weight,
                "charges_weight": self.charges_weight, "dipole_weight": self.dipole_weight}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.saving.deserialize_keras_object(config["dtype"])
        return cls(**config)


def _check_dataset(dataset, what):
    if len(dataset) == 0:
        raise ValueError(f"cannot {what} on an empty data set")
