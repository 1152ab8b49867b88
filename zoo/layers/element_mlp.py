"""One feed-forward network per element, applied to a flat batch of atoms."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="zoo")
class ElementMLP(keras.layers.Layer):
    """Separate MLPs per element (Behler–Parrinello): ``out[a] = NN_{element[a]}(x[a])``.

    Atoms are grouped by element with ``dynamic_partition`` and put back in order with
    ``dynamic_stitch``, so each network sees a dense matrix of its atoms.

    Args:
        n_elements: number of element networks.
        n_inputs: input features per atom.
        hidden: widths of the hidden layers.
        n_outputs: outputs per atom.
        activation: hidden-layer activation (Behler uses tanh).
    """

    def __init__(self, n_elements, n_inputs, hidden=(25, 25), n_outputs=1, activation="tanh", **kwargs):
        super().__init__(**kwargs)
        self.n_elements = int(n_elements)
        self.n_inputs = int(n_inputs)
        self.hidden = tuple(int(h) for h in hidden)
        self.n_outputs = int(n_outputs)
        self.activation = activation
        self.networks = [self._network(e) for e in range(self.n_elements)]

    def _network(self, e):
        layers = [keras.layers.Dense(h, activation=self.activation, name=f"e{e}_dense{k}", dtype=self.dtype_policy)
                  for k, h in enumerate(self.hidden)]
        layers.append(keras.layers.Dense(self.n_outputs, name=f"e{e}_out", dtype=self.dtype_policy))
        width = self.n_inputs
        for layer in layers:
            layer.build((None, width))
            width = layer.units
        return layers

    def build(self, input_shape=None):
        self.built = True

    def call(self, x, element):
        """x float [n_atoms, n_inputs], element int32 [n_atoms] -> float [n_atoms, n_outputs]."""
        parts = tf.dynamic_partition(x, element, self.n_elements)
        where = tf.dynamic_partition(tf.range(tf.shape(x)[0]), element, self.n_elements)
        outs = []
        for layers, part in zip(self.networks, parts):
            for layer in layers:
                part = layer(part)
            outs.append(part)
        return tf.dynamic_stitch(where, outs)

    def get_config(self):
        return {**super().get_config(), "n_elements": self.n_elements, "n_inputs": self.n_inputs,
                "hidden": list(self.hidden), "n_outputs": self.n_outputs, "activation": self.activation}
