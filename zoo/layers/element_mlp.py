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
        outs = [self._forward(layers, part) for layers, part in zip(self.networks, parts)]
        return tf.dynamic_stitch(where, outs)

    def _forward(self, layers, x):
        """One element's network on its rows."""
        for layer in layers:
            x = layer(x)
        return x

    def get_config(self):
        return {**super().get_config(), "n_elements": self.n_elements, "n_inputs": self.n_inputs,
                "hidden": list(self.hidden), "n_outputs": self.n_outputs, "activation": self.activation}


@keras.saving.register_keras_serializable(package="zoo")
class ResidualElementMLP(ElementMLP):
    """DeePMD-kit's embedding network per group: every layer, the last included, is
    ``activation(W x + b)``, added to its input where the width stays (``x + h``) or doubles
    (``[x, x] + h``) (Zhang et al., NeurIPS 2018, and DeePMD-kit's ``embedding_net``).

    The bounded last layer keeps the descriptor, quadratic in the embedding, from growing
    with the first updates (with a linear last layer, [16, 32, 64] diverged at lr 3e-3);
    the weights start as DeePMD-kit's, normal with std 1/sqrt(n_in + n_out), biases std 1.
    Arguments as :class:`ElementMLP`, with ``n_outputs`` the last embedding width.
    """

    def _network(self, e):
        widths = (self.n_inputs,) + self.hidden + (self.n_outputs,)
        layers = []
        for k, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
            layer = keras.layers.Dense(
                n_out, activation=self.activation, name=f"e{e}_dense{k}", dtype=self.dtype_policy,
                kernel_initializer=keras.initializers.RandomNormal(stddev=(n_in + n_out) ** -0.5),
                bias_initializer=keras.initializers.RandomNormal(stddev=1.0))
            layer.build((None, n_in))
            layers.append(layer)
        return layers

    def _forward(self, layers, x):
        for layer in layers:
            h = layer(x)
            if layer.units == x.shape[-1]:
                x = x + h
            elif layer.units == 2 * x.shape[-1]:
                x = tf.concat([x, x], axis=-1) + h
            else:
                x = h
        return x
