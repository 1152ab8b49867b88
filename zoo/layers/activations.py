"""Activations of the message-passing models (review 3.3)."""

import math

import keras
import tensorflow as tf

_LOG2 = math.log(2.0)


@keras.saving.register_keras_serializable(package="zoo")
def shifted_softplus(x):
    """``ln(0.5 e^x + 0.5) = softplus(x) - ln 2`` (SchNet, Schütt et al., J. Chem. Phys. 148,
    241722 (2018)): smooth, zero at x = 0, with derivatives of every order (forces and their
    training gradients need the second)."""
    return tf.nn.softplus(x) - tf.cast(_LOG2, x.dtype)


@keras.saving.register_keras_serializable(package="zoo")
class ShiftedSoftplus(keras.layers.Layer):
    """:func:`shifted_softplus` as a layer."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True

    def call(self, x):
        return shifted_softplus(x)
